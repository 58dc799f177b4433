// Badge scanning for a tutor's tablet: the camera reads a participant's badge QR where the browser has
// BarcodeDetector, and typing the badge code works everywhere. Self-contained: it builds its own controls
// inside a container you give it and loads its stylesheet (/css/checkin.css) if the page has not.
//
//   import { openBadgeScanner, checkInBadge } from "/js/badge-scan.js";
//   const scanner = await openBadgeScanner(container, (code) => checkInBadge(sessionId, code));
//   ...
//   scanner.close();

import { api } from "./api.js";

const REPEAT_MS = 3000; // the same badge held in front of the camera is one scan, not one a frame
const DETECT_EVERY_MS = 200;

/** Whether this browser can read QR codes from the camera (BarcodeDetector with qr_code, and a camera API). */
export async function cameraScanningAvailable() {
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices?.getUserMedia) return false;
  try {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    return formats.includes("qr_code");
  } catch {
    return false;
  }
}

/**
 * Checks the badge's holder in to a session (POST /api/sessions/{id}/badge) and resolves to the words to show,
 * e.g. "Ava Example: Checked in at 09:02"; rejects with the server's ApiError (its message is plain words).
 */
export async function checkInBadge(sessionId, code) {
  try {
    const result = await api.post(`/api/sessions/${sessionId}/badge`, { code });
    return result.name ? `${result.name}: ${result.message}` : result.message;
  } catch (error) {
    if (error.details && error.details.name) error.message = `${error.details.name}: ${error.message}`;
    throw error;
  }
}

function node(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") element.className = value;
    else element.setAttribute(key, value);
  }
  element.append(...children);
  return element;
}

function ensureStylesheet() {
  if (document.querySelector('link[href="/css/checkin.css"]')) return;
  document.head.append(node("link", { rel: "stylesheet", href: "/css/checkin.css" }));
}

/**
 * Opens a badge scanner inside `container`.
 *
 * `onCode(code)` is called with each badge code read or typed (trimmed); it may return (or resolve to) a
 * string to show as the result, and a thrown error's message is shown as a failure. Options:
 * `camera` (default true) tries the camera when `cameraScanningAvailable()`; `label` names the text box.
 * Resolves to `{ mode: "camera" | "text", close() }`; close() stops the camera and removes the controls.
 */
export async function openBadgeScanner(container, onCode, { camera = true, label = "Badge code" } = {}) {
  ensureStylesheet();
  const video = node("video", { playsinline: "", muted: "", "aria-label": "Camera view for badge scanning" });
  video.hidden = true;
  video.muted = true;
  const input = node("input", { type: "text", name: "badge", autocomplete: "off", autocapitalize: "characters",
                                spellcheck: "false", maxlength: "24", inputmode: "text" });
  const form = node("form", { class: "badge-scan-form" },
    node("label", { class: "field" }, label, input),
    node("button", { class: "btn btn-primary", type: "submit" }, "Check in"));
  const status = node("p", { class: "badge-scan-status", role: "status", "aria-live": "polite" });
  const closeButton = node("button", { class: "btn btn-ghost", type: "button" }, "Close");
  const root = node("div", { class: "badge-scan" }, video, form, status, closeButton);
  container.append(root);

  let stream = null;
  let timer = 0;
  let closed = false;
  let last = { code: "", at: 0 };
  let busy = false;

  function say(text, tone = "") {
    status.textContent = text;
    status.dataset.tone = tone;
  }

  async function handle(code) {
    const now = Date.now();
    if (!code || busy || (code === last.code && now - last.at < REPEAT_MS)) return;
    last = { code, at: now };
    busy = true;
    say("Checking…");
    try {
      const shown = await onCode(code);
      say(typeof shown === "string" ? shown : "Done.", "ok");
      return true;
    } catch (error) {
      say(error && error.message ? error.message : "That badge could not be checked in.", "bad");
      return false;
    } finally {
      busy = false;
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    last = { code: "", at: 0 }; // typing the same code again on purpose is allowed
    if (await handle(input.value.trim())) input.value = "";
    input.focus();
  });

  function close() {
    closed = true;
    clearTimeout(timer);
    if (stream) for (const track of stream.getTracks()) track.stop();
    root.remove();
  }
  closeButton.addEventListener("click", close);

  let mode = "text";
  if (camera && await cameraScanningAvailable()) {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
      const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      mode = "camera";
      say("Hold a badge up to the camera, or type its code.");
      const tick = async () => {
        if (closed) return;
        try {
          if (video.readyState >= 2) {
            const found = await detector.detect(video);
            if (found.length) await handle(String(found[0].rawValue || "").trim());
          }
        } catch {
          // a frame that cannot be read is skipped
        }
        if (!closed) timer = setTimeout(tick, DETECT_EVERY_MS);
      };
      tick();
    } catch {
      if (stream) for (const track of stream.getTracks()) track.stop();
      stream = null;
      video.hidden = true;
      say("The camera is not available here — type the badge code instead.");
    }
  } else {
    say("Type the code printed under the badge's QR code.");
  }
  if (mode === "text") input.focus();
  return { mode, close };
}
