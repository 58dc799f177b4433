// The programme page: everyone's completion status with the at-risk list first, the weekly attendance
// chart, punctuality beside attendance, and a CSV export for every number shown.

import { api } from "./api.js";
import { csvLink, day, el, num, param, pct, showError, statusChip, table } from "./report-ui.js";
import { targetOf, weeklyChart } from "./weekly-chart.js";

const $ = (id) => document.getElementById(id);

function personLink(p, programmeId) {
  return el("a", { href: `/participant.html?id=${p.person_id}&programme=${programmeId}` }, p.name);
}

function peopleTable(people, programmeId, id) {
  return table(
    ["Participant", "Status", "Attendance", "Live", "Completed", "Best possible", "Late arrivals",
     "Avg minutes late", "Escalation"],
    people.map((p) => [
      personLink(p, programmeId), statusChip(p.status), pct(p.attendance_percent), pct(p.live_percent),
      pct(p.percent), pct(p.best_percent), num(p.late_arrivals), num(p.average_minutes_late),
      p.escalation_stage ? p.escalation_stage.replaceAll("_", " ") : "–",
    ]), { id });
}

function riskList(people, programmeId) {
  if (!people.length) return el("p", { class: "empty" }, "Nobody is at risk.");
  return el("ul", { class: "risk-list", id: "risk-list" }, people.map((p) => el("li", { "data-status": p.status },
    statusChip(p.status), " ", personLink(p, programmeId),
    el("ul", { class: "reasons" }, p.reasons.map((r) => el("li", {}, r))))));
}

function totals(t) {
  const tile = (label, value, key) => el("div", { class: "tile", "data-total": key },
    el("span", { class: "tile-value" }, value), el("span", { class: "tile-label" }, label));
  return [tile("Participants", num(t.people), "people"), tile("On track", num(t.on_track), "on_track"),
          tile("At risk", num(t.at_risk), "at_risk"), tile("Cannot complete", num(t.cannot_complete), "cannot"),
          tile("Attendance", pct(t.attendance_percent), "attendance"),
          tile("Avg minutes late", num(t.average_minutes_late), "late")];
}

async function choose() {
  const programmes = await api.get("/api/programmes");
  $("programmes").replaceChildren(...programmes.map((p) => el("li", {},
    el("a", { class: "card", href: `/programme.html?id=${p.id}` }, el("span", { class: "card-title" }, p.name)))));
  $("choose").hidden = false;
}

async function show(id) {
  const report = await api.get(`/api/programmes/${id}/report`);
  const base = `/api/programmes/${id}/exports`;
  document.title = `${report.programme.name} · checkin`;
  $("title").textContent = report.programme.name;
  $("totals").replaceChildren(...totals(report.totals));
  $("at-risk").replaceChildren(riskList(report.at_risk, id));
  $("risk-export").replaceChildren(csvLink(`${base}/summary.csv?at_risk=true`, "At-risk list"));
  $("chart").replaceChildren(weeklyChart(report.weekly, { target: targetOf(report.programme.requirements),
                                                          title: `Weekly attendance, ${report.programme.name}` }));
  $("weekly-table").replaceChildren(table(
    ["Week of", "Attendance", "Places", "Present", "Late arrivals", "Avg minutes late", "On time"],
    report.weekly.map((w) => [day(w.week), pct(w.percent), num(w.sessions), num(w.present), num(w.late_arrivals),
                              num(w.average_minutes_late), pct(w.on_time_percent)]), { id: "weekly-figures" }));
  $("weekly-export").replaceChildren(csvLink(`${base}/weekly.csv`, "Weekly figures"));
  $("everyone").replaceChildren(report.people.length ? peopleTable(report.people, id, "people")
    : el("p", { class: "empty" }, "Nobody is enrolled yet."));
  $("everyone-export").replaceChildren(csvLink(`${base}/summary.csv`, "Summary"),
                                       csvLink(`${base}/requirements.csv`, "Requirements"),
                                       csvLink(`${base}/marks.csv`, "Marks"));
  $("report").hidden = false;
}

async function main() {
  try {
    const id = param("id");
    if (id === null) await choose();
    else await show(id);
  } catch (error) {
    showError($("banner"), error);
  } finally {
    $("loading").hidden = true;
  }
}

main();
