// The safeguarding dashboard: the live feed of open alerts, the case detail and its actions.

import { ApiError, api, me } from "./api.js";
import { playChime } from "./alert-sound.js";
import { OrgFeed, STATE_WORDS } from "./org-feed.js";

const RANK = { open: 0, acknowledged: 1, closed: 2 };
const SEVERITY = { safeguarding: 0, warning: 1, info: 2 };
const alerts = new Map();
let openId = null;
let unseen = 0;
let timezone = "Europe/London";

const $ = (id) => document.getElementById(id);

function toast(text) {
  const el = $("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 4000);
}

function fail(error) {
  const el = $("banner");
  el.textContent = error instanceof ApiError ? error.message : String(error);
  el.hidden = false;
}

function clock(iso) {
  return new Date(iso).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: timezone });
}

function day(iso) {
  return new Date(iso).toLocaleDateString("en-GB", { weekday: "short", day: "numeric", month: "short",
                                                     timeZone: timezone });
}

function shown(alert) {
  return alert.state !== "closed" && ($("all-severities").checked || alert.severity === "safeguarding");
}

function urgency(a, b) {
  return (RANK[a.state] - RANK[b.state]) || (SEVERITY[a.severity] - SEVERITY[b.severity])
    || (b.escalation_level - a.escalation_level) || a.created_at.localeCompare(b.created_at) || a.id - b.id;
}

function item(alert) {
  const li = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "alert-item";
  button.dataset.alertId = alert.id;
  button.dataset.severity = alert.severity;
  button.dataset.state = alert.state;
  if (alert.id === openId) button.setAttribute("aria-current", "true");
  if (alert.fresh) button.classList.add("fresh");
  const title = document.createElement("span");
  title.className = "alert-title";
  title.textContent = alert.title;
  const meta = document.createElement("span");
  meta.className = "alert-meta";
  const who = [alert.person_name, alert.session_title].filter(Boolean).join(" · ");
  meta.textContent = `${alert.rule_id} · raised ${day(alert.created_at)} ${clock(alert.created_at)}`
    + (who ? ` · ${who}` : "") + (alert.escalation_level ? ` · escalated ${alert.escalation_level}×` : "");
  const state = document.createElement("span");
  state.className = "state";
  state.textContent = alert.state;
  button.append(title, meta, state);
  button.addEventListener("click", () => open(alert.id));
  li.append(button);
  return li;
}

function renderFeed() {
  const visible = [...alerts.values()].filter(shown).sort(urgency);
  $("feed").replaceChildren(...visible.map(item));
  $("feed-empty").hidden = visible.length > 0;
}

function setBadge(count) {
  unseen = count;
  $("badge-count").textContent = String(count);
  $("badge").hidden = count === 0;
  document.title = (count ? `(${count}) ` : "") + "Safeguarding · checkin";
}

async function announce(alert) {
  alert.fresh = true;
  setBadge(unseen + 1);
  if (!(await playChime())) $("sound").hidden = false;
}

function upsert(alert, isNew) {
  const before = alerts.get(alert.id);
  alerts.set(alert.id, { ...alert, fresh: before ? before.fresh : false });
  if (isNew && !before && shown(alert)) announce(alerts.get(alert.id));
  renderFeed();
  if (alert.id === openId) open(openId, false);
}

function contactList(facts) {
  const contacts = facts.emergency_contacts || [];
  const box = $("detail-contacts");
  box.replaceChildren();
  if (!contacts.length) return;
  const h = document.createElement("h3");
  h.textContent = "Emergency contacts";
  const ul = document.createElement("ul");
  for (const c of contacts) {
    const li = document.createElement("li");
    const rel = [c.relationship, c.organisation].filter(Boolean).join(", ");
    li.append(`${c.name}${rel ? ` (${rel})` : ""}: `);
    if (c.phone) {
      const a = document.createElement("a");
      a.href = `tel:${c.phone.replace(/\s+/g, "")}`;
      a.textContent = c.phone;
      li.append(a);
    } else {
      li.append("no phone on record");
    }
    ul.append(li);
  }
  box.append(h, ul);
}

function renderDetail(d) {
  $("detail").hidden = false;
  $("detail").dataset.alertId = d.id;
  $("detail-title").textContent = d.title;
  $("detail-state").textContent = d.state;
  $("detail-state").dataset.state = d.state;
  const ack = d.acknowledged_at ? ` · acknowledged ${clock(d.acknowledged_at)}` : "";
  $("detail-meta").textContent = `${d.rule_id} · ${d.severity} · raised ${day(d.created_at)} `
    + `${clock(d.created_at)}${ack}${d.outcome ? ` · outcome: ${d.outcome}` : ""}`;
  $("detail-why").textContent = d.why;
  contactList(d.facts || {});
  $("ack").hidden = d.state !== "open";
  $("decision-form").hidden = d.state === "closed";
  $("close-form").hidden = d.state === "closed";
  $("timeline").replaceChildren(...d.timeline.map((e) => {
    const li = document.createElement("li");
    li.dataset.kind = e.kind;
    const t = document.createElement("time");
    t.dateTime = e.at;
    t.textContent = clock(e.at);
    li.append(t, e.text + (e.actor ? ` (${e.actor})` : ""));
    return li;
  }));
  $("deliveries").replaceChildren(...d.deliveries.map((x) => {
    const li = document.createElement("li");
    li.dataset.state = x.state;
    const error = x.last_error ? ` · ${x.last_error}` : "";
    li.textContent = `${x.channel} to ${x.recipient} (${x.recipient_kind.replace(/_/g, " ")}): ${x.state}, `
      + `${x.attempts} attempt${x.attempts === 1 ? "" : "s"}${error}`;
    return li;
  }));
}

async function open(id, focus = true) {
  openId = id;
  const alert = alerts.get(id);
  if (alert && alert.fresh) {
    alert.fresh = false;
    setBadge(Math.max(0, unseen - 1));
  }
  renderFeed();
  try {
    const detail = await api.get(`/api/alerts/${id}`);
    timezone = detail.timezone || timezone;
    if (openId === id) renderDetail(detail);
    if (focus) $("detail-title").focus?.();
    history.replaceState(null, "", `#alert-${id}`);
  } catch (error) {
    fail(error);
  }
}

async function act(path, body, done) {
  try {
    const alert = await api.post(path, body);
    upsert(alert, false);
    toast(done);
    return true;
  } catch (error) {
    fail(error);
    return false;
  }
}

function wire() {
  $("ack").addEventListener("click", () => act(`/api/alerts/${openId}/acknowledge`, {}, "Acknowledged."));
  $("decision-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (await act(`/api/alerts/${openId}/decisions`, { decision: $("decision").value }, "Decision recorded.")) {
      $("decision").value = "";
    }
  });
  $("close-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (await act(`/api/alerts/${openId}/close`, { outcome: $("outcome").value }, "Alert closed.")) {
      $("outcome").value = "";
    }
  });
  $("all-severities").addEventListener("change", renderFeed);
  $("badge").addEventListener("click", () => {
    const first = [...alerts.values()].filter((a) => a.fresh && shown(a)).sort(urgency)[0];
    if (first) open(first.id);
    else setBadge(0);
  });
  $("sound").addEventListener("click", async () => {
    $("sound").hidden = await playChime();
  });
}

function onMessage(message) {
  if (message.type === "snapshot") {
    alerts.clear();
    for (const a of message.data.alerts) alerts.set(a.id, { ...a, fresh: false });
    renderFeed();
  } else if (message.type === "alert") {
    upsert(message.data, true);
  } else if (message.type === "alert_update") {
    upsert(message.data, false);
  } else if ((message.type === "delivery" || message.type === "follow_up") && message.data.alert_id === openId) {
    open(openId, false);
  }
}

function onState(state) {
  $("live").dataset.state = state;
  $("live").textContent = STATE_WORDS[state] || state;
}

async function main() {
  wire();
  try {
    await me();
  } catch (error) {
    fail(error.status === 401 ? "Sign in to see safeguarding alerts." : error);
    onState("signed_out");
    return;
  }
  new OrgFeed("/ws/alerts", onMessage, onState).start();
  const hash = location.hash.match(/^#alert-(\d+)$/);
  if (hash) open(Number(hash[1]));
}

main();
