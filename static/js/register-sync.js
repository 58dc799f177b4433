// Sending marks: every mark is queued in IndexedDB first, then posted; whatever the network does,
// it is resent with the same nonce (so it records once) and its original client_time until the
// server answers. A refusal (4xx) leaves the queue; no answer or a 5xx keeps it for the next try.

import { api } from "./api.js";
import { OfflineQueue } from "./offline-queue.js";

const RETRY_MS = 5000;

export function newNonce() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export function deviceName() {
  let name = localStorage.getItem("checkin-device");
  if (!name) {
    name = `tablet-${newNonce().slice(0, 6)}`;
    localStorage.setItem("checkin-device", name);
  }
  return name;
}

function payload(item) {
  const body = { person_id: item.person_id, status: item.status, client_time: item.client_time, nonce: item.nonce,
                 device: item.device, reason: item.reason || "", note: item.note || "" };
  for (const key of ["code", "arrived_at", "departed_at"]) if (item[key]) body[key] = item[key];
  return body;
}

export class MarkSync {
  /**
   * handlers: onSent(item, result), onQueued(item), onRefused(item, error), onCount(n).
   * `onSent` gets result.changed === false when a newer mark kept its place.
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.queue = new OfflineQueue();
    this.device = deviceName();
    this.flushing = null;
    setInterval(() => this.flush(), RETRY_MS);
    window.addEventListener("online", () => this.flush());
  }

  /** Records a mark made now (or at `madeAt`): queued durably, then sent if the network allows. */
  async mark(sessionId, fields, madeAt = null) {
    const item = { ...fields, session_id: sessionId, nonce: newNonce(),
                   client_time: madeAt || new Date().toISOString(), device: this.device, queued_at: Date.now(),
                   offline: false };
    await this.queue.put(item);
    this.handlers.onQueued(item);
    if (navigator.onLine) await this.deliver(item);
    else await this.stillQueued(item);
    return item;
  }

  async stillQueued(item) {
    if (!item.offline) {
      item.offline = true; // it missed the network once: its result is reported as a sync
      await this.queue.put(item);
    }
    this.handlers.onCount(await this.queue.count());
  }

  /** One attempt: "sent", "queued" (no answer) or "refused". */
  async deliver(item) {
    let result;
    try {
      result = await api.post(`/api/sessions/${item.session_id}/marks`, payload(item));
    } catch (error) {
      if (error.offline || error.status >= 500 || error.status === 429) {
        await this.stillQueued(item);
        return "queued";
      }
      await this.queue.remove(item.nonce);
      this.handlers.onRefused(item, error);
      this.handlers.onCount(await this.queue.count());
      return "refused";
    }
    await this.queue.remove(item.nonce);
    this.handlers.onSent(item, result);
    this.handlers.onCount(await this.queue.count());
    return "sent";
  }

  /** Sends every queued mark, oldest first, stopping at the first that gets no answer. */
  flush() {
    if (!this.flushing) {
      this.flushing = (async () => {
        for (const item of await this.queue.all()) {
          if ((await this.deliver(item)) === "queued") break;
        }
      })().finally(() => {
        this.flushing = null;
      });
    }
    return this.flushing;
  }

  pending(sessionId) {
    return this.queue.all(sessionId);
  }
}
