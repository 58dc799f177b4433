// The tablet register page: today's sessions, then one register, live and usable offline.

import { api, me } from "./api.js";
import { startCountdowns } from "./register-countdown.js";
import { askAbsence, askArrival, askChangeReason, askDeparture, askNote } from "./register-dialogs.js";
import { LiveRegister } from "./register-socket.js";
import { RegisterState, STATUS_LABELS } from "./register-state.js";
import { MarkSync } from "./register-sync.js";
import { el, redrawPerson, renderRoster, renderSessionList, renderSummary, timeFormatter } from "./register-view.js";

const $ = (id) => document.getElementById(id);
let view = null; // the open register: {sessionId, state, live, stopCountdowns, at}
let waiting = 0;
let connection = "connecting";
let prompts = Promise.resolve();

const sync = new MarkSync({
  onQueued(item) {
    if (view && view.sessionId === item.session_id) {
      view.state.pending.set(item.nonce, item);
      redraw(item.person_id);
    }
  },
  onSent(item, result) {
    if (!view || view.sessionId !== item.session_id) return;
    const before = view.state.people.get(item.person_id).mark;
    view.state.pending.delete(item.nonce);
    view.state.applyMark(result.current);
    redraw(item.person_id);
    if (item.offline) reportSync(item, result, before);
  },
  onRefused(item, error) {
    if (view && view.sessionId === item.session_id) {
      view.state.pending.delete(item.nonce);
      redraw(item.person_id);
    }
    if (error.code === "reason_required") prompts = prompts.then(() => retryWithReason(item));
    else if (error.status === 401) showBanner("You have been signed out. Sign in again to keep marking.");
    else toast(`Mark not recorded: ${error.message}`);
  },
  onCount(n) {
    waiting = n;
    showConnection();
  },
});

function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 5000);
}

function showBanner(text) {
  $("banner").textContent = text;
  $("banner").hidden = !text;
}

const CONNECTION_TEXT = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", offline: "Offline",
                          signed_out: "Signed out", forbidden: "No access", list: "" };

function showConnection(state = connection) {
  connection = navigator.onLine ? state : "offline";
  const chip = $("connection");
  chip.dataset.state = connection;
  chip.textContent = CONNECTION_TEXT[connection] + (waiting ? ` · ${waiting} waiting to sync` : "");
  chip.hidden = !chip.textContent;
}

function nameOf(personId) {
  return view.state.people.get(personId).name;
}

function redraw(personId) {
  if (!view) return;
  redrawPerson($("roster"), view.state, personId, view.at);
  renderSummary($("summary"), $("complete"), view.state, view.at);
}

function redrawAll() {
  renderRoster($("roster"), view.state, view.at);
  renderSummary($("summary"), $("complete"), view.state, view.at);
  renderTutor();
}

function reportSync(item, result, before) {
  const made = `${STATUS_LABELS[item.status]}, made ${view.at(item.client_time)} offline`;
  const current = result.current;
  const who = current.by ? ` by ${current.by}` : "";
  let text = null;
  // Whether our mark stands is read from the current mark itself: a retry of a mark that reached the
  // server before the connection dropped answers "duplicate", and its outcome still needs telling.
  if (current.history_id !== result.history_id && current.status !== item.status) {
    text = `${nameOf(item.person_id)}: your mark (${made}) was older than ${STATUS_LABELS[current.status]}`
      + ` recorded at ${view.at(current.effective_at)}${who}, which stands.`;
  } else if (before && before.status !== item.status
             && Date.parse(before.server_time) > Date.parse(item.client_time)) {
    text = `${nameOf(item.person_id)}: your mark (${made}) replaced ${STATUS_LABELS[before.status]}`
      + ` recorded at ${view.at(before.effective_at)}${before.by ? ` by ${before.by}` : ""}, as it was made later.`;
  }
  if (!text) return;
  const dismiss = el("button", { type: "button", class: "btn btn-ghost" }, "OK");
  const note = el("li", { class: "sync-note" }, el("span", {}, text), dismiss);
  dismiss.addEventListener("click", () => note.remove());
  $("sync-notes").append(note);
}

async function retryWithReason(item) {
  if (!view || view.sessionId !== item.session_id) return;
  const why = await askChangeReason(view.state.people.get(item.person_id));
  if (!why) return;
  const reason = (item.reason ? `${item.reason} — ${why}` : why).slice(0, 500);
  const { nonce, client_time, queued_at, offline, device, session_id, ...fields } = item;
  await sync.mark(view.sessionId, { ...fields, reason }, client_time); // it still counts from when it was made
}

async function act(button, personId) {
  const state = view.state;
  const person = state.people.get(personId);
  const shown = state.shown(personId);
  if (button.classList.contains("act-present")) {
    if (shown && shown.status === "present") return toast(`${person.name} is already marked present.`);
    return sync.mark(view.sessionId, { person_id: personId, status: "present" });
  }
  if (button.classList.contains("act-late")) {
    const arrived = await askArrival(person, state.session);
    if (arrived) await sync.mark(view.sessionId, { person_id: personId, status: "late", arrived_at: arrived });
    return undefined;
  }
  if (button.classList.contains("act-absent")) {
    const absence = await askAbsence(person, state, (n) => `Notice given: ${n.reason} by ${n.given_by || "unknown"}`
      + ` at ${view.at(n.received_at)}${n.accepted ? "" : " (not an accepted reason)"}.`);
    if (absence) await sync.mark(view.sessionId, { person_id: personId, ...absence });
    return undefined;
  }
  if (button.classList.contains("act-left")) {
    const departed = await askDeparture(person, state.session);
    const arrived = shown && ["present", "late", "left_early"].includes(shown.status) ? shown.arrived_at : null;
    if (departed) {
      await sync.mark(view.sessionId, { person_id: personId, status: "left_early", departed_at: departed,
                                        arrived_at: arrived });
    }
    return undefined;
  }
  if (button.classList.contains("act-note") && shown) {
    const note = await askNote(person, shown.note);
    if (note === null) return undefined;
    const keep = ["present", "late", "left_early"].includes(shown.status);
    await sync.mark(view.sessionId, { person_id: personId, status: shown.status, code: shown.code,
                                      reason: shown.reason, note, arrived_at: keep ? shown.arrived_at : null,
                                      departed_at: shown.status === "left_early" ? shown.departed_at : null });
  }
  return undefined;
}

function onDelta(message) {
  const state = view.state;
  const data = message.data;
  if (message.type === "mark" || message.type === "checkin") {
    if (state.applyMark(data.mark)) {
      const row = redrawPerson($("roster"), state, data.person_id, view.at);
      renderSummary($("summary"), $("complete"), state, view.at);
      if (message.type === "checkin") {
        row.classList.add("flash");
        toast(`${nameOf(data.person_id)} checked ${data.mark.status === "left_early" ? "out" : "in"}.`);
      }
    }
  } else if (message.type === "notice" && state.people.has(data.person_id)) {
    state.people.get(data.person_id).notice = data.notice;
    redraw(data.person_id);
  } else if (message.type === "notice" && data.kind === "force_majeure") {
    showBanner(`This session is affected by force majeure: ${data.reason}. Absences are authorised.`);
  } else if (message.type === "window") {
    state.windows = data.windows;
    if (data.register_closes_at) state.registerClosesAt = data.register_closes_at;
  } else if (message.type === "register_complete") {
    state.session.register_completed_at = data.register_completed_at;
    state.completedBy = data.by;
    renderSummary($("summary"), $("complete"), state, view.at);
  } else if (message.type === "tutor_checkin") {
    const tutor = state.session.tutors.find((t) => t.id === data.user_id);
    if (tutor) tutor.checked_in_at = data.checked_in_at;
    state.windows = state.windows.filter((w) => w.rule_id !== "TUTOR-EARLY");
    renderTutor();
  } else if (message.type === "flag" && (data.message || data.title)) {
    toast(data.message || data.title);
  }
}

function renderTutor() {
  const mine = view.state.session.tutors.find((t) => t.id === view.state.me.user_id);
  $("tutor-checkin").hidden = !mine || Boolean(mine.checked_in_at);
  $("tutor-status").hidden = !mine || !mine.checked_in_at;
  if (mine && mine.checked_in_at) $("tutor-status").textContent = `You arrived at ${view.at(mine.checked_in_at)}`;
}

async function openSession(sessionId) {
  let snapshot;
  try {
    snapshot = await api.get(`/api/sessions/${sessionId}/register`);
  } catch (error) {
    showBanner(error.offline ? "You are offline and this register has not been opened on this tablet yet."
                             : error.message);
    return;
  }
  const state = new RegisterState(snapshot);
  for (const item of await sync.pending(sessionId)) state.pending.set(item.nonce, item);
  const at = timeFormatter(state.session.timezone);
  view = { sessionId, state, at, live: null, stopCountdowns: null };
  $("page-title").textContent = state.session.title;
  $("session-when").textContent = `${at(state.session.starts_at)}–${at(state.session.ends_at)}`;
  $("session-where").textContent = [state.session.programme_name, state.session.location].filter(Boolean).join(" · ");
  $("list-view").hidden = true;
  $("register-view").hidden = false;
  $("bottombar").hidden = false;
  $("back").hidden = false;
  redrawAll();
  view.stopCountdowns = startCountdowns($("countdowns"),
                                        () => ({ windows: state.windows, skewMs: state.skewMs, timeLabel: at }));
  view.live = new LiveRegister(sessionId, snapshot.seq, {
    onSnapshot(data) {
      state.load(data);
      redrawAll();
    },
    onDelta,
    onState(s) {
      showConnection(s);
      if (s === "live") sync.flush();
      if (s === "signed_out") showBanner("You have been signed out. Sign in again to see live changes.");
    },
  });
  view.live.connect();
  document.body.dataset.ready = "register";
}

async function showList() {
  $("page-title").textContent = "Today's sessions";
  $("list-view").hidden = false;
  $("register-view").hidden = true;
  $("bottombar").hidden = true;
  $("back").hidden = true;
  showConnection("list");
  try {
    const sessions = await api.get("/api/register/sessions");
    renderSessionList($("session-list"), sessions);
    $("list-empty").hidden = sessions.length > 0;
    $("list-date").textContent = new Date().toLocaleDateString("en-GB", { weekday: "long", day: "numeric",
                                                                          month: "long" });
  } catch (error) {
    showBanner(error.offline ? "You are offline; today's sessions will appear when the connection is back."
                             : error.message);
  }
  document.body.dataset.ready = "list";
}

function leaveSession() {
  if (!view) return;
  view.live.stop();
  view.stopCountdowns();
  $("sync-notes").replaceChildren();
  view = null;
}

async function route() {
  leaveSession();
  showBanner("");
  const match = location.hash.match(/^#session\/(\d+)$/);
  if (match) await openSession(Number(match[1]));
  else await showList();
}

async function complete() {
  await sync.flush(); // marks still in flight go first (a resend with the same nonce records nothing new)
  waiting = await sync.queue.count();
  if (waiting) {
    toast(`${waiting} marks are still waiting to sync; the register can be completed once they have.`);
    sync.flush();
    return;
  }
  try {
    const result = await api.post(`/api/sessions/${view.sessionId}/complete`, {});
    view.state.session.register_completed_at = result.register_completed_at;
    view.state.completedBy = (await me()).name;
    renderSummary($("summary"), $("complete"), view.state, view.at);
  } catch (error) {
    toast(error.offline ? "You are offline: complete the register when the connection is back." : error.message);
  }
}

async function tutorCheckin() {
  try {
    const result = await api.post(`/api/sessions/${view.sessionId}/tutor-checkin`, {});
    onDelta({ type: "tutor_checkin", data: result });
  } catch (error) {
    toast(error.message);
  }
}

async function start() {
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
  try {
    await me();
  } catch (error) {
    if (error.status === 401) {
      showBanner("Sign in first, then come back to this page.");
      document.body.dataset.ready = "signed-out";
      return;
    }
  }
  $("back").addEventListener("click", (event) => {
    event.preventDefault();
    location.hash = "";
  });
  $("roster").addEventListener("click", (event) => {
    const button = event.target.closest("button.act");
    if (button && view) act(button, Number(button.closest("li.person").dataset.personId));
  });
  $("complete").addEventListener("click", complete);
  $("tutor-checkin").addEventListener("click", tutorCheckin);
  window.addEventListener("hashchange", route);
  window.addEventListener("offline", () => showConnection());
  window.addEventListener("online", () => showConnection(view && view.live.isLive ? "live" : "reconnecting"));
  sync.handlers.onCount(await sync.queue.count());
  await route();
  sync.flush();
}

start();
