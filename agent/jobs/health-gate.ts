/**
 * The health gate: new containers are inspected every `pollMs` until each one is healthy (see
 * src/core/health-verdict.ts for what that means), one of them fails, or the deadline passes.
 * A container without a health check must stay running for `min_healthy_time` counted from its
 * own start (when its start call returned), so the windows of the first containers run while
 * the others are still being created; the gate wakes when the next window ends rather than at
 * the next poll after it. Time comes from the injected clock, so tests drive the gate without
 * waiting.
 */
import { DokkupError } from '../../src/core/errors.js';
import { gateExpired, gateGoal, healthVerdict } from '../../src/core/health-verdict.js';
import type { ContainerSpec, UpdatePolicy } from '../../src/protocol/job.js';
import type { ContainerRuntime } from '../docker/runtime.js';
import type { ProgressSink } from './service.js';

export interface GateOptions {
  runtime: ContainerRuntime;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  pollMs: number;
}

/** True when the entry or, without one in the entry, its image defines a health check. */
export async function hasHealthcheck(runtime: ContainerRuntime, entry: ContainerSpec): Promise<boolean> {
  const test = entry.healthcheck?.test;
  if (test) return test[0] !== 'NONE';
  return runtime.imageHasHealthcheck(entry.image);
}

/** A new container the gate waits for. */
export interface GatedContainer {
  id: string;
  /** It has a health check: it must report healthy (else: stay running for min_healthy_time). */
  gated: boolean;
  /** Its entry's name, for messages (jobs with named entries). */
  entry?: string | undefined;
  /**
   * When its start call returned (the gate's clock): it was running then, so its
   * `min_healthy_time` counts from there. Without it the window counts from the gate's first
   * sight of it running.
   */
  startedAt?: number | undefined;
}

/** Resolves when every container of `containers` is healthy; throws the first failure. */
export async function waitHealthy(
  gate: GateOptions,
  containers: readonly GatedContainer[],
  policy: UpdatePolicy,
  report: ProgressSink,
): Promise<void> {
  const { runtime, now, sleep, pollMs } = gate;
  const { healthyDeadlineMs, minHealthyMs } = policy;
  const startedAt = now();
  const byId = new Map(containers.map((c) => [c.id, c]));
  const pending = new Set(byId.keys());
  // An inspection that finds a container running with no restart since proves it ran all along.
  const runningSince = new Map<string, number | null>(
    containers.map((c) => [c.id, c.gated ? null : (c.startedAt ?? null)]),
  );
  const total = containers.length;
  // With some containers health-checked and others not, "healthy" is what the gate waits for.
  const gated = containers.some((c) => c.gated);
  const what = gateGoal(gated);
  const progress = (done: number) =>
    report({
      type: 'progress',
      phase: 'health',
      message: `Waiting for containers to be ${what} (${done}/${total})`,
      current: done,
      total,
    });
  progress(0);
  while (pending.size > 0) {
    // Every container is inspected on every poll, the ones already ready too: one that passed and
    // then died while others were still starting (a sidecar that waits out min_healthy_time
    // beside a server that was healthy at once) fails the gate instead of being committed dead.
    // Inspected together (reads, cheap for the engine), judged in order: one poll costs one
    // round trip to the engine, not one per container.
    const ids = [...byId.keys()];
    // What an inspection shows was so when it was sent, at the latest: a window is judged at that
    // time, so a container is never counted running for longer than it was seen to be.
    const polledAt = now();
    const inspected = await Promise.allSettled(ids.map((id) => runtime.inspectContainer(id)));
    for (const [i, id] of ids.entries()) {
      const got = inspected[i]!;
      if (got.status === 'rejected') throw got.reason;
      const c = got.value;
      const { gated: checked, entry } = byId.get(id)!;
      const v = healthVerdict(
        c,
        { gated: checked, minHealthyMs, entry },
        polledAt,
        runningSince.get(id) ?? null,
      );
      if (v.verdict === 'failed') throw new DokkupError(v.code, v.message);
      if (!pending.has(id)) continue;
      if (v.verdict === 'pending') {
        runningSince.set(id, v.runningSince);
        continue;
      }
      pending.delete(id);
      progress(total - pending.size);
    }
    const expired = gateExpired(pending.size, { gated, healthyDeadlineMs }, startedAt, now());
    if (expired) throw new DokkupError(expired.code, expired.message);
    if (pending.size > 0) await sleep(nextPoll(pending, runningSince, minHealthyMs, pollMs, polledAt, now()));
  }
}

/**
 * How long to wait before the next inspection: `pollMs`, or less when a pending container's
 * `min_healthy_time` window ends sooner (the gate passes at the window's end, not up to one poll
 * later). A window that ended while the last inspections were in flight (after `polledAt`, which
 * they were judged at) is judged again at once: on a busy engine inspecting takes tens of
 * milliseconds, and waiting a whole poll for it made the last window's end cost up to `pollMs`.
 * Only once per window: the next inspection is sent after its end.
 */
function nextPoll(
  pending: ReadonlySet<string>,
  runningSince: ReadonlyMap<string, number | null>,
  minHealthyMs: number,
  pollMs: number,
  polledAt: number,
  now: number,
): number {
  let wait = pollMs;
  for (const id of pending) {
    const since = runningSince.get(id);
    if (since === null || since === undefined) continue;
    const end = since + minHealthyMs;
    if (end <= polledAt) continue; // judged after its end: not running then, so a normal poll
    wait = Math.min(wait, Math.max(0, end - now));
  }
  return wait;
}
