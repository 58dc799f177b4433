// A session's roster: who is expected, people found by search added, the whole list saved at once.

import { api } from "./api.js";
import { clear, el, flash, input, showError } from "./admin-ui.js";

export function rosterPanel(session, onSaved) {
  const people = new Map(); // person id -> name, in the order shown
  const list = el("ul", { class: "pick-list", id: "roster-list", "aria-label": "Expected" });
  const found = el("ul", { class: "pick-list", "aria-label": "Search results" });
  const search = input("q", { type: "search", placeholder: "Name, e-mail or reference", "aria-label": "Find people" });
  const save = el("button", { class: "btn btn-primary", type: "submit" }, "Save roster");
  const form = el("form", { class: "card stack", id: "roster-form", novalidate: true },
    el("h3", {}, `Roster: ${session.title}`),
    el("p", { class: "muted", id: "roster-count" }),
    list,
    el("div", { class: "row" }, search, el("button", { class: "btn", type: "button", onclick: find }, "Find")),
    found,
    el("p", { class: "form-error", role: "alert", hidden: true }),
    el("div", { class: "row" }, save));

  function drawList() {
    form.querySelector("#roster-count").textContent = `${people.size} expected`;
    clear(list, [...people].map(([id, name]) => el("li", {}, el("span", {}, name),
      el("button", { class: "btn btn-small", type: "button", "aria-label": `Remove ${name}`,
        onclick: () => { people.delete(id); drawList(); } }, "Remove"))));
  }

  async function find() {
    const q = search.value.trim();
    const results = await api.get(`/api/people?${new URLSearchParams({ q, limit: "20" })}`);
    clear(found, results.length ? results.map((p) => el("li", {},
      el("span", {}, p.name, p.external_ref ? el("span", { class: "muted" }, ` \u00b7 ${p.external_ref}`) : null),
      el("button", { class: "btn btn-small", type: "button", disabled: people.has(p.id), "aria-label": `Add ${p.name}`,
        onclick: (event) => { people.set(p.id, p.name); event.currentTarget.disabled = true; drawList(); } }, "Add")))
      : [el("li", { class: "muted" }, "Nobody matches.")]);
  }

  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      find();
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    save.disabled = true;
    try {
      await api.put(`/api/sessions/${session.id}/roster`, { person_ids: [...people.keys()] });
      flash(`Roster of \u201c${session.title}\u201d saved: ${people.size} expected.`);
      onSaved();
    } catch (error) {
      showError(form, error);
    } finally {
      save.disabled = false;
    }
  });
  api.get(`/api/sessions/${session.id}/roster`).then((rows) => {
    for (const r of rows) people.set(r.person_id, r.name);
    drawList();
  }).catch((error) => showError(form, error));
  return form;
}
