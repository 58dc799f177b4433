// People: search, add and edit them; open one to manage their contacts and enrolments.

import { api } from "./api.js";
import { clear, el, field, flash, input, select, submitting, table } from "./admin-ui.js";
import { contactsPanel } from "./admin-contacts.js";
import { enrolmentsPanel } from "./admin-enrolments.js";

const state = { q: "", programmeId: "", offset: 0 };
const PAGE = 50;

export async function showPeople(root, shared) {
  const programmes = await shared.programmes();
  const detail = el("div", { id: "person-detail" });
  const results = el("div");
  const q = input("q", { type: "search", value: state.q, placeholder: "Name, e-mail or reference",
    "aria-label": "Search people" });
  const programme = select("programme_id", [["", "All programmes"], ...programmes.map((p) => [p.id, p.name])],
    state.programmeId, { "aria-label": "Programme" });
  const searchForm = el("form", { class: "toolbar", role: "search" }, q, programme,
    el("button", { class: "btn", type: "submit" }, "Search"));
  searchForm.addEventListener("submit", (event) => {
    event.preventDefault();
    Object.assign(state, { q: q.value.trim(), programmeId: programme.value, offset: 0 });
    list(results, detail, shared);
  });
  clear(root,
    el("div", { class: "view-head" }, el("h2", {}, "People"),
      el("button", { class: "btn btn-primary", type: "button", onclick: () => open(detail, null, shared, results) },
        "New person")),
    searchForm, results, detail);
  await list(results, detail, shared);
}

async function list(holder, detail, shared) {
  const query = new URLSearchParams({ q: state.q, limit: String(PAGE), offset: String(state.offset) });
  if (state.programmeId) query.set("programme_id", state.programmeId);
  const found = await api.get(`/api/people?${query}`);
  const rows = found.map((p) => el("tr", {},
    el("td", {}, el("button", { class: "link", type: "button", onclick: () => open(detail, p, shared, holder) },
      p.name)),
    el("td", {}, p.external_ref || "\u2014"), el("td", {}, p.email || "\u2014"),
    el("td", {}, [p.ap_pupil ? "AP pupil" : "", p.ap_pupil && !p.on_school_roll ? "not on a school roll" : ""]
      .filter(Boolean).join(", ") || "\u2014"),
    el("td", {}, p.school || p.employer || "\u2014")));
  const pager = el("div", { class: "row" },
    el("button", { class: "btn", type: "button", disabled: state.offset === 0,
      onclick: () => { state.offset = Math.max(0, state.offset - PAGE); list(holder, detail, shared); } }, "Previous"),
    el("button", { class: "btn", type: "button", disabled: found.length < PAGE,
      onclick: () => { state.offset += PAGE; list(holder, detail, shared); } }, "Next"));
  clear(holder, table(["Name", "Reference", "E-mail", "AP", "School or employer"], rows,
    state.q ? "Nobody matches." : "No people yet: add them here or import a people file."), pager);
}

function personForm(person, onSaved) {
  const values = person ?? { ap_pupil: false, on_school_roll: true };
  const text = (name, attrs = {}) => input(name, { value: values[name] ?? "", maxlength: 200, ...attrs });
  const first = text("first_name", { required: true });
  const last = text("last_name", { required: true });
  const email = text("email", { type: "email", maxlength: 320 });
  const ref = text("external_ref", { maxlength: 100 });
  const school = text("school");
  const employer = text("employer");
  const born = text("date_of_birth", { type: "date" });
  const ap = input("ap_pupil", { type: "checkbox", checked: Boolean(values.ap_pupil) });
  const onRoll = input("on_school_roll", { type: "checkbox", checked: values.on_school_roll !== false });
  const form = el("form", { class: "card stack", id: "person-form", novalidate: true },
    el("h3", {}, person ? person.name : "New person"),
    el("div", { class: "form-grid" }, field("First name", first), field("Last name", last), field("E-mail", email),
      field("Reference", ref, "your own id; import files use it"), field("School", school),
      field("Employer", employer), field("Date of birth", born)),
    el("div", { class: "row" },
      el("label", { class: "field check" }, ap, el("span", {}, "Alternative provision pupil")),
      el("label", { class: "field check" }, onRoll, el("span", {}, "On a school roll"))),
    el("p", { class: "form-error", role: "alert", hidden: true }),
    el("div", { class: "row" }, el("button", { class: "btn btn-primary", type: "submit" },
      person ? "Save details" : "Add person")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { first_name: first.value.trim(), last_name: last.value.trim(), email: email.value.trim(),
                   external_ref: ref.value.trim() || null, school: school.value.trim(),
                   employer: employer.value.trim(), date_of_birth: born.value || null, ap_pupil: ap.checked,
                   on_school_roll: onRoll.checked };
    const saved = await submitting(form, () => (person
      ? api.patch(`/api/people/${person.id}`, body) : api.post("/api/people", body)));
    if (saved) onSaved(saved);
  });
  return form;
}

function open(holder, person, shared, results) {
  const saved = (fresh) => {
    flash(`${fresh.name} saved.`);
    list(results, holder, shared);
    open(holder, fresh, shared, results);
  };
  clear(holder, personForm(person, saved),
    person ? contactsPanel(person) : null,
    person ? enrolmentsPanel(person, shared) : null);
  holder.querySelector("input")?.focus();
}
