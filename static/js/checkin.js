// The participant's phone page: opened from a scanned QR code (/checkin.html#s=SESSION&t=TOKEN[&d=out]).
// The first time on a phone it asks who they are; afterwards one scan checks them in.
// Every message shown comes from the server in plain words; all text goes in through textContent.

const $ = (id) => document.getElementById(id);

const TONES = {
  checked_in: "ok", late: "warn", already_checked_in: "info", checked_out: "ok", already_checked_out: "info",
};
const MARKS = { ok: "✓", warn: "✓", info: "✓", bad: "✕" };
const HINTS = {
  token_expired: "Codes change every few seconds so a photo of one cannot be used elsewhere.",
  token_not_yet_valid: "Check that your phone's clock is right, then scan again.",
  identify_expired: "Scan the code on the screen again and you will be asked once more.",
  rate_limited: "Too many tries from this phone. Wait a moment, then scan again.",
  network: "Check your signal or Wi-Fi, then scan the code again.",
};

/** The code, session and direction from the URL fragment (never sent to the server as part of a URL). */
function readLink() {
  const params = new URLSearchParams(location.hash.slice(1));
  const sessionId = Number.parseInt(params.get("s") || "", 10);
  const token = params.get("t") || "";
  const direction = params.get("d") === "out" ? "out" : "in";
  return Number.isSafeInteger(sessionId) && sessionId > 0 && token ? { sessionId, token, direction } : null;
}

async function post(path, body) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    return { status: 0, error: { code: "network", message: "No connection to the server." } };
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (response.ok) return { status: response.status, data };
  const error = (data && data.error) || { code: `http_${response.status}`, message: "Something went wrong." };
  return { status: response.status, error };
}

function show(section) {
  for (const id of ["working", "result", "identify"]) $(id).hidden = id !== section;
}

function showResult(tone, title, detail = "", hint = "") {
  $("result-box").dataset.tone = tone;
  $("result-mark").textContent = MARKS[tone] || "";
  $("result-title").textContent = title;
  $("result-detail").textContent = detail;
  $("result-hint").textContent = hint;
  show("result");
  $("result-title").focus?.();
}

function showSuccess(data) {
  const who = data.person && data.person.first_name ? data.person.first_name : "";
  const where = data.session && data.session.title ? data.session.title : "";
  showResult(TONES[data.outcome] || "ok", data.message, [where, who].filter(Boolean).join(" · "),
             data.flagged ? "This phone has checked in more than one person recently, so the team has been told." : "");
  document.title = `${data.message} · checkin`;
}

function showRefusal(error) {
  let hint = HINTS[error.code] || "";
  if (error.code === "rate_limited" && error.retry_after_seconds) {
    hint = `Too many tries from this phone. Wait ${error.retry_after_seconds} seconds, then scan again.`;
  }
  showResult("bad", error.message, "", hint);
}

let link = null;
let ticket = "";

async function scan() {
  const answer = await post("/api/checkin/scan", { session_id: link.sessionId, token: link.token,
                                                   direction: link.direction });
  if (answer.data) return showSuccess(answer.data);
  const error = answer.error;
  if (error.code === "identify_needed") {
    ticket = error.ticket;
    return askWhoTheyAre();
  }
  showRefusal(error);
  if (error.code === "not_on_roster" && error.ticket) {
    // the phone may be remembered as someone else (a shared family phone): let them say who they are
    ticket = error.ticket;
    $("not-me").hidden = false;
  }
  return undefined;
}

function askWhoTheyAre() {
  show("identify");
  $("identify-error").hidden = true;
  chooseField();
  (byCode() ? $("code") : $("email")).focus();
}

function byCode() {
  return document.querySelector('input[name="by"]:checked').value === "code";
}

function chooseField() {
  $("email-field").hidden = byCode();
  $("code-field").hidden = !byCode();
}

function identifyError(text) {
  $("identify-error").textContent = text;
  $("identify-error").hidden = false;
}

async function identify(event) {
  event.preventDefault();
  const body = { session_id: link.sessionId, ticket, direction: link.direction };
  const value = (byCode() ? $("code") : $("email")).value.trim();
  if (!value) return identifyError(byCode() ? "Type the code from your invitation." : "Type your e-mail address.");
  body[byCode() ? "code" : "email"] = value;
  $("identify-submit").disabled = true;
  try {
    const answer = await post("/api/checkin/identify", body);
    if (answer.data) return showSuccess(answer.data);
    const error = answer.error;
    if (error.code === "not_recognised" || error.code === "invalid_field") return identifyError(error.message);
    if (error.code === "rate_limited") {
      return identifyError(`Too many tries. Wait ${error.retry_after_seconds || 60} seconds and try again.`);
    }
    return showRefusal(error);
  } finally {
    $("identify-submit").disabled = false;
  }
}

async function notMe() {
  await post("/api/checkin/forget", {});
  $("not-me").hidden = true;
  askWhoTheyAre();
}

function begin() {
  link = readLink();
  // keep the code out of the address bar, history and any screenshot of the page
  if (location.hash) history.replaceState(null, "", location.pathname);
  $("not-me").hidden = true;
  if (!link) {
    return showResult("bad", "This link is incomplete — scan the code on the screen again.", "",
                      "Use your phone's camera on the QR code shown in the room.");
  }
  show("working");
  return scan();
}

function start() {
  $("identify-form").addEventListener("submit", identify);
  for (const radio of document.querySelectorAll('input[name="by"]')) radio.addEventListener("change", chooseField);
  $("not-me").addEventListener("click", notMe);
  // a phone that opens the next scanned code in the same tab changes only the fragment
  window.addEventListener("hashchange", () => {
    if (location.hash) begin();
  });
  begin();
}

start();
