/**
 * A feed connection's heartbeat: notices a node (or the path to it) that went silent, and
 * measures the round trip now and then. Anything heard from the agent (a frame, its ping, our
 * pong) counts as alive, so ten thousand busy sessions send few pings of their own.
 */

/** What the heartbeat needs of a WebSocket (ws stays in session.ts, its one adapter here). */
export interface PingableSocket {
  readonly readyState: number;
  ping(): void;
  terminate(): void;
}

/** The WebSocket standard's OPEN ready state. */
const OPEN = 1;

/** Heartbeat ticks between two round-trip measurements on a connection that is never quiet. */
const RTT_EVERY_TICKS = 6;

export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;
  /** A ping went out on the last tick and nothing came back since. */
  private awaitingPong = false;
  /** Something arrived since the last tick. */
  private heard = false;
  /** Ticks since the connection opened. */
  private ticks = 0;
  private pingSentAt: number | null = null;
  private lastRtt: number | null = null;
  private readonly rttListeners = new Set<(rttMs: number) => void>();

  /** `onSilent`: nothing at all for a whole interval after a ping; the connection is given up. */
  constructor(
    private readonly intervalMs: number,
    private readonly onSilent: (reason: string) => void,
  ) {}

  /** The last round trip measured (a ping and its pong), in ms. */
  get rttMs(): number | null {
    return this.lastRtt;
  }

  onRtt(listener: (rttMs: number) => void): () => void {
    this.rttListeners.add(listener);
    return () => {
      this.rttListeners.delete(listener);
    };
  }

  /** A connection opened: measure its round trip at once, then tick. */
  start(ws: PingableSocket): void {
    this.stop();
    this.awaitingPong = false;
    this.heard = false;
    this.ticks = 0;
    this.timer = setInterval(() => {
      if (this.awaitingPong) {
        this.onSilent(`no answer for ${this.intervalMs} ms`);
        ws.terminate();
        return;
      }
      // Frames (or the agent's own pings) arrived meanwhile: the node is there, no ping needed —
      // but the round trip is measured again now and then (the first tick, then every sixth), so
      // the RTT a view shows is not the one measured in the crowd of connecting.
      const measure = this.ticks++ % RTT_EVERY_TICKS === 0;
      if (this.heard && !measure) {
        this.heard = false;
        return;
      }
      this.heard = false;
      this.awaitingPong = true;
      this.ping(ws);
    }, this.intervalMs);
    this.ping(ws);
  }

  /** A frame or the agent's ping arrived. */
  heardFrom(): void {
    this.awaitingPong = false;
    this.heard = true;
  }

  /** Our ping's pong arrived: alive, and a round trip if one was being measured. */
  pong(): void {
    this.heardFrom();
    if (this.pingSentAt === null) return;
    const rtt = performance.now() - this.pingSentAt;
    this.pingSentAt = null;
    this.lastRtt = rtt;
    for (const listener of [...this.rttListeners]) listener(rtt);
  }

  /** The connection is gone (closed, or the session ended). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.pingSentAt = null;
  }

  private ping(ws: PingableSocket): void {
    if (ws.readyState !== OPEN) return;
    this.pingSentAt = performance.now();
    ws.ping();
  }
}
