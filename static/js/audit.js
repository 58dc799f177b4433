// The audit log page: search by person, session, who, what and when; newest first, a page at a time.

import { ApiError, api, me } from "./api.js";

const PAGE = 50;
const banner = document.getElementById("banner");
const form = document.getElementById("filter");
let offset = 0;

function when(iso) {
  return new Date(iso).toLocaleString("en-GB", { day: "numeric", month: "short", year: "numeric",
                                                 hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  if (className) td.className = className;
  return td;
}

function jsonCell(value) {
  const td = document.createElement("td");
  if (value === null || value === undefined) return td;
  const code = document.createElement("code");
  code.textContent = JSON.stringify(value);
  td.append(code);
  return td;
}

function row(e) {
  const tr = document.createElement("tr");
  tr.append(cell(when(e.at), "num"), cell(e.actor), cell(e.action), cell(`${e.entity} ${e.entity_id}`.trim()),
            cell(e.person_id ?? ""), cell(e.session_id ?? ""), jsonCell(e.before), jsonCell(e.after));
  return tr;
}

function params() {
  const data = new FormData(form);
  const out = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
  for (const name of ["person_id", "session_id", "actor", "entity", "action"]) {
    const value = String(data.get(name) || "").trim();
    if (value) out.set(name, value);
  }
  for (const name of ["since", "until"]) {
    const value = String(data.get(name) || "");
    if (value) out.set(name, new Date(value).toISOString());  // the browser's local time, sent as UTC
  }
  return out;
}

async function search() {
  try {
    const page = await api.get(`/api/audit?${params()}`);
    banner.hidden = true;
    const body = document.querySelector("#entries tbody");
    body.replaceChildren(...page.entries.map(row));
    if (!page.entries.length) {
      const tr = document.createElement("tr");
      const td = cell("No entries match.", "empty");
      td.colSpan = 8;
      tr.append(td);
      body.append(tr);
    }
    const last = page.offset + page.entries.length;
    document.getElementById("summary").textContent =
      page.total ? `Entries ${page.offset + 1}–${last} of ${page.total}, newest first.` : "";
    document.getElementById("newer").disabled = page.offset === 0;
    document.getElementById("older").disabled = last >= page.total;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      window.location.assign("/");
      return;
    }
    banner.hidden = false;
    banner.textContent = error instanceof ApiError ? error.message : String(error);
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  offset = 0;
  search();
});
document.getElementById("newer").addEventListener("click", () => {
  offset = Math.max(0, offset - PAGE);
  search();
});
document.getElementById("older").addEventListener("click", () => {
  offset += PAGE;
  search();
});

const fromUrl = new URLSearchParams(window.location.search);
for (const name of ["person_id", "session_id", "entity"]) {
  const value = fromUrl.get(name);
  if (value && form.elements[name]) form.elements[name].value = value;
}
me().then((who) => {
  document.getElementById("who").textContent = who.name;
}).catch(() => {});
search();
