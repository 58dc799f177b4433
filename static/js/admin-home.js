// The home page: sign in, then a link to each page the signed-in role uses.

import { ApiError, api, me } from "./api.js";
import { clear, el, showError } from "./admin-ui.js";

// Every page a role may use; a page this build does not have is left off (checked with a HEAD request).
const PAGES = [
  { path: "/register.html", title: "Register", text: "Today's sessions: mark who is here, see each window's countdown.",
    roles: ["tutor", "admin", "programme_manager", "events_team"] },
  { path: "/events.html", title: "Events board", text: "Every event today: expected, arrived, late, missing; the call list.",
    roles: ["events_team", "admin", "programme_manager"] },
  { path: "/safeguarding.html", title: "Safeguarding", text: "The live alert feed: acknowledge, decide, record actions.",
    roles: ["dsl", "admin"] },
  { path: "/programme.html", title: "Programme reports", text: "Completion and at-risk lists, weekly attendance, CSV.",
    roles: ["admin", "programme_manager", "dsl", "events_team"] },
  { path: "/audit.html", title: "Audit log", text: "Who changed which mark, contact or alert, and when.",
    roles: ["admin", "dsl"] },
  { path: "/deadlines.html", title: "Deadlines", text: "What the watcher will check next, and what it has fired.",
    roles: ["admin", "programme_manager"] },
  { path: "/admin.html", title: "Admin", text: "Programmes and policies, sessions, people and contacts, imports, staff.",
    roles: ["admin", "programme_manager"] },
];

/** Where to go after signing in: only a path on this site. */
function nextPath() {
  const next = new URLSearchParams(window.location.search).get("next") || "";
  return next.startsWith("/") && !next.startsWith("//") && !next.includes("\\") ? next : "";
}

async function exists(path) {
  try {
    const response = await fetch(path, { method: "HEAD", cache: "no-store" });
    return response.ok;
  } catch {
    return false;
  }
}

async function showHome(user) {
  document.getElementById("signin").hidden = true;
  document.getElementById("greeting").textContent = `Hello, ${user.name}`;
  document.getElementById("role-line").textContent = `Signed in as ${user.role.replaceAll("_", " ")}.`;
  const mine = PAGES.filter((p) => p.roles.includes(user.role));
  const present = await Promise.all(mine.map((p) => exists(p.path)));
  clear(document.getElementById("page-links"), mine.filter((_, i) => present[i]).map((p) => el("li", {},
    el("a", { class: "card", href: p.path }, el("span", { class: "card-title" }, p.title),
      el("span", { class: "muted" }, p.text)))));
  document.getElementById("sign-out").hidden = false;
  document.getElementById("home").hidden = false;
}

async function signIn(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const response = await fetch("/api/auth/sign-in", {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: form.email.value.trim(), password: form.password.value }),
    }).catch(() => null);
    const data = response ? await response.json().catch(() => null) : null;
    if (!response || !response.ok) {
      const error = data?.error || { message: "No connection to the server." };
      showError(form, { field: error.field, message: error.message });
      form.password.select();
      return;
    }
    const next = nextPath();
    if (next) {
      window.location.assign(next);
      return;
    }
    await showHome(await me(true));
  } finally {
    button.disabled = false;
  }
}

async function start() {
  document.getElementById("signin-form").addEventListener("submit", signIn);
  document.getElementById("sign-out").addEventListener("click", async () => {
    try {
      await api.post("/api/auth/sign-out", {});
    } finally {
      window.location.replace("/");
    }
  });
  try {
    const user = await me();
    const next = nextPath();
    if (next) {
      window.location.replace(next);
      return;
    }
    await showHome(user);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    document.getElementById("signin").hidden = false;
    document.getElementById("email").focus();
  } finally {
    document.getElementById("loading").hidden = true;
  }
}

start();
