// Programmes: start from a preset, then edit the rule table (on/off, window minutes, settings),
// the policy's numbers, the absence reasons accepted, the code set, and the cohorts.

import { api } from "./api.js";
import { clear, el, field, flash, input, select, submitting, table, words } from "./admin-ui.js";
import { cohortsPanel, policyEditor, reasonsEditor } from "./admin-policy.js";

let presets = null;

export async function showProgrammes(root, shared) {
  presets ??= await api.get("/api/presets");
  const programmes = await shared.programmes(true);
  const editorHolder = el("div", { id: "programme-editor" });
  const rows = programmes.map((p) => el("tr", {},
    el("td", {}, p.name), el("td", {}, presetName(p.preset)), el("td", {}, words(p.code_set)),
    el("td", { class: "num" }, String((p.policy.rules || []).filter((r) => r.enabled).length)),
    el("td", { class: "actions" }, el("button", { class: "btn btn-small", type: "button",
      onclick: () => edit(editorHolder, shared, p, root) }, "Edit"),
    el("a", { class: "btn btn-small", href: `/programme.html?id=${p.id}` }, "Report"))));
  clear(root,
    el("div", { class: "view-head" }, el("h2", {}, "Programmes"),
      el("button", { class: "btn btn-primary", type: "button", id: "new-programme",
        onclick: () => edit(editorHolder, shared, null, root) }, "New programme")),
    table(["Name", "Preset", "Code set", "Rules on", ""], rows, "No programmes yet: add the first one."),
    editorHolder);
  root.querySelector("table.grid")?.setAttribute("id", "programme-table");
}

function presetName(id) {
  return presets.find((p) => p.id === id)?.name || (id ? words(id) : "\u2014");
}

function edit(holder, shared, programme, root) {
  const draft = {
    policy: structuredClone(programme?.policy ?? { rules: [] }),
    reasons: structuredClone(programme?.reasons ?? [{ reason: "Illness", accepted: true }]),
  };
  const name = input("name", { required: true, maxlength: 200, value: programme?.name ?? "" });
  const preset = select("preset", [["", "No preset"], ...presets.map((p) => [p.id, p.name])], programme?.preset ?? "");
  const codeSets = [...new Set([...presets.map((p) => p.code_set), programme?.code_set].filter(Boolean))];
  const codeSet = select("code_set", codeSets.map((c) => [c, words(c)]), programme?.code_set ?? "plain");
  const description = el("p", { class: "muted preset-description" });
  const policyHolder = el("div");
  const reasonsHolder = el("div");
  const redraw = () => {
    clear(policyHolder, policyEditor(draft.policy));
    clear(reasonsHolder, reasonsEditor(draft.reasons));
  };
  preset.addEventListener("change", () => {
    const chosen = presets.find((p) => p.id === preset.value);
    description.textContent = chosen?.description ?? "";
    if (!chosen) return;
    draft.policy = structuredClone(chosen.policy);
    codeSet.value = chosen.code_set;
    redraw();
  });
  description.textContent = presets.find((p) => p.id === preset.value)?.description ?? "";
  const form = el("form", { class: "card stack", id: "programme-form", novalidate: true },
    el("h3", {}, programme ? `Edit ${programme.name}` : "New programme"),
    el("div", { class: "form-grid" }, field("Name", name), field("Preset", preset), field("Code set", codeSet)),
    description,
    el("h4", {}, "Attendance policy"), policyHolder,
    el("h4", {}, "Absence reasons"), reasonsHolder,
    el("p", { class: "form-error", role: "alert", hidden: true }),
    el("div", { class: "row" },
      el("button", { class: "btn btn-primary", type: "submit" }, programme ? "Save programme" : "Create programme"),
      el("button", { class: "btn", type: "button", onclick: () => clear(holder) }, "Close")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: name.value.trim(), code_set: codeSet.value, policy: draft.policy,
                   reasons: draft.reasons.filter((r) => r.reason.trim()) };
    if (preset.value) body.preset = preset.value;
    const saved = await submitting(form, () => (programme
      ? api.patch(`/api/programmes/${programme.id}`, body) : api.post("/api/programmes", body)));
    if (!saved) return;
    await showProgrammes(root, shared);
    flash(`Programme \u201c${saved.name}\u201d saved.`);
  });
  redraw();
  clear(holder, form, programme ? cohortsPanel(programme) : null);
  name.focus();
}
