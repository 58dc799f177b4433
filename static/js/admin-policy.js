// The policy editor: settings and the rule table, bound to a policy object that is edited in place;
// the reasons table; and a programme's cohorts.

import { api } from "./api.js";
import { clear, el, field, input, submitting, table } from "./admin-ui.js";

// What each rule does and when its window opens, as a manager reads it (RULES.md has the whole story).
const RULES = {
  "AP-REPORT": ["Attendance report to attendance contacts (and the LA for pupils off a school roll)", "after the start"],
  "AP-NOSHOW": ["No-show with no contact: mark N, alert the tutor and AP office, call emergency contacts", "after the start"],
  "AP-DSL": ["Safeguarding alert to the DSL when no contact has been made", "after the start"],
  "DSL-ACK": ["Escalate a safeguarding alert nobody has acknowledged", "after the acknowledgement time"],
  "F2F-REGISTER": ["Register not completed: alert the tutor, then their manager", "after the register window"],
  "TUTOR-EARLY": ["Tutor not checked in: alert their manager", "from the start (negative: before it)"],
  "EMPLOYER-SAME-DAY": ["Tell the employer of unauthorised absence the same day", "after the register window"],
  "EMPLOYER-REMOTE": ["Remote absence: task for the manager and e-mail to the employer", "after the start"],
  "EVENTS-CALL": ["Put no-shows without notice on the events team's call list", "after the start"],
  "REBOOK-121": ["Rebook a missed 1-2-1 within the working days given", "after the end"],
};
// Settings a rule takes, with the engine's defaults shown as placeholders (blank keeps the default).
const PARAMS = {
  "AP-NOSHOW": { code: "N" },
  "F2F-REGISTER": { escalate_after_minutes: 15 },
  "EMPLOYER-REMOTE": { morning: "09:00" },
  "EVENTS-CALL": { pattern_threshold: 2 },
  "REBOOK-121": { working_days: 5 },
};
const SETTINGS = [
  ["register_window_minutes", "Register window (minutes)"],
  ["grace_minutes", "Grace before an arrival is late (minutes)"],
  ["ack_minutes", "DSL acknowledges within (minutes)"],
  ["late_cancel_hours", "A cancellation is late under (hours)"],
  ["left_early_threshold_percent", "Catch-up needed above (% missed)"],
  ["event_min_expected", "An event has at least (people)"],
];

function number(path, value, onChange, attrs = {}) {
  const node = input(path, { type: "number", step: 1, inputmode: "numeric", value: value ?? "", ...attrs });
  node.dataset.field = path;
  node.addEventListener("input", () => onChange(node.value === "" ? undefined : Number(node.value)));
  return node;
}

function errorSlot() {
  return el("p", { class: "field-error", hidden: true });
}

/** Edits `policy` in place: its numbers, and each rule's switch, window and settings. */
export function policyEditor(policy) {
  const settings = SETTINGS.map(([name, label]) => field(label, number(`policy.${name}`, policy[name] ?? "",
    (v) => { policy[name] = v; }, { min: 0, placeholder: "default" })));
  const pattern = input("policy.events_call_pattern_only", { type: "checkbox",
    checked: Boolean(policy.events_call_pattern_only) });
  pattern.addEventListener("change", () => { policy.events_call_pattern_only = pattern.checked; });
  const rows = (policy.rules || []).map((rule, i) => ruleRow(rule, i));
  return el("div", { class: "stack" },
    el("div", { class: "form-grid" }, settings,
      el("label", { class: "field check" }, pattern, el("span", {}, "Chase absences only when a pattern emerges"))),
    table(["On", "Rule", "Window (minutes)", "Settings"], rows,
      "This policy has no rules: pick a preset to start from one."));
}

function ruleRow(rule, i) {
  const [what, anchor] = RULES[rule.id] || ["", "from its anchor"];
  const where = `policy.rules[${i}]`;
  const on = input(`${where}.enabled`, { type: "checkbox", checked: rule.enabled, "aria-label": `${rule.id} on` });
  on.addEventListener("change", () => { rule.enabled = on.checked; });
  const offset = number(`${where}.offset_minutes`, rule.offset_minutes, (v) => { rule.offset_minutes = v ?? 0; },
    { "aria-label": `${rule.id} window in minutes`, class: "narrow" });
  const params = Object.entries({ ...(PARAMS[rule.id] || {}), ...rule.params }).map(([name, fallback]) => {
    const path = `${where}.params.${name}`;
    const stored = rule.params[name];
    const box = typeof fallback === "number"
      ? number(path, stored, (v) => setParam(rule, name, v), { min: 0, placeholder: String(fallback), class: "narrow" })
      : input(path, { value: stored ?? "", placeholder: String(fallback), class: "narrow" });
    box.dataset.field = path;
    if (typeof fallback !== "number") box.addEventListener("input", () => setParam(rule, name, box.value || undefined));
    return el("label", { class: "param", dataset: { field: path } }, el("span", {}, name.replaceAll("_", " ")), box,
      errorSlot());
  });
  const scope = rule.applies_to_kinds?.length ? ` Only for ${rule.applies_to_kinds.join(", ").replaceAll("_", " ")}.` : "";
  return el("tr", { dataset: { rule: rule.id } },
    el("td", { dataset: { field: `${where}.enabled` } }, on),
    el("td", {}, el("strong", {}, rule.id), el("br"), el("span", { class: "muted" }, what + scope)),
    el("td", { dataset: { field: `${where}.offset_minutes` } }, offset, el("span", { class: "muted" }, ` ${anchor}`),
      errorSlot()),
    el("td", {}, params.length ? params : el("span", { class: "muted" }, "\u2014")));
}

function setParam(rule, name, value) {
  if (value === undefined) delete rule.params[name];
  else rule.params[name] = value;
}

/** Edits the list of absence reasons in place: the text and whether a notice with it authorises the absence. */
export function reasonsEditor(reasons) {
  const holder = el("div", { class: "stack" });
  const draw = () => {
    const rows = reasons.map((r, i) => {
      const text = input(`reasons[${i}].reason`, { value: r.reason, maxlength: 200, "aria-label": `Reason ${i + 1}` });
      text.addEventListener("input", () => { r.reason = text.value; });
      const ok = input(`reasons[${i}].accepted`, { type: "checkbox", checked: r.accepted,
        "aria-label": `Reason ${i + 1} accepted` });
      ok.addEventListener("change", () => { r.accepted = ok.checked; });
      return el("tr", {}, el("td", { dataset: { field: `reasons[${i}].reason` } }, text, errorSlot()),
        el("td", {}, ok),
        el("td", {}, el("button", { class: "btn btn-small", type: "button",
          onclick: () => { reasons.splice(i, 1); draw(); } }, "Remove")));
    });
    clear(holder, table(["Reason", "Accepted", ""], rows, "No reasons: every absence is unauthorised."),
      el("button", { class: "btn", type: "button",
        onclick: () => { reasons.push({ reason: "", accepted: true }); draw(); } }, "Add reason"));
  };
  draw();
  return holder;
}

/** A programme's cohorts (which import files may name) and a form to add one. */
export function cohortsPanel(programme) {
  const list = el("div");
  const name = input("name", { required: true, maxlength: 200 });
  const starts = input("starts_on", { type: "date" });
  const ends = input("ends_on", { type: "date" });
  const form = el("form", { class: "stack", novalidate: true },
    el("div", { class: "form-grid" }, field("Cohort name", name), field("Starts", starts), field("Ends", ends)),
    el("p", { class: "form-error", role: "alert", hidden: true }),
    el("div", { class: "row" }, el("button", { class: "btn", type: "submit" }, "Add cohort")));
  const load = async () => {
    const cohorts = await api.get(`/api/programmes/${programme.id}/cohorts`);
    clear(list, table(["Cohort", "Starts", "Ends"], cohorts.map((c) => el("tr", {},
      el("td", {}, c.name), el("td", {}, c.starts_on || "\u2014"), el("td", {}, c.ends_on || "\u2014"))),
    "No cohorts."));
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: name.value.trim(), starts_on: starts.value || null, ends_on: ends.value || null };
    if (await submitting(form, () => api.post(`/api/programmes/${programme.id}/cohorts`, body))) {
      form.reset();
      await load();
    }
  });
  load();
  return el("section", { class: "card stack" }, el("h3", {}, `Cohorts of ${programme.name}`), list, form);
}
