// The projector or tablet display: /display.html?session=ID[&direction=out].
// Shows the session's rotating QR code, fetched afresh at each rotation (timed by the server's clock,
// not the display's), and a live count of arrivals pushed over the session's WebSocket.

import { api, ApiError } from "./api.js";

const $ = (id) => document.getElementById(id);
const GRACE_MS = 10_000; // the server accepts a code this long after it rotates
const params = new URLSearchParams(location.search);
const sessionId = Number.parseInt(params.get("session") || "", 10);
let direction = params.get("direction") === "out" ? "out" : "in";
let current = null; // {validUntil (ms, display clock), token}
let refreshTimer = 0;
let pollTimer = 0;
let socket = null;
let socketRetry = 1000;
let countsPending = 0;

function banner(text) {
  $("banner").textContent = text;
  $("banner").hidden = !text;
}

function clockTime(iso, timeZone) {
  try {
    return new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", timeZone }).format(new Date(iso));
  } catch {
    return new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit" }).format(new Date(iso));
  }
}

function showCounts(counts) {
  $("arrived").textContent = String(counts.arrived);
  $("expected").textContent = String(counts.expected);
  $("count").hidden = false;
}

function render(data) {
  const s = data.session;
  const offset = Date.parse(data.now) - Date.now(); // server clock minus display clock
  current = { token: data.code.token, validUntil: Date.parse(data.code.valid_until) - offset };
  document.title = `${s.title} · check-in code`;
  $("title").textContent = s.title;
  const where = s.location ? ` · ${s.location}` : "";
  $("when").textContent = `${clockTime(s.starts_at, s.timezone)}–${clockTime(s.ends_at, s.timezone)}${where}`;
  if ($("qr").dataset.token !== data.code.token) {
    $("qr").src = data.image;
    $("qr").dataset.token = data.code.token;
  }
  $("qr").dataset.stale = "false";
  $("frame").hidden = false;
  $("instructions").hidden = false;
  $("instructions").textContent = direction === "out" ? "Leaving? Scan with your phone's camera to check out"
                                                      : "Scan with your phone's camera to check in";
  const now = Date.parse(data.now);
  let state = `The code changes every ${data.rotation_seconds} seconds.`;
  if (now < Date.parse(data.checkin_opens_at)) {
    state = `Check-in opens at ${clockTime(data.checkin_opens_at, s.timezone)}. ${state}`;
  } else if (now > Date.parse(data.checkin_closes_at)) {
    state = `Check-in closed at ${clockTime(data.checkin_closes_at, s.timezone)}.`;
  }
  if (s.status !== "scheduled") state = `This session is ${s.status.replace("_", " ")}.`;
  $("state").textContent = state;
  $("direction").hidden = false;
  $("direction").textContent = direction === "out" ? "Show the check-in code" : "Show the check-out code";
  showCounts(data.counts);
  banner("");
}

function markStaleIfExpired() {
  if (current && Date.now() > current.validUntil + GRACE_MS) {
    $("qr").dataset.stale = "true";
    $("state").textContent = "Reconnecting… this code has expired; a new one will appear as soon as the server answers.";
  }
}

async function refresh() {
  clearTimeout(refreshTimer);
  try {
    const data = await api.get(`/api/sessions/${sessionId}/display?direction=${direction}`);
    render(data);
    refreshTimer = setTimeout(refresh, data.refresh_in_ms);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      location.replace(`/?next=${encodeURIComponent(location.pathname + location.search)}`);
      return;
    }
    if (error instanceof ApiError && !error.offline && error.status !== 429 && error.status < 500) {
      $("title").textContent = "Check-in code";
      banner(error.message);
      return;
    }
    markStaleIfExpired();
    refreshTimer = setTimeout(refresh, 3000);
  }
}

async function refreshCounts() {
  try {
    showCounts(await api.get(`/api/sessions/${sessionId}/arrivals`));
  } catch {
    // the next push or poll tries again
  }
}

function countsSoon() {
  clearTimeout(countsPending);
  countsPending = setTimeout(refreshCounts, 150);
}

function poll(on) {
  clearInterval(pollTimer);
  if (on) pollTimer = setInterval(refreshCounts, 5000);
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  try {
    socket = new WebSocket(`${scheme}://${location.host}/ws/sessions/${sessionId}`);
  } catch {
    poll(true);
    return;
  }
  socket.addEventListener("open", () => {
    socketRetry = 1000;
    poll(false);
  });
  socket.addEventListener("message", (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (["mark", "checkin", "snapshot", "resumed"].includes(message.type)) countsSoon();
  });
  socket.addEventListener("close", (event) => {
    poll(true);
    if (event.code === 4001 || event.code === 4003 || event.code === 4004) return; // refresh() reports these
    setTimeout(connect, socketRetry);
    socketRetry = Math.min(socketRetry * 2, 30_000);
  });
}

async function keepAwake() {
  try {
    if ("wakeLock" in navigator && document.visibilityState === "visible") await navigator.wakeLock.request("screen");
  } catch {
    // a display that may sleep still works while it is awake
  }
}

function toggleDirection() {
  direction = direction === "out" ? "in" : "out";
  const url = new URL(location.href);
  if (direction === "out") url.searchParams.set("direction", "out");
  else url.searchParams.delete("direction");
  history.replaceState(null, "", url);
  $("qr").dataset.token = "";
  refresh();
}

function start() {
  $("fullscreen").addEventListener("click", () => document.documentElement.requestFullscreen?.().catch(() => {}));
  $("direction").addEventListener("click", toggleDirection);
  if (!Number.isSafeInteger(sessionId) || sessionId < 1) {
    $("title").textContent = "Check-in code";
    banner("Open this page from a session (the link needs ?session=…).");
    return;
  }
  setInterval(markStaleIfExpired, 1000);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      keepAwake();
      refresh();
    }
  });
  keepAwake();
  refresh();
  connect();
}

start();
