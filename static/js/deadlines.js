// The deadlines page: what the watcher will fire next, and what each fired deadline did.

import { ApiError, api, me } from "./api.js";

const REFRESH_MS = 15000;
const banner = document.getElementById("banner");
const form = document.getElementById("filter");

function when(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString("en-GB", { weekday: "short", day: "numeric", month: "short",
                                                 hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  if (className) td.className = className;
  return td;
}

function sessionLabel(d) {
  if (d.session_id == null) return "—";
  return `${d.session_title || "Session"} (#${d.session_id})`;
}

function ruleLabel(d) {
  return d.stage ? `${d.rule_id} · step ${d.stage}` : d.rule_id;
}

function upcomingRow(d) {
  const tr = document.createElement("tr");
  const state = d.state === "retrying" ? `retrying after ${when(d.retry_after)}: ${d.summary}` : "waiting";
  tr.append(cell(when(d.due_at), "num"), cell(ruleLabel(d)), cell(sessionLabel(d)), cell(d.person_name || "everyone"),
            cell(state));
  return tr;
}

function firedRow(d) {
  const tr = document.createElement("tr");
  const late = d.late_by_seconds ? ` (${Math.round(d.late_by_seconds / 60)} min late)` : "";
  tr.append(cell(when(d.fired_at) + late, "num"), cell(ruleLabel(d)), cell(sessionLabel(d)),
            cell(d.person_name || "everyone"), cell(d.summary));
  tr.dataset.state = d.state;
  return tr;
}

function fill(tableId, rows, render, emptyText) {
  const body = document.querySelector(`#${tableId} tbody`);
  body.replaceChildren(...rows.map(render));
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = cell(emptyText, "empty");
    td.colSpan = 5;
    tr.append(td);
    body.append(tr);
  }
}

function query(state) {
  const params = new URLSearchParams({ state, limit: document.getElementById("limit").value || "100" });
  const sessionId = document.getElementById("session-id").value;
  if (sessionId) params.set("session_id", sessionId);
  return `/api/deadlines?${params}`;
}

function showError(error) {
  banner.hidden = false;
  banner.textContent = error instanceof ApiError ? error.message : String(error);
}

async function refresh() {
  try {
    const [upcoming, fired] = await Promise.all([api.get(query("upcoming")), api.get(query("fired"))]);
    banner.hidden = true;
    fill("upcoming", upcoming, upcomingRow, "Nothing is waiting to fire.");
    fill("fired", fired, firedRow, "Nothing has fired yet.");
    document.getElementById("refreshed").textContent = `Updated ${when(new Date().toISOString())}`;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      window.location.assign("/");
      return;
    }
    showError(error);
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  refresh();
});

const fromUrl = new URLSearchParams(window.location.search).get("session_id");
if (fromUrl) document.getElementById("session-id").value = fromUrl;

me().then((who) => {
  document.getElementById("who").textContent = who.name;
}).catch(() => {});
refresh();
setInterval(refresh, REFRESH_MS);
