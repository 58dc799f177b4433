// Countdowns to each window of the session ("AP report due in 07:12"), urgent as each nears.

const URGENT_MS = 5 * 60 * 1000;
const SOON_MS = 15 * 60 * 1000;

/** "07:12" under an hour, "1:07:12" above. */
export function clock(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
}

export function urgency(ms) {
  if (ms <= 0) return "passed";
  if (ms <= URGENT_MS) return "urgent";
  if (ms <= SOON_MS) return "soon";
  return "calm";
}

/**
 * Redraws `list` every second from `source()` -> {windows, skewMs, timeLabel}; the skew
 * corrects a tablet clock that disagrees with the server's. Returns a stop function.
 */
export function startCountdowns(list, source) {
  const items = new Map();
  function draw() {
    const { windows, skewMs, timeLabel } = source();
    const now = Date.now() + (skewMs || 0);
    const keys = new Set();
    let added = false;
    for (const w of windows) {
      const key = `${w.rule_id}|${w.due_at}`;
      keys.add(key);
      let li = items.get(key);
      if (!li) {
        li = document.createElement("li");
        li.className = "countdown";
        li.dataset.rule = w.rule_id;
        items.set(key, li);
        added = true;
      }
      const left = Date.parse(w.due_at) - now;
      const state = urgency(left);
      li.dataset.urgency = state;
      li.textContent = state === "passed"
        ? `${w.label}: passed at ${timeLabel(w.due_at)}`
        : `${w.label} in ${clock(left)}`;
    }
    for (const key of [...items.keys()]) {
      if (!keys.has(key)) {
        items.get(key).remove();
        items.delete(key);
      }
    }
    if (added) list.replaceChildren(...windows.map((w) => items.get(`${w.rule_id}|${w.due_at}`)));
  }
  draw();
  const timer = setInterval(draw, 1000);
  return () => {
    clearInterval(timer);
    list.replaceChildren();
  };
}
