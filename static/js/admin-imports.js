// Imports: choose what the file holds, check it (nothing written), see every problem by row, then import.

import { ApiError, api, me } from "./api.js";
import { clear, el, field, flash, select, table } from "./admin-ui.js";

const KINDS = [["people", "People"], ["contacts", "Contacts"], ["sessions", "Sessions"], ["rosters", "Rosters"]];
let kinds = null;

export async function showImports(root) {
  kinds ??= await api.get("/api/imports");
  if (root.dataset.ready) return;
  root.dataset.ready = "1";
  const kind = select("kind", KINDS, "people");
  const file = el("input", { type: "file", name: "file", id: "import-file", accept: ".csv,text/csv" });
  const check = el("button", { class: "btn btn-primary", type: "submit" }, "Check file");
  const run = el("button", { class: "btn", type: "button", disabled: true }, "Import");
  const result = el("div", { class: "import-result", id: "import-result", role: "status", "aria-live": "polite" });
  const columns = el("div", { class: "import-columns" });
  const form = el("form", { class: "card stack", novalidate: true },
    el("p", {}, "Upload one CSV file at a time (saved as \u201cCSV UTF-8\u201d). Import people first, then their ",
      "contacts, then sessions, then rosters. A file is all or nothing: check it first; nothing is written ",
      "until you press Import, and a file with any problem writes nothing at all."),
    el("div", { class: "form-grid" }, field("What the file holds", kind), field("CSV file", file)),
    el("p", { class: "form-error", role: "alert", hidden: true }),
    el("div", { class: "row" }, check, run));
  let checked = null; // the kind and file that passed a check, so Import sends exactly that

  const reset = () => {
    checked = null;
    run.disabled = true;
    clear(result);
  };
  kind.addEventListener("change", () => {
    reset();
    showColumns(columns, kind.value);
  });
  file.addEventListener("change", reset);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    reset();
    if (!file.files.length) {
      showOutcome(result, { message: "Choose a CSV file first." });
      return;
    }
    const chosen = { kind: kind.value, file: file.files[0] };
    const outcome = await attempt(check, () => upload(chosen.kind, chosen.file, true));
    showOutcome(result, outcome);
    if (outcome.ok) {
      checked = chosen;
      run.disabled = false;
    }
  });
  run.addEventListener("click", async () => {
    if (!checked) return;
    const outcome = await attempt(run, () => upload(checked.kind, checked.file, false));
    showOutcome(result, outcome);
    run.disabled = true;
    if (outcome.ok) flash(`Imported ${outcome.data.rows} ${checked.kind} rows.`);
    checked = null;
  });
  clear(root, el("h2", {}, "Imports"), form, result, columns);
  showColumns(columns, kind.value);
}

async function attempt(button, work) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return { ok: true, data: await work() };
  } catch (error) {
    return { ok: false, error };
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/** POSTs the file as text/csv with the CSRF header (the shared wrapper only sends JSON). */
async function upload(kind, file, preview, retried = false) {
  const user = await me(retried);
  let response;
  try {
    response = await fetch(`/api/imports/${encodeURIComponent(kind)}?preview=${preview}`, {
      method: "POST", body: file, credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "text/csv", Accept: "application/json", "X-CSRF-Token": user.csrf_token },
    });
  } catch {
    throw new ApiError(0, "network", "No connection to the server; nothing was imported.");
  }
  const data = await response.json().catch(() => null);
  if (response.ok) return data;
  const { code, message, field, ...details } = data?.error || {};
  if (code === "csrf_failed" && !retried) return upload(kind, file, preview, true);
  throw new ApiError(response.status, code || `http_${response.status}`, message || response.statusText, field,
                     details);
}

function showOutcome(root, outcome) {
  if (outcome.message) {
    clear(root, el("p", { class: "outcome outcome-bad" }, outcome.message));
    return;
  }
  if (outcome.ok) {
    const d = outcome.data;
    const counts = `${d.created} new, ${d.updated} updated, ${d.unchanged} unchanged`;
    const text = d.preview ? `The file is ready: ${d.rows} rows (${counts}). Press Import to write it.`
      : `Imported ${d.rows} rows: ${counts}.`;
    clear(root, el("p", { class: "outcome outcome-good" }, text));
    return;
  }
  const error = outcome.error;
  const problems = error.details?.problems || [];
  const rows = problems.map((p) => el("tr", {},
    el("td", { class: "num" }, String(p.row)), el("td", {}, el("code", {}, p.column || "\u2014")),
    el("td", {}, el("code", {}, p.code)), el("td", {}, p.message)));
  clear(root,
    el("p", { class: "outcome outcome-bad" }, problems.length
      ? `Nothing was imported: the file has ${problems.length} problem${problems.length > 1 ? "s" : ""}. ` +
        "Correct them in the spreadsheet and check the file again."
      : error.message),
    problems.length ? table(["Row", "Column", "Code", "Problem"], rows) : null);
  root.querySelector("table")?.classList.add("problems");
}

function showColumns(root, kind) {
  const spec = kinds.find((k) => k.kind === kind);
  const rows = spec.columns.map((c) => el("tr", {},
    el("td", {}, el("code", {}, c.name)), el("td", {}, c.required ? "required" : "optional"),
    el("td", {}, c.description, c.choices.length ? el("span", { class: "muted" }, ` One of: ${c.choices.join(", ")}.`)
      : null)));
  clear(root, el("h3", {}, `Columns of a ${kind} file`),
    el("p", { class: "muted" }, "The first row names the columns, in any order and any case."),
    table(["Column", "", "What it holds"], rows));
}
