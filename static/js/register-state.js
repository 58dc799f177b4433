// One register's state: the server's current marks plus this tablet's marks still waiting to sync.
// Marks converge by the server's rule: the greatest (effective_at, history_id) is current, so
// applying a mark from a POST answer, a live delta or a snapshot in any order ends the same.

/** True when server mark `a` beats `b` (effective_at strings are UTC with microseconds, so they sort). */
export function beats(a, b) {
  if (!b) return true;
  if (!a) return false;
  if (a.effective_at !== b.effective_at) return a.effective_at > b.effective_at;
  return a.history_id > b.history_id;
}

export const STATUS_LABELS = {
  present: "Present",
  late: "Late",
  left_early: "Left early",
  absent_authorised: "Absent (authorised)",
  absent_unauthorised: "Absent",
  no_contact: "No contact",
  catch_up: "Catch-up",
  not_possible: "Not expected",
};

export class RegisterState {
  constructor(snapshot) {
    this.pending = new Map(); // nonce -> queued mark
    this.load(snapshot);
  }

  /** Replaces the server side with a snapshot; pending marks stay on top of it. */
  load(snapshot) {
    this.session = snapshot.session;
    this.windows = snapshot.windows;
    this.codeSet = snapshot.code_set;
    this.reasons = snapshot.reasons || [];
    this.me = snapshot.me;
    this.seq = snapshot.seq;
    this.registerClosesAt = snapshot.register_closes_at;
    this.skewMs = snapshot.now ? Date.parse(snapshot.now) - Date.now() : 0;
    this.people = new Map(snapshot.people.map((p) => [p.person_id, { ...p }]));
  }

  /** Applies a server mark if it beats the one held; returns whether anything changed. */
  applyMark(mark) {
    const person = mark && this.people.get(mark.person_id);
    if (!person || !beats(mark, person.mark)) return false;
    person.mark = mark;
    return true;
  }

  /** The latest mark this tablet made for the person that has not reached the server yet. */
  pendingFor(personId) {
    let latest = null;
    for (const item of this.pending.values()) {
      if (item.person_id === personId && (!latest || item.client_time >= latest.client_time)) latest = item;
    }
    return latest;
  }

  /** What the row shows: a pending mark over the server's, flagged as pending. */
  shown(personId) {
    const pending = this.pendingFor(personId);
    if (pending) return { ...pending, pending: true };
    const person = this.people.get(personId);
    return person && person.mark ? { ...person.mark, pending: false } : null;
  }

  unmarked() {
    return [...this.people.values()].filter((p) => !this.shown(p.person_id));
  }

  get completed() {
    return Boolean(this.session.register_completed_at);
  }

  codeLabel(code) {
    const found = (this.codeSet.codes || []).find((c) => c.code === code);
    return found ? found.label : "";
  }

  /** Codes a person can be marked absent with (everything not counted as present). */
  absenceCodes() {
    return (this.codeSet.codes || []).filter((c) => c.category !== "present");
  }
}
