// The quick-action sheets: arrival and departure times, absence reason and code, notes, change reasons.
// Each returns a promise of the answer, or null when the tutor cancels.

import { el } from "./register-view.js";

const ATTENDING = new Set(["present", "late", "left_early"]);

function open(id, name, prepare) {
  const dialog = document.getElementById(id);
  const form = dialog.querySelector("form");
  form.reset();
  for (const span of dialog.querySelectorAll(".dialog-name")) span.textContent = name;
  prepare(form, dialog);
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "save" ? form : null), { once: true });
  });
}

function hhmm(date) {
  return `${String(date.getHours()).padStart(2, "0")}:${String(date.getMinutes()).padStart(2, "0")}`;
}

/**
 * The instant a "HH:MM" typed on this tablet means: that time nearest the session's start, on its day or
 * the day before or after (an evening session's 00:04 arrival is the next day's); this very minute means now.
 */
export function onSessionDay(sessionStartIso, value) {
  const [h, m] = value.split(":").map(Number);
  const start = new Date(sessionStartIso);
  let day = null;
  for (const shift of [-1, 0, 1]) {
    const candidate = new Date(start);
    candidate.setDate(candidate.getDate() + shift);
    candidate.setHours(h, m, 0, 0);
    if (day === null || Math.abs(candidate - start) < Math.abs(day - start)) day = candidate;
  }
  const now = new Date();
  return now - day >= 0 && now - day < 60000 ? now : day;
}

export async function askArrival(person, session) {
  const preview = document.getElementById("late-preview");
  const form = await open("late-dialog", person.name, (f) => {
    const input = f.elements.time;
    input.value = hhmm(new Date());
    const show = () => {
      if (!input.value) return;
      const late = Math.floor((onSessionDay(session.starts_at, input.value) - Date.parse(session.starts_at)) / 60000);
      preview.textContent = late > 0 ? `${late} minutes late` : "On time";
    };
    input.oninput = show;
    show();
  });
  return form ? onSessionDay(session.starts_at, form.elements.time.value).toISOString() : null;
}

export async function askDeparture(person, session) {
  const form = await open("left-dialog", person.name, (f) => {
    f.elements.time.value = hhmm(new Date());
  });
  return form ? onSessionDay(session.starts_at, form.elements.time.value).toISOString() : null;
}

/** {status, reason, code}: an accepted reason makes the absence authorised; a chosen code decides. */
export async function askAbsence(person, state, noticeText) {
  const reasons = state.reasons;
  const codes = state.absenceCodes().filter((c) => !ATTENDING.has(c.status));
  const form = await open("absent-dialog", person.name, (f, dialog) => {
    const notice = dialog.querySelector("#absent-notice");
    notice.hidden = !person.notice;
    notice.textContent = person.notice ? noticeText(person.notice) : "";
    const fieldset = dialog.querySelector("#absent-reasons");
    const picked = person.notice ? person.notice.reason : "";
    fieldset.replaceChildren(el("legend", {}, "Reason"),
      ...reasons.map((r, i) => el("label", { class: "choice" },
        el("input", { type: "radio", name: "reason", value: String(i), checked: r.reason === picked }),
        `${r.reason}${r.accepted ? "" : " (not accepted)"}`)),
      el("label", { class: "choice" },
        el("input", { type: "radio", name: "reason", value: "none",
                      checked: !reasons.some((r) => r.reason === picked) }),
        "No reason yet"));
    f.elements.code.replaceChildren(el("option", { value: "" }, "Automatic"),
      ...codes.map((c) => el("option", { value: c.code }, `${c.code} — ${c.label}`)));
  });
  if (!form) return null;
  const choice = form.elements.reason.value;
  const reason = choice === "none" || choice === "" ? null : reasons[Number(choice)];
  const code = form.elements.code.value || null;
  let status = reason && reason.accepted ? "absent_authorised" : "absent_unauthorised";
  if (code) status = codes.find((c) => c.code === code).status;
  return { status, reason: reason ? reason.reason : "", code };
}

export async function askNote(person, current) {
  const form = await open("note-dialog", person.name, (f) => {
    f.elements.note.value = current || "";
  });
  return form ? form.elements.note.value.trim() : null;
}

export async function askChangeReason(person) {
  const form = await open("reason-dialog", person.name, () => {});
  return form ? form.elements.reason.value.trim() : null;
}
