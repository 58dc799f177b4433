// Small DOM helpers shared by the programme and participant pages (no library, no inline styles).

export const STATUS_LABELS = { on_track: "On track", at_risk: "At risk", cannot_complete: "Cannot complete" };

/** An element with attributes (class, data-*, href, ...) and children (strings become text). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** "81.8%" or "–" when there is nothing to divide yet. */
export function pct(value) {
  return value === null || value === undefined ? "–" : `${Number(value).toFixed(1).replace(/\.0$/, "")}%`;
}

export function num(value) {
  return value === null || value === undefined ? "–" : String(value);
}

/** A status shown by colour and words. */
export function statusChip(status) {
  return el("span", { class: "status", "data-status": status }, STATUS_LABELS[status] || status);
}

/** "Mon 2 Mar 2026, 09:00" in the browser's zone (the organisation's, on staff devices). */
export function when(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return d.toLocaleString("en-GB", { weekday: "short", day: "numeric", month: "short", year: "numeric",
                                     hour: "2-digit", minute: "2-digit" });
}

export function day(iso) {
  if (!iso) return "–";
  return new Date(`${iso}T12:00:00Z`).toLocaleDateString("en-GB", { day: "numeric", month: "short" });
}

/** A download link to a CSV export. */
export function csvLink(href, label) {
  return el("a", { class: "btn csv", href, download: "", "data-export": label }, `${label} (CSV)`);
}

/** A table from headers and rows of cells (strings or nodes). */
export function table(headers, rows, attrs = {}) {
  return el("table", { class: "report-table", ...attrs },
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => el("td", {}, c))))));
}

/** Shows a problem in the page's banner; a 401 points to the sign-in page. */
export function showError(banner, error) {
  banner.replaceChildren(error.status === 401
    ? el("span", {}, "Sign in first: ", el("a", { href: "/" }, "go to the sign-in page"), ".")
    : `${error.message || "Something went wrong."}`);
  banner.hidden = false;
}

export function param(name) {
  const value = new URLSearchParams(location.search).get(name);
  return value && /^\d+$/.test(value) ? Number(value) : null;
}
