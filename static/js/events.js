// The events board: today's sessions with expected / arrived / late / missing, and the call list with outcomes.

import { ApiError, api, me } from "./api.js";
import { OrgFeed, STATE_WORDS } from "./org-feed.js";

const OUTCOMES = [
  ["reached", "Reached", "phone"],
  ["voicemail", "Voicemail", "phone"],
  ["no_answer", "No answer", "phone"],
  ["email_sent", "E-mail sent", "email"],
];
const sessions = new Map();
const calls = new Map();
let timezone = "Europe/London";
let feed = null;
let today = null;

const $ = (id) => document.getElementById(id);

function fail(error) {
  const el = $("banner");
  el.textContent = error instanceof ApiError ? error.message : String(error);
  el.hidden = false;
}

function toast(text) {
  const el = $("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 3000);
}

function clock(iso) {
  return new Date(iso).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: timezone });
}

function td(text, className) {
  const cell = document.createElement("td");
  cell.textContent = text ?? "";
  if (className) cell.className = className;
  return cell;
}

function renderSessions() {
  const rows = [...sessions.values()].sort((a, b) => a.starts_at.localeCompare(b.starts_at));
  $("sessions").tBodies[0].replaceChildren(...rows.map((s) => {
    const tr = document.createElement("tr");
    tr.dataset.sessionId = s.id;
    tr.dataset.status = s.status;
    const missing = td(String(s.missing), "num missing");
    missing.dataset.count = String(s.missing);
    tr.append(td(`${clock(s.starts_at)}–${clock(s.ends_at)}`), td(s.title + (s.status === "scheduled" ? "" :
      ` (${s.status})`)), td(s.location), td(String(s.expected), "num expected"), td(String(s.arrived), "num arrived"),
              td(String(s.late), "num late"), missing);
    return tr;
  }));
  $("sessions-empty").hidden = rows.length > 0;
}

function phoneLinks(task) {
  const ul = document.createElement("ul");
  ul.className = "call-phones";
  for (const p of task.phones || []) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = `tel:${p.phone.replace(/\s+/g, "")}`;
    a.textContent = p.phone;
    li.append(a, ` ${p.name}${p.relationship ? ` (${p.relationship})` : ""}`);
    ul.append(li);
  }
  if (!ul.children.length) {
    const li = document.createElement("li");
    li.textContent = task.email ? `No phone number: e-mail ${task.email}` : "No phone number on record";
    ul.append(li);
  }
  return ul;
}

async function logOutcome(task, outcome, method, button) {
  button.disabled = true;
  try {
    await api.post("/api/follow-ups", { task_id: task.id, outcome, method, nonce: `call-${task.id}-${crypto.randomUUID()}` });
    toast(`${task.name || "Call"}: ${outcome.replace(/_/g, " ")}`);
    await refreshCalls();
  } catch (error) {
    fail(error);
  } finally {
    button.disabled = false;
  }
}

function callItem(task) {
  const li = document.createElement("li");
  li.className = "call";
  li.dataset.taskId = task.id;
  li.dataset.state = task.state;
  const title = document.createElement("strong");
  title.textContent = task.name || task.title;
  const meta = document.createElement("p");
  meta.className = "muted";
  meta.textContent = [task.session_title, task.starts_at_local].filter(Boolean).join(" at ")
    + (task.outcome ? ` · outcome: ${task.outcome.replace(/_/g, " ")}` : "");
  li.append(title, meta, phoneLinks(task));
  if (task.state === "open") {
    const buttons = document.createElement("div");
    buttons.className = "outcomes";
    for (const [outcome, label, method] of OUTCOMES) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "btn";
      b.dataset.outcome = outcome;
      b.textContent = label;
      b.addEventListener("click", () => logOutcome(task, outcome, method, b));
      buttons.append(b);
    }
    li.append(buttons);
  }
  return li;
}

function renderCalls() {
  const items = [...calls.values()].sort((a, b) => (a.state === b.state ? 0 : a.state === "open" ? -1 : 1)
    || (a.due_at || "").localeCompare(b.due_at || "") || a.id - b.id);
  $("calls").replaceChildren(...items.map(callItem));
  $("calls-empty").hidden = items.length > 0;
}

function showBoard(board) {
  timezone = board.timezone || timezone;
  sessions.clear();
  for (const s of board.sessions) sessions.set(s.id, s);
  calls.clear();
  for (const c of board.calls) calls.set(c.id, c);
  renderSessions();
  renderCalls();
}

async function refreshCalls() {
  const day = $("day").value;
  const list = await api.get(`/api/tasks?kind=events_call&state=all${day ? `&date=${day}` : ""}`);
  calls.clear();
  for (const c of list) calls.set(c.id, c);
  renderCalls();
}

function onMessage(message) {
  if (message.type === "snapshot") {
    showBoard(message.data);
    today = message.data.date;
    if (!$("day").value) $("day").value = today;
  } else if (message.type === "counts") {
    const s = sessions.get(message.data.session_id);
    if (s) {
      Object.assign(s, message.data);
      renderSessions();
    }
  } else if (message.type === "task" || message.type === "resumed") {
    refreshCalls().catch(fail);
  }
}

function onState(state) {
  $("live").dataset.state = state;
  $("live").textContent = STATE_WORDS[state] || state;
}

async function pickDay() {
  const day = $("day").value;
  if (day === today) {
    if (!feed) {
      feed = new OrgFeed("/ws/events", onMessage, onState);
      feed.start();
    }
    return;
  }
  if (feed) {
    feed.stop();
    feed = null;
  }
  onState("offline");
  $("live").textContent = "Not today: not live";
  try {
    showBoard(await api.get(`/api/events/board?date=${day}`));
  } catch (error) {
    fail(error);
  }
}

async function main() {
  try {
    await me();
  } catch (error) {
    fail(error.status === 401 ? "Sign in to see the events board." : error);
    onState("signed_out");
    return;
  }
  $("day").addEventListener("change", pickDay);
  feed = new OrgFeed("/ws/events", onMessage, onState);
  feed.start();
}

main();
