// The weekly attendance chart as SVG built here: one bar per week, its percentage on top, a guide line
// at the programme's target, and the average minutes late under each week (punctuality beside attendance).

const SVG = "http://www.w3.org/2000/svg";
const W = 720;
const H = 300;
const PAD = { top: 28, right: 16, bottom: 64, left: 48 };

function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

function label(week) {
  return new Date(`${week}T12:00:00Z`).toLocaleDateString("en-GB", { day: "numeric", month: "short" });
}

function fmt(value) {
  return `${Number(value).toFixed(1).replace(/\.0$/, "")}%`;
}

/**
 * An <svg> chart of `weeks` ([{week, percent, sessions, average_minutes_late, late_arrivals}]).
 * `target` (a percentage or null) draws a dashed guide line.
 */
export function weeklyChart(weeks, { target = null, title = "Weekly attendance" } = {}) {
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "weekly-chart", role: "img",
                            "aria-labelledby": "chart-title chart-desc" });
  root.append(svg("title", { id: "chart-title" }, title));
  const summary = weeks.map((w) => `week of ${label(w.week)}: ${fmt(w.percent)}`).join("; ");
  root.append(svg("desc", { id: "chart-desc" }, summary || "No weeks with marks yet."));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const y = (p) => PAD.top + plotH * (1 - p / 100);
  for (const tick of [0, 25, 50, 75, 100]) {
    root.append(svg("line", { class: "grid", x1: PAD.left, x2: W - PAD.right, y1: y(tick), y2: y(tick) }));
    root.append(svg("text", { class: "axis", x: PAD.left - 8, y: y(tick) + 5, "text-anchor": "end" }, `${tick}%`));
  }
  if (!weeks.length) {
    root.append(svg("text", { class: "axis", x: W / 2, y: H / 2, "text-anchor": "middle" }, "No weeks with marks yet"));
    return root;
  }
  const step = plotW / weeks.length;
  const barW = Math.min(56, step * 0.6);
  weeks.forEach((w, i) => {
    const x = PAD.left + step * i + (step - barW) / 2;
    const top = y(w.percent);
    const band = target !== null && w.percent < target ? "below" : "ok";
    const bar = svg("rect", { class: "bar", "data-band": band, "data-week": w.week, x, y: top, width: barW,
                              height: Math.max(0, PAD.top + plotH - top) });
    bar.append(svg("title", {}, `Week of ${label(w.week)}: ${fmt(w.percent)} of ${w.sessions} session places`));
    root.append(bar);
    root.append(svg("text", { class: "value", x: x + barW / 2, y: top - 6, "text-anchor": "middle" }, fmt(w.percent)));
    root.append(svg("text", { class: "axis", x: x + barW / 2, y: H - PAD.bottom + 20, "text-anchor": "middle" },
                    label(w.week)));
    const late = w.average_minutes_late === null || w.average_minutes_late === undefined
      ? "on time" : `${w.average_minutes_late} min late`;
    root.append(svg("text", { class: "late", x: x + barW / 2, y: H - PAD.bottom + 42, "text-anchor": "middle" },
                    late));
  });
  if (target !== null) {
    root.append(svg("line", { class: "target", x1: PAD.left, x2: W - PAD.right, y1: y(target), y2: y(target) }));
    root.append(svg("text", { class: "target-label", x: W - PAD.right, y: y(target) - 6, "text-anchor": "end" },
                    `target ${fmt(target)}`));
  }
  return root;
}

/** The attendance target a programme's requirements name, for the guide line (null when none does). */
export function targetOf(requirements) {
  for (const r of requirements || []) {
    if (r.type === "attendance_threshold" || r.type === "min_percent") return r.percent;
    if (r.type === "live_share") return r.min_live_percent;
  }
  return null;
}
