/**
 * How many nodes a fan-out contacts at once, as plain data: the CLI's own CPU decides.
 *
 * Over TLS every node costs this machine two handshakes and their requests (about 2 ms of CPU):
 * at 10,000 nodes the CLI's event loop is busy all the time even at 100 ms round trip. Nodes in
 * flight beyond what keeps it busy only wait in its own queue, each with a TLS socket and its
 * buffers: 512 at once instead of 128 cost ~100 MB more and no time (`npm run bench:fanout`,
 * README Performance). Far-away or slow nodes leave the loop idle; then more at once helps.
 *
 * So the pace is sampled several times a second: a busy loop (this machine is the limit) takes
 * the limit down by a tenth, an idle one with nodes queued behind a full limit (the network or
 * the agents are the limit) takes it up by half; always within [floor, `--parallel`].
 */

/** What the fan-out looked like over the last sample. */
export interface PaceSample {
  /** The event loop's busy share over the sample, 0..1 (Node's event loop utilisation). */
  utilization: number;
  /** Nodes in flight now. */
  running: number;
  /** Nodes waiting for a slot now. */
  queued: number;
}

export interface PaceBounds {
  /** The most at once: `--parallel` (default 512). */
  max: number;
  /** The least the pace goes down to (never above `max`). */
  min: number;
}

/** Busier than this, the CLI is the limit. */
export const PACE_BUSY = 0.98;
/** Idler than this with work queued, the network or the agents are. */
export const PACE_IDLE = 0.9;
/** 0.3's fixed default: the pace never goes below it when CPU-bound. */
export const PACE_FLOOR = 32;
/** Where a fan-out starts: enough for a fast fleet, and no burst of 512 handshakes at once. */
export const PACE_START = 64;

/** The limits of a fan-out of at most `max` at once. */
export function paceBounds(max: number): PaceBounds {
  return { max, min: Math.min(PACE_FLOOR, max) };
}

/** The limit a fan-out starts with. */
export function initialPace(bounds: PaceBounds): number {
  return Math.min(bounds.max, Math.max(bounds.min, PACE_START));
}

/** The next limit, from the current one and the last sample. */
export function nextPace(limit: number, sample: PaceSample, bounds: PaceBounds): number {
  if (sample.utilization >= PACE_BUSY) {
    return Math.max(bounds.min, Math.min(limit, Math.floor(limit * 0.9)));
  }
  const saturated = sample.running >= limit && sample.queued > 0;
  if (saturated && sample.utilization < PACE_IDLE) {
    return Math.min(bounds.max, Math.max(limit + 1, Math.ceil(limit * 1.5)));
  }
  return Math.max(bounds.min, Math.min(bounds.max, limit));
}
