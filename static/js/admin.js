// The admin page's shell: who is signed in, which section is showing, and the data every section shares.

import { ApiError, api, me } from "./api.js";
import { flash } from "./admin-ui.js";
import { showProgrammes } from "./admin-programmes.js";
import { showSessions } from "./admin-sessions.js";
import { showPeople } from "./admin-people.js";
import { showImports } from "./admin-imports.js";
import { showStaff } from "./admin-staff.js";

const MANAGERS = ["admin", "programme_manager"];
const VIEWS = { programmes: showProgrammes, sessions: showSessions, people: showPeople, imports: showImports,
                staff: showStaff };

/** What the sections share, loaded once and refreshed when a section changes it. */
export const shared = {
  user: null,
  org: null,
  openapi: null,
  async programmes(refresh = false) {
    if (refresh || !this._programmes) this._programmes = await api.get("/api/programmes");
    return this._programmes;
  },
  async tutors(refresh = false) {
    if (refresh || !this._tutors) this._tutors = await api.get("/api/staff?role=tutor&active=true");
    return this._tutors;
  },
};

async function start() {
  try {
    shared.user = await me();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      window.location.replace(`/?next=${encodeURIComponent("/admin.html" + window.location.hash)}`);
      return;
    }
    throw error;
  }
  document.getElementById("who").textContent = `${shared.user.name} (${shared.user.role.replaceAll("_", " ")})`;
  document.getElementById("sign-out").addEventListener("click", signOut);
  if (!MANAGERS.includes(shared.user.role)) {
    document.getElementById("loading").textContent =
      "The admin pages are for administrators and programme managers. Go back home for your own pages.";
    return;
  }
  [shared.org, shared.openapi] = await Promise.all([api.get("/api/org"), api.get("/api/openapi.json")]);
  document.getElementById("loading").hidden = true;
  window.addEventListener("hashchange", route);
  await route();
}

async function route() {
  const name = window.location.hash.slice(1).split("/")[0] || "sessions";
  const view = VIEWS[name] ? name : "sessions";
  for (const link of document.querySelectorAll("[data-tab]")) {
    if (link.dataset.tab === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== `view-${view}`;
  try {
    await VIEWS[view](document.getElementById(`view-${view}`), shared);
  } catch (error) {
    flash(error.message || "Something went wrong.", "error");
  }
}

async function signOut() {
  try {
    await api.post("/api/auth/sign-out", {});
  } finally {
    window.location.replace("/");
  }
}

start().catch((error) => flash(error.message || "The page could not load.", "error"));
