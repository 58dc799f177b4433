// Sessions: one day at a time in the organisation's zone; create and edit them; set who is expected.

import { api } from "./api.js";
import {
  addDays, choices, clear, el, field, flash, input, localParts, select, submitting, table, todayIn, words, zonedToIso,
} from "./admin-ui.js";
import { rosterPanel } from "./admin-roster.js";

const state = { day: null, programmeId: "" };

export async function showSessions(root, shared) {
  const zone = shared.org.timezone;
  state.day ??= todayIn(zone);
  const programmes = await shared.programmes();
  const query = new URLSearchParams({ date: state.day });
  if (state.programmeId) query.set("programme_id", state.programmeId);
  const sessions = await api.get(`/api/sessions?${query}`);
  const panel = el("div", { id: "session-panel" });
  const day = input("date", { type: "date", value: state.day, "aria-label": "Day" });
  day.addEventListener("change", () => go(root, shared, day.value || todayIn(zone)));
  const filter = select("programme_id", [["", "All programmes"], ...programmes.map((p) => [p.id, p.name])],
    state.programmeId, { "aria-label": "Programme" });
  filter.addEventListener("change", () => { state.programmeId = filter.value; showSessions(root, shared); });
  const rows = sessions.map((s) => {
    const start = localParts(s.starts_at, zone);
    const end = localParts(s.ends_at, zone);
    return el("tr", { class: s.status !== "scheduled" ? "inactive" : "" },
      el("td", { class: "num" }, `${start.time}\u2013${end.time}`),
      el("td", {}, s.title, s.location ? el("span", { class: "muted" }, ` \u00b7 ${s.location}`) : null),
      el("td", {}, s.programme_name), el("td", {}, s.tutors.map((t) => t.name).join(", ") || "\u2014"),
      el("td", { class: "num" }, String(s.roster_count)), el("td", {}, words(s.status)),
      el("td", { class: "actions" },
        el("button", { class: "btn btn-small", type: "button", onclick: () => editor(panel, root, shared, s) }, "Edit"),
        el("button", { class: "btn btn-small", type: "button",
          onclick: () => { clear(panel, rosterPanel(s, () => showSessions(root, shared))); panel.scrollIntoView(); } },
        "Roster")));
  });
  clear(root,
    el("div", { class: "view-head" }, el("h2", {}, "Sessions"),
      el("button", { class: "btn btn-primary", type: "button", onclick: () => editor(panel, root, shared, null) },
        "New session")),
    el("div", { class: "toolbar" },
      el("button", { class: "btn", type: "button", onclick: () => go(root, shared, addDays(state.day, -1)) },
        "\u2039 Previous day"), day,
      el("button", { class: "btn", type: "button", onclick: () => go(root, shared, todayIn(zone)) }, "Today"),
      el("button", { class: "btn", type: "button", onclick: () => go(root, shared, addDays(state.day, 1)) },
        "Next day \u203a"), filter),
    el("p", { class: "muted" }, `Times in ${zone}.`),
    table(["Time", "Session", "Programme", "Tutors", "Expected", "Status", ""], rows,
      "No sessions on this day."),
    panel);
  root.querySelector("table.grid")?.setAttribute("id", "session-table");
}

function go(root, shared, day) {
  state.day = day;
  return showSessions(root, shared);
}

async function editor(holder, root, shared, session) {
  const zone = shared.org.timezone;
  const programmes = await shared.programmes();
  const tutors = await shared.tutors();
  const spec = (name) => choices(shared.openapi, "/api/sessions", "post", name);
  const start = session ? localParts(session.starts_at, zone) : { date: state.day, time: "09:00" };
  const end = session ? localParts(session.ends_at, zone) : { date: state.day, time: "10:00" };
  const programme = select("programme_id", [["", "Choose a programme"], ...programmes.map((p) => [p.id, p.name])],
    session?.programme_id ?? state.programmeId, { required: true, disabled: Boolean(session) });
  const title = input("title", { required: true, maxlength: 200, value: session?.title ?? "" });
  const kind = select("kind", spec("kind").map((k) => [k, words(k)]), session?.kind ?? "one_to_one");
  const mode = select("mode", spec("mode").map((m) => [m, words(m)]), session?.mode ?? "face_to_face");
  const day = input("day", { type: "date", required: true, value: start.date });
  const from = input("starts_at", { type: "time", required: true, value: start.time });
  const to = input("ends_at", { type: "time", required: true, value: end.time });
  const location = input("location", { maxlength: 200, value: session?.location ?? "" });
  const element = input("element", { maxlength: 60, value: session?.element ?? "" });
  const ref = input("external_ref", { maxlength: 100, value: session?.external_ref ?? "" });
  const mandatory = input("mandatory", { type: "checkbox", checked: session?.mandatory ?? true });
  const chosen = new Set((session?.tutors ?? []).map((t) => t.id));
  const tutorBoxes = tutors.map((t) => {
    const box = input("tutor_ids", { type: "checkbox", value: String(t.id), checked: chosen.has(t.id) });
    return el("label", { class: "check" }, box, el("span", {}, t.name));
  });
  const form = el("form", { class: "card stack", id: "session-form", novalidate: true },
    el("h3", {}, session ? `Edit ${session.title}` : "New session"),
    el("div", { class: "form-grid" }, field("Programme", programme), field("Title", title), field("Kind", kind),
      field("Mode", mode), field("Date", day), field("Starts", from), field("Ends", to),
      field("Location", location), field("Programme element", element, "what it counts towards"),
      field("Reference", ref, "your own id for it; import files use it")),
    el("label", { class: "field check" }, mandatory, el("span", {}, "Attendance is mandatory")),
    el("fieldset", { class: "choices", dataset: { field: "tutor_ids" } }, el("legend", {}, "Tutors"),
      tutorBoxes.length ? tutorBoxes : el("p", { class: "muted" }, "No tutors yet: add them under Staff."),
      el("p", { class: "field-error", hidden: true })),
    el("p", { class: "form-error", role: "alert", hidden: true }),
    el("div", { class: "row" },
      el("button", { class: "btn btn-primary", type: "submit" }, session ? "Save session" : "Create session"),
      el("button", { class: "btn", type: "button", onclick: () => clear(holder) }, "Close")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      title: title.value.trim(), kind: kind.value, mode: mode.value, location: location.value.trim(),
      element: element.value.trim(), mandatory: mandatory.checked, external_ref: ref.value.trim() || null,
      starts_at: zonedToIso(day.value, from.value, zone), ends_at: zonedToIso(day.value, to.value, zone),
      tutor_ids: [...form.querySelectorAll("input[name=tutor_ids]:checked")].map((b) => Number(b.value)),
    };
    if (!session) body.programme_id = Number(programme.value) || 0;
    const saved = await submitting(form, () => (session
      ? api.patch(`/api/sessions/${session.id}`, body) : api.post("/api/sessions", body)));
    if (!saved) return;
    state.day = localParts(saved.starts_at, zone).date;
    await showSessions(root, shared);
    flash(`Session \u201c${saved.title}\u201d saved.`);
  });
  clear(holder, form);
  title.focus();
}
