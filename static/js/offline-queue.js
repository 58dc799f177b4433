// Marks waiting for the network, kept in IndexedDB so a reload or a crash loses none of them.
// Each item keeps its nonce (so a resend records once) and the time it was made (client_time).

const DB_NAME = "checkin-offline";
const STORE = "marks";

function promised(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function openDb() {
  const request = indexedDB.open(DB_NAME, 1);
  request.onupgradeneeded = () => {
    const store = request.result.createObjectStore(STORE, { keyPath: "nonce" });
    store.createIndex("session_id", "session_id");
  };
  return promised(request);
}

export class OfflineQueue {
  constructor() {
    this.db = openDb();
  }

  async store(mode) {
    const db = await this.db;
    return db.transaction(STORE, mode).objectStore(STORE);
  }

  /** Adds (or replaces) one queued mark; resolves once IndexedDB holds it. */
  async put(item) {
    const store = await this.store("readwrite");
    await promised(store.put(item));
    return item;
  }

  async remove(nonce) {
    const store = await this.store("readwrite");
    await promised(store.delete(nonce));
  }

  /** Queued marks, oldest first; only one session's when `sessionId` is given. */
  async all(sessionId = null) {
    const store = await this.store("readonly");
    const items = sessionId === null
      ? await promised(store.getAll())
      : await promised(store.index("session_id").getAll(sessionId));
    return items.sort((a, b) => a.queued_at - b.queued_at);
  }

  async count(sessionId = null) {
    return (await this.all(sessionId)).length;
  }
}
