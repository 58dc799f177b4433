// A reconnecting WebSocket on an org feed (/ws/alerts, /ws/events): snapshot, numbered deltas, resume with since.

const RESYNC = 4009;
const FATAL = new Set([4001, 4003]);

export class OrgFeed {
  /**
   * @param {string} path  the socket path, e.g. "/ws/alerts"
   * @param {(message: object) => void} onMessage  every snapshot, delta, "counts" and "resumed" message
   * @param {(state: string) => void} onState  "connecting" | "live" | "reconnecting" | "signed_out" | "forbidden"
   */
  constructor(path, onMessage, onState) {
    this.path = path;
    this.onMessage = onMessage;
    this.onState = onState;
    this.seq = null;
    this.retry = 500;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    if (this.ws) this.ws.close();
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const since = this.seq === null ? "" : `?since=${this.seq}`;
    this.onState(this.seq === null ? "connecting" : "reconnecting");
    const ws = new WebSocket(`${scheme}://${location.host}${this.path}${since}`);
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.retry = 500;
      this.onState("live");
    });
    ws.addEventListener("message", (e) => {
      const message = JSON.parse(e.data);
      if (typeof message.seq === "number" && message.type !== "counts") this.seq = message.seq;
      this.onMessage(message);
    });
    ws.addEventListener("close", (e) => {
      if (this.ws !== ws || this.stopped) return;
      if (FATAL.has(e.code)) {
        this.onState(e.code === 4001 ? "signed_out" : "forbidden");
        return;
      }
      if (e.code === RESYNC) this.seq = null;
      this.onState("reconnecting");
      setTimeout(() => this.connect(), this.retry);
      this.retry = Math.min(this.retry * 2, 10000);
    });
  }
}

/** The live chip's words for each state. */
export const STATE_WORDS = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  signed_out: "Signed out",
  forbidden: "Not allowed",
};
