// The printable poster: /poster.html?session=ID[&day=YYYY-MM-DD][&direction=out].
// One longer-lived code for a place without a screen, with its validity printed on it.

import { api, ApiError } from "./api.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const sessionId = Number.parseInt(params.get("session") || "", 10);
const direction = params.get("direction") === "out" ? "out" : "in";

function format(iso, timeZone, options) {
  try {
    return new Intl.DateTimeFormat("en-GB", { ...options, timeZone }).format(new Date(iso));
  } catch {
    return new Intl.DateTimeFormat("en-GB", options).format(new Date(iso));
  }
}

function banner(text) {
  $("banner").textContent = text;
  $("banner").hidden = !text;
}

async function load() {
  const chosen = params.get("day");
  const query = new URLSearchParams({ direction });
  if (chosen) query.set("day", chosen);
  let data;
  try {
    data = await api.get(`/api/sessions/${sessionId}/poster?${query}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      location.replace(`/?next=${encodeURIComponent(location.pathname + location.search)}`);
      return;
    }
    banner(error.message);
    return;
  }
  const s = data.session;
  const zone = s.timezone;
  const clock = { hour: "2-digit", minute: "2-digit" };
  const date = { day: "numeric", month: "long", year: "numeric" };
  const day = (iso) => `${format(iso, zone, { weekday: "long" })} ${format(iso, zone, date)}`;
  const until = format(data.code.valid_until, zone, clock);
  document.title = `${s.title} · check-in poster`;
  $("title").textContent = s.title;
  $("when").textContent = [day(s.starts_at), s.location].filter(Boolean).join(" · ");
  $("qr").src = data.image;
  $("qr").hidden = false;
  $("instructions").hidden = false;
  if (direction === "out") $("instructions").textContent = "Leaving? Scan with your phone's camera to check out";
  $("validity").textContent = `Valid on ${day(data.code.valid_from)} from ${format(data.code.valid_from, zone, clock)}`
    + ` to ${until === "00:00" ? "midnight" : until} only`;
  $("validity").hidden = false;
  $("note").hidden = false;
  $("day").value = data.code.day;
  banner("");
}

function start() {
  $("print").addEventListener("click", () => window.print());
  $("day").addEventListener("change", () => {
    const url = new URL(location.href);
    url.searchParams.set("day", $("day").value);
    location.assign(url);
  });
  if (!Number.isSafeInteger(sessionId) || sessionId < 1) {
    $("title").textContent = "Check-in poster";
    banner("Open this page from a session (the link needs ?session=…).");
    return;
  }
  load();
}

start();
