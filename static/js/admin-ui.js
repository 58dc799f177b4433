// Small DOM helpers the admin views share: building nodes, forms and their errors, times in the org's zone.

/** A new element: el("button", {class: "btn", onclick}, "Save"). Attributes set as properties when they exist. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name in node && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export function clear(node, ...children) {
  node.replaceChildren(...children.flat().filter(Boolean));
  return node;
}

/** A labelled input with a slot for its error; `name` is the API field it edits. */
export function field(label, input, hint = "") {
  const error = el("p", { class: "field-error", id: `${input.id || input.name}-error`, hidden: true });
  input.setAttribute("aria-describedby", error.id);
  return el("label", { class: "field", dataset: { field: input.name } },
    el("span", { class: "field-label" }, label), input, hint ? el("span", { class: "muted" }, hint) : null, error);
}

export function input(name, attrs = {}) {
  return el("input", { name, id: `f-${name}-${Math.random().toString(36).slice(2, 7)}`, ...attrs });
}

export function select(name, options, value = "", attrs = {}) {
  const node = el("select", { name, id: `f-${name}-${Math.random().toString(36).slice(2, 7)}`, ...attrs });
  for (const option of options) {
    const [optionValue, text] = Array.isArray(option) ? option : [option, option];
    node.append(el("option", { value: String(optionValue), selected: String(optionValue) === String(value) }, text));
  }
  return node;
}

/** Removes every error shown on `form`. */
export function clearErrors(form) {
  for (const node of form.querySelectorAll(".field-error, .form-error")) {
    node.hidden = true;
    node.textContent = "";
  }
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
}

/**
 * Shows an API error beside the field it names ("policy.rules[2].offset_minutes" finds the input whose
 * data-field or name is that path, or failing that its first part), else at the top of the form.
 */
export function showError(form, error) {
  clearErrors(form);
  const path = error.field || "";
  const candidates = [path, path.split(".")[0], path.replace(/\[\d+\]$/, "")].filter(Boolean);
  for (const name of candidates) {
    const target = form.querySelector(`[data-field="${CSS.escape(name)}"]`) ||
      form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (!target) continue;
    const holder = target.closest("[data-field]") || target.closest(".field") || target.parentElement;
    const slot = holder.querySelector(".field-error");
    const control = holder.matches("input, select, textarea") ? holder : holder.querySelector("input, select, textarea");
    if (control) control.setAttribute("aria-invalid", "true");
    if (slot) {
      slot.textContent = error.message;
      slot.hidden = false;
      control?.focus();
      return;
    }
  }
  const top = form.querySelector(".form-error");
  if (top) {
    top.textContent = error.message;
    top.hidden = false;
  }
}

/** Runs `work` with the form's submit button busy; shows any error beside its field. */
export async function submitting(form, work) {
  const button = form.querySelector("button[type=submit]");
  clearErrors(form);
  if (button) button.disabled = true;
  form.setAttribute("aria-busy", "true");
  try {
    return await work();
  } catch (error) {
    showError(form, error);
    return undefined;
  } finally {
    if (button) button.disabled = false;
    form.removeAttribute("aria-busy");
  }
}

/** A message at the top of the page: kind "ok" or "error". */
export function flash(message, kind = "ok") {
  const banner = document.getElementById("banner");
  banner.textContent = message;
  banner.dataset.kind = kind;
  banner.hidden = false;
  clearTimeout(flash.timer);
  if (kind === "ok") flash.timer = setTimeout(() => { banner.hidden = true; }, 6000);
}

export function table(headings, rows, empty = "Nothing here yet.") {
  if (!rows.length) return el("p", { class: "empty" }, empty);
  return el("table", { class: "grid" },
    el("thead", {}, el("tr", {}, headings.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows));
}

// Times: the API speaks UTC; people read and type times in the organisation's zone.

function parts(date, timeZone) {
  const fmt = new Intl.DateTimeFormat("en-GB", {
    timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit", hourCycle: "h23",
  });
  const out = {};
  for (const p of fmt.formatToParts(date)) out[p.type] = p.value;
  return out;
}

/** "2026-03-02" and "09:30" in the organisation's zone for an ISO instant. */
export function localParts(iso, timeZone) {
  const p = parts(new Date(iso), timeZone);
  return { date: `${p.year}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}` };
}

/** The ISO UTC instant of a wall-clock date and time in `timeZone` (exact across clock changes). */
export function zonedToIso(day, time, timeZone) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day || "") || !/^\d{2}:\d{2}/.test(time || "")) return null;
  const [y, m, d] = day.split("-").map(Number);
  const [hh, mm] = time.split(":").map(Number);
  const wall = Date.UTC(y, m - 1, d, hh, mm);
  let guess = wall;
  for (let i = 0; i < 3; i += 1) {
    const p = parts(new Date(guess), timeZone);
    const shown = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute);
    guess += wall - shown;
  }
  return new Date(guess).toISOString().replace(".000Z", "+00:00");
}

export function todayIn(timeZone) {
  return localParts(new Date().toISOString(), timeZone).date;
}

export function addDays(day, n) {
  const date = new Date(`${day}T12:00:00Z`);
  date.setUTCDate(date.getUTCDate() + n);
  return date.toISOString().slice(0, 10);
}

/** The enum a request body field accepts, read from the served OpenAPI document. */
export function choices(openapi, path, method, name) {
  const body = openapi.paths?.[path]?.[method]?.requestBody?.content?.["application/json"]?.schema;
  const schema = body?.properties?.[name];
  return schema?.enum || schema?.anyOf?.find((s) => s.enum)?.enum || [];
}

export function words(value) {
  return String(value ?? "").replaceAll("_", " ");
}
