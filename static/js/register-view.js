// Drawing the session list and the roster; all text goes in through textContent, never as HTML.

import { STATUS_LABELS } from "./register-state.js";

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== ""));
  return node;
}

/** Formats ISO instants as clock times in the session's zone ("09:05"). */
export function timeFormatter(timeZone) {
  let format;
  try {
    format = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", timeZone });
  } catch {
    format = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit" });
  }
  return (iso) => (iso ? format.format(new Date(iso)) : "");
}

export function renderSessionList(list, sessions) {
  list.replaceChildren(...sessions.map((s) => {
    const at = timeFormatter(s.timezone);
    const done = s.register_completed_at ? el("span", { class: "chip", dataset: { state: "ok" } }, "Complete") : null;
    const cancelled = s.status !== "scheduled" ? el("span", { class: "chip", dataset: { state: "warn" } },
                                                    s.status.replace("_", " ")) : null;
    return el("li", {},
      el("a", { class: "card session-card", href: `#session/${s.id}`, dataset: { sessionId: s.id } },
        el("span", { class: "card-time" }, `${at(s.starts_at)}–${at(s.ends_at)}`),
        el("span", { class: "card-title" }, s.title),
        el("span", { class: "muted" }, [s.programme_name, s.location].filter(Boolean).join(" · ")),
        el("span", { class: "card-foot" }, `${s.marked_count} of ${s.roster_count} marked`, done, cancelled)));
  }));
}

function detail(mark, at) {
  const parts = [STATUS_LABELS[mark.status] || mark.status];
  if (mark.status === "late" && mark.arrived_at) {
    parts.push(`arrived ${at(mark.arrived_at)}`);
    if (mark.minutes_late) parts.push(`${mark.minutes_late} min late`);
  } else if (mark.status === "present" && mark.arrived_at) {
    parts.push(at(mark.arrived_at));
  } else if (mark.status === "left_early" && mark.departed_at) {
    parts.push(`left ${at(mark.departed_at)}`);
  }
  if (mark.reason && !["present", "late", "left_early"].includes(mark.status)) parts.push(mark.reason);
  if (mark.source === "qr") parts.push("QR check-in");
  return parts.join(" · ");
}

function noticeText(notice, at) {
  const accepted = notice.accepted ? "accepted" : "not an accepted reason";
  const late = notice.after_start ? ", after the start" : "";
  const from = notice.given_by || "unknown";
  return `Notice: ${notice.reason} (${accepted}) from ${from} at ${at(notice.received_at)}${late}`;
}

function actionButton(cls, label, personName, pressed) {
  return el("button", { type: "button", class: `btn act ${cls}`, "aria-label": `${label}: ${personName}`,
                        "aria-pressed": pressed === undefined ? undefined : String(pressed) }, label);
}

/** One row: avatar, name, what the mark says, and the actions. */
export function personRow(state, personId, at) {
  const person = state.people.get(personId);
  const mark = state.shown(personId);
  const tags = [];
  if (mark && mark.pending) tags.push(el("span", { class: "tag tag-pending" }, "Waiting to sync"));
  if (mark && !mark.pending && mark.late_entry) tags.push(el("span", { class: "tag" }, "Late entry"));
  if (mark && mark.code) {
    tags.push(el("span", { class: "tag tag-code", title: state.codeLabel(mark.code) }, mark.code));
  }
  const lines = [
    el("span", { class: "name" }, person.name),
    el("span", { class: "detail" }, mark ? detail(mark, at) : "Not marked yet", ...tags),
  ];
  if (mark && mark.note) lines.push(el("span", { class: "note" }, `Note: ${mark.note}`));
  if (person.notice) lines.push(el("span", { class: "notice" }, noticeText(person.notice, at)));
  const status = mark ? mark.status : "unmarked";
  const note = actionButton("act-note", "Note", person.name);
  if (!mark) note.disabled = true;
  return el("li", { class: "person", dataset: { personId, status, pending: String(Boolean(mark && mark.pending)) } },
    el("span", { class: "avatar", "aria-hidden": "true" }, person.initials),
    el("div", { class: "who" }, ...lines),
    el("div", { class: "actions" },
      actionButton("act-present", "Present", person.name, status === "present"),
      actionButton("act-late", "Late", person.name, status === "late"),
      actionButton("act-absent", "Absent", person.name, status.startsWith("absent") || status === "no_contact"),
      actionButton("act-left", "Left early", person.name, status === "left_early"),
      note));
}

export function renderRoster(list, state, at) {
  list.replaceChildren(...[...state.people.keys()].map((id) => personRow(state, id, at)));
}

export function redrawPerson(list, state, personId, at) {
  const old = list.querySelector(`li[data-person-id="${personId}"]`);
  const row = personRow(state, personId, at);
  if (old) old.replaceWith(row);
  else list.append(row);
  return row;
}

export function renderSummary(summary, button, state, at) {
  const total = state.people.size;
  const missing = state.unmarked();
  const marked = total - missing.length;
  if (state.completed) {
    summary.textContent = `Register completed at ${at(state.session.register_completed_at)}`
      + (state.completedBy ? ` by ${state.completedBy}` : "") + `. ${marked} of ${total} marked.`;
    button.hidden = true;
    return;
  }
  button.hidden = false;
  summary.textContent = missing.length
    ? `${marked} of ${total} marked. Still unmarked: ${missing.map((p) => p.name).join(", ")}.`
    : `All ${total} marked.`;
  button.dataset.ready = String(!missing.length);
}
