// The participant page: per programme the timeline of sessions and marks, percentages, completion status,
// notices, catch-ups and the staged escalation (PSW-ESCALATE), each number exportable as CSV.

import { api, me } from "./api.js";
import { csvLink, day, el, num, param, pct, showError, statusChip, table, when } from "./report-ui.js";
import { targetOf, weeklyChart } from "./weekly-chart.js";

const $ = (id) => document.getElementById(id);
const personId = param("id");
const only = param("programme");
const MANAGERS = new Set(["admin", "programme_manager"]);
let canEscalate = false;

function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.hidden = false;
  setTimeout(() => { t.hidden = true; }, 4000);
}

function tiles(s) {
  const tile = (label, value) => el("div", { class: "tile" }, el("span", { class: "tile-value" }, value),
                                    el("span", { class: "tile-label" }, label));
  return el("div", { class: "totals" }, tile("Completed", pct(s.percent)), tile("Live", pct(s.live_percent)),
            tile("Attendance", pct(s.attendance_percent)), tile("Best possible", pct(s.best_percent)),
            tile("Late arrivals", num(s.late_arrivals)), tile("Avg minutes late", num(s.average_minutes_late)));
}

function markText(m) {
  if (!m) return "–";
  return el("span", {}, el("span", { class: "tag tag-code" }, m.code), " ", m.label);
}

function noticeText(n) {
  if (!n) return "–";
  const late = n.after_start ? ` (${n.minutes_after_start} min after the start)` : "";
  const effect = n.effect ? ` — ${n.effect.replaceAll("_", " ")}` : "";
  return `${n.reason}${n.accepted ? "" : " (not accepted)"}${late}${effect}`;
}

function timeline(items) {
  return table(["When", "Session", "Element", "Mark", "Minutes late", "Missed", "Notice", "Catch-up", "Counts as"],
    items.map((t) => [
      when(t.session.starts_at),
      t.session.status === "scheduled" ? t.session.title
        : `${t.session.title} (${t.session.status.replaceAll("_", " ")})`,
      t.session.element, markText(t.mark), t.mark ? num(t.mark.minutes_late) : "–",
      t.share_missed_percent ? pct(t.share_missed_percent) : "–", noticeText(t.notice), t.catch_up || "–",
      el("span", {}, el("span", { class: "outcome", "data-outcome": t.outcome }, t.outcome.replaceAll("_", " ")),
         t.catch_up_required ? el("span", { class: "needs" }, "catch-up needed") : null),
    ]), { class: "report-table timeline" });
}

function requirements(completion) {
  return table(["Requirement", "Status", "Now", "Needed", "Best possible", "Why"],
    completion.requirements.map((r) => {
      const unit = r.unit === "percent" ? pct : num;
      return [r.key, statusChip(r.status), unit(r.current), unit(r.target), unit(r.best), r.reason];
    }));
}

function escalation(view, programmeId, refresh) {
  const done = new Set(view.history.map((h) => h.stage));
  const ladder = el("ol", { class: "ladder" }, view.stages.map((s) => el("li", {
    "data-done": done.has(s.id) || null, "data-current": view.current === s.id || null },
    el("strong", {}, s.label), " — ", s.who, " ", el("span", { class: "muted" }, `(${s.clause})`))));
  const history = view.history.length ? table(["Stage", "When", "Who", "Note"],
    view.history.map((h) => [h.label, when(h.at), h.recorded_by_name || "–", h.note || "–"]))
    : el("p", { class: "muted" }, "No escalation recorded.");
  const select = el("select", { name: "stage", id: `stage-${programmeId}` },
    view.next.map((s) => el("option", { value: s.id }, s.label)));
  const note = el("textarea", { name: "note", id: `note-${programmeId}`, maxlength: "2000" });
  const form = el("form", { class: "stage-form", "data-programme": programmeId },
    el("label", { class: "field" }, "Record the next stage", select),
    el("label", { class: "field" }, "Note (who was contacted, what was agreed or decided)", note),
    el("button", { class: "btn btn-primary", type: "submit" }, "Record stage"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api.post(`/api/people/${personId}/escalations`,
                     { programme_id: programmeId, stage: select.value, note: note.value });
      toast("Stage recorded.");
      await refresh();
    } catch (error) {
      showError($("banner"), error);
    }
  });
  form.hidden = !canEscalate || !view.next.length;
  return [ladder, history, form];
}

function programmeSection(p, refresh) {
  const id = p.programme.id;
  const base = `/api/programmes/${id}/exports`;
  const mine = `person_id=${personId}`;
  const section = el("section", { class: "stack", "data-programme": id, "aria-label": p.programme.name },
    el("div", { class: "panel-head" }, el("h2", {}, p.programme.name), statusChip(p.completion.status),
       p.enrolment_status !== "active" ? el("span", { class: "tag" }, p.enrolment_status.replaceAll("_", " ")) : null),
    tiles(p.summary),
    el("section", { class: "panel" }, el("div", { class: "panel-head" }, el("h3", {}, "Completion"),
       el("span", { class: "exports" }, csvLink(`${base}/requirements.csv?${mine}`, "Requirements"),
          csvLink(`${base}/summary.csv`, "Summary"))),
       requirements(p.completion)),
    el("section", { class: "panel" }, el("div", { class: "panel-head" }, el("h3", {}, "Weekly attendance"),
       el("span", { class: "exports" }, csvLink(`${base}/weekly.csv?${mine}`, "Weekly figures"))),
       el("figure", { class: "chart" }, weeklyChart(p.weekly, {
         target: targetOf(p.completion.requirements.map((r) => r.requirement)),
         title: `Weekly attendance, ${p.programme.name}` })),
       table(["Week of", "Attendance", "Late arrivals", "Avg minutes late"],
             p.weekly.map((w) => [day(w.week), pct(w.percent), num(w.late_arrivals), num(w.average_minutes_late)]))),
    el("section", { class: "panel" }, el("div", { class: "panel-head" }, el("h3", {}, "Sessions and marks"),
       el("span", { class: "exports" }, csvLink(`${base}/marks.csv?${mine}`, "Marks"))),
       timeline(p.timeline)),
    el("section", { class: "panel" }, el("h3", {}, "Notices"), p.notices.length
      ? table(["Session", "Reason", "Given by", "Received", "Accepted"], p.notices.map((n) => [
        n.session_title, noticeText(n), n.given_by || "–", when(n.received_at), n.accepted ? "Yes" : "No"]))
      : el("p", { class: "muted" }, "No notices.")),
    el("section", { class: "panel" }, el("h3", {}, "Catch-ups"), p.catch_ups.length
      ? table(["Session", "How", "Form completed", "Confirmed"], p.catch_ups.map((c) => [
        c.session_title, c.kind === "alternative" ? `Alternative: ${c.alternative_title}` : "Materials",
        when(c.form_completed_at), c.confirmed ? `Yes${c.confirmed_by_name ? `, by ${c.confirmed_by_name}` : ""}`
          : "Not yet"]))
      : el("p", { class: "muted" }, "No catch-ups recorded.")),
    el("section", { class: "panel", id: `escalation-${id}` }, el("h3", {}, "Escalation"),
       ...escalation(p.escalation, id, refresh)));
  return section;
}

async function load() {
  const query = only ? `?programme_id=${only}` : "";
  const report = await api.get(`/api/people/${personId}/report${query}`);
  document.title = `${report.person.name} · checkin`;
  $("title").textContent = report.person.name;
  $("who").textContent = [report.person.school, report.person.employer, report.person.email].filter(Boolean)
    .join(" · ");
  $("who").hidden = false;
  if (only) $("back").setAttribute("href", `/programme.html?id=${only}`);
  $("programmes").replaceChildren(...(report.programmes.length
    ? report.programmes.map((p) => programmeSection(p, load))
    : [el("p", { class: "empty" }, "Not enrolled on any programme.")]));
}

async function main() {
  try {
    if (personId === null) throw new Error("Open this page from a programme's list of participants.");
    canEscalate = MANAGERS.has((await me()).role);
    await load();
  } catch (error) {
    showError($("banner"), error);
  } finally {
    $("loading").hidden = true;
  }
}

main();
