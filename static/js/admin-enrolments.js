// A person's enrolments: which programmes (and cohorts) they are on, and with what status.

import { api } from "./api.js";
import { choices, clear, el, field, flash, input, select, submitting, table, words } from "./admin-ui.js";

export function enrolmentsPanel(person, shared) {
  const list = el("div");
  const form = el("form", { class: "stack", id: "enrolment-form", novalidate: true });
  const panel = el("section", { class: "card stack", id: "enrolments" }, el("h3", {}, "Enrolments"), list, form);
  const statuses = choices(shared.openapi, "/api/people/{person_id}/enrolments", "post", "status");

  async function load() {
    const found = await api.get(`/api/people/${person.id}/enrolments`);
    clear(list, table(["Programme", "Cohort", "Status", "From", "To", ""], found.map((e) => {
      const status = select("status", statuses.map((s) => [s, words(s)]), e.status,
        { "aria-label": `Status on ${e.programme_name}` });
      status.addEventListener("change", async () => {
        try {
          await api.patch(`/api/enrolments/${e.id}`, { status: status.value });
          flash(`${person.name} is now ${words(status.value)} on ${e.programme_name}.`);
        } catch (error) {
          flash(error.message, "error");
          status.value = e.status;
        }
      });
      return el("tr", {}, el("td", {}, e.programme_name), el("td", {}, e.cohort_name || "\u2014"),
        el("td", {}, status), el("td", {}, e.starts_on || "\u2014"), el("td", {}, e.ends_on || "\u2014"), el("td"));
    }), "Not enrolled on any programme."));
  }

  async function drawForm() {
    const programmes = await shared.programmes();
    const programme = select("programme_id", [["", "Choose a programme"], ...programmes.map((p) => [p.id, p.name])]);
    const cohort = select("cohort_id", [["", "No cohort"]]);
    const starts = input("starts_on", { type: "date" });
    programme.addEventListener("change", async () => {
      const cohorts = programme.value ? await api.get(`/api/programmes/${programme.value}/cohorts`) : [];
      clear(cohort, [["", "No cohort"], ...cohorts.map((c) => [c.id, c.name])]
        .map(([v, t]) => el("option", { value: String(v) }, t)));
    });
    clear(form, el("h4", {}, "Enrol on a programme"),
      el("div", { class: "form-grid" }, field("Programme", programme), field("Cohort", cohort),
        field("Starts", starts)),
      el("p", { class: "form-error", role: "alert", hidden: true }),
      el("div", { class: "row" }, el("button", { class: "btn", type: "submit" }, "Enrol")));
    form.onsubmit = async (event) => {
      event.preventDefault();
      const body = { programme_id: Number(programme.value) || 0, cohort_id: Number(cohort.value) || null,
                     starts_on: starts.value || null };
      if (await submitting(form, () => api.post(`/api/people/${person.id}/enrolments`, body))) {
        flash(`${person.name} enrolled.`);
        await load();
        await drawForm();
      }
    };
  }

  load().catch((error) => clear(list, el("p", { class: "outcome outcome-bad" }, error.message)));
  drawForm();
  return panel;
}
