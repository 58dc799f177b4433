// The live connection for one register: numbered deltas, gap detection, resume with ?since=N.
//
// Close codes: 4001 signed out and 4003/4004 forbidden (no retry), 4009 resync (reconnect
// without since, i.e. take a fresh snapshot); anything else reconnects with since after a backoff.

const PING_EVERY_MS = 15000;
const PONG_WITHIN_MS = 8000;
const FINAL = new Set([4001, 4003, 4004]);

export class LiveRegister {
  /**
   * handlers: onSnapshot(data, seq), onDelta(message), onState(state) where state is
   * "connecting" | "live" | "reconnecting" | "offline" | "signed_out" | "forbidden".
   */
  constructor(sessionId, seq, handlers) {
    this.sessionId = sessionId;
    this.seq = seq;
    this.handlers = handlers;
    this.ws = null;
    this.retries = 0;
    this.stopped = false;
    this.timer = null;
    this.pinger = null;
    this.lastPong = 0;
    this.onOnline = () => this.reconnectNow();
    window.addEventListener("online", this.onOnline);
  }

  url() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const since = this.seq === null || this.seq === undefined ? "" : `?since=${this.seq}`;
    return `${proto}//${location.host}/ws/sessions/${this.sessionId}${since}`;
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.handlers.onState(this.retries ? "reconnecting" : "connecting");
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onopen = () => {
      this.retries = 0;
      this.lastPong = Date.now();
      this.handlers.onState("live");
      this.startPinging(ws);
    };
    ws.onmessage = (event) => this.receive(ws, JSON.parse(event.data));
    ws.onclose = (event) => this.closed(ws, event.code);
  }

  receive(ws, message) {
    if (ws !== this.ws) return;
    switch (message.type) {
      case "snapshot":
        this.seq = message.seq;
        this.handlers.onSnapshot(message.data, message.seq);
        return;
      case "resumed":
      case "pong":
        this.lastPong = Date.now();
        return;
      default:
        break;
    }
    if (message.seq <= this.seq) return; // already applied
    if (message.seq > this.seq + 1) {
      ws.close(4000, "gap"); // missed a number: resume from the last one seen
      return;
    }
    this.seq = message.seq;
    this.handlers.onDelta(message);
  }

  closed(ws, code) {
    if (ws !== this.ws) return;
    clearInterval(this.pinger);
    this.ws = null;
    if (this.stopped) return;
    if (FINAL.has(code)) {
      this.stopped = true;
      this.handlers.onState(code === 4001 ? "signed_out" : "forbidden");
      return;
    }
    if (code === 4009) this.seq = null; // fell behind: start again from a snapshot
    this.handlers.onState(navigator.onLine ? "reconnecting" : "offline");
    const delay = code === 4000 || code === 4009 ? 0 : Math.min(10000, 500 * 2 ** this.retries);
    this.retries += 1;
    this.timer = setTimeout(() => this.connect(), delay);
  }

  startPinging(ws) {
    clearInterval(this.pinger);
    this.pinger = setInterval(() => {
      if (ws !== this.ws || ws.readyState !== WebSocket.OPEN) return;
      if (Date.now() - this.lastPong > PING_EVERY_MS + PONG_WITHIN_MS) {
        ws.close(4000, "no pong"); // a dead link that never said so
        return;
      }
      ws.send(JSON.stringify({ type: "ping" }));
    }, PING_EVERY_MS);
  }

  reconnectNow() {
    if (this.stopped) return;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) return;
    this.retries = Math.max(this.retries, 1);
    this.connect();
  }

  get isLive() {
    return Boolean(this.ws && this.ws.readyState === WebSocket.OPEN);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    window.removeEventListener("online", this.onOnline);
    if (this.ws) this.ws.close(1000, "leaving");
    this.ws = null;
  }
}
