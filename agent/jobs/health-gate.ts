/**
 * The health gate: new containers are inspected every `pollMs` until each one is healthy (see
 * src/core/health-verdict.ts for what that means), one of them fails, or the deadline passes.
 * Time comes from the injected clock, so tests drive the gate without waiting.
 */
import { DokkupError } from '../../src/core/errors.js';
import { gateExpired, gateGoal, healthVerdict } from '../../src/core/health-verdict.js';
import type { JobSpec } from '../../src/protocol/job.js';
import type { ContainerRuntime } from '../docker/runtime.js';
import type { ProgressSink } from './service.js';

export interface GateOptions {
  runtime: ContainerRuntime;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  pollMs: number;
}

/** True when the spec or, without one in the spec, the image defines a health check. */
export async function hasHealthcheck(runtime: ContainerRuntime, spec: JobSpec): Promise<boolean> {
  const test = spec.container.healthcheck?.test;
  if (test) return test[0] !== 'NONE';
  return runtime.imageHasHealthcheck(spec.container.image);
}

/** Resolves when every container in `ids` is healthy; throws the first failure. */
export async function waitHealthy(
  gate: GateOptions,
  ids: string[],
  spec: JobSpec,
  gated: boolean,
  report: ProgressSink,
): Promise<void> {
  const { runtime, now, sleep, pollMs } = gate;
  const { healthyDeadlineMs, minHealthyMs } = spec.update;
  const startedAt = now();
  const pending = new Set(ids);
  const runningSince = new Map<string, number | null>();
  const total = ids.length;
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
    // Inspected together (reads, cheap for the engine), judged in order: one poll costs one
    // round trip to the engine, not one per container.
    const ids = [...pending];
    const inspected = await Promise.allSettled(ids.map((id) => runtime.inspectContainer(id)));
    for (const [i, id] of ids.entries()) {
      const got = inspected[i]!;
      if (got.status === 'rejected') throw got.reason;
      const c = got.value;
      const v = healthVerdict(c, { gated, minHealthyMs }, now(), runningSince.get(id) ?? null);
      if (v.verdict === 'failed') throw new DokkupError(v.code, v.message);
      if (v.verdict === 'pending') {
        runningSince.set(id, v.runningSince);
        continue;
      }
      pending.delete(id);
      progress(total - pending.size);
    }
    const expired = gateExpired(pending.size, { gated, healthyDeadlineMs }, startedAt, now());
    if (expired) throw new DokkupError(expired.code, expired.message);
    if (pending.size > 0) await sleep(pollMs);
  }
}
