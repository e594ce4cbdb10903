/**
 * Stopping and removing containers, for every operation (update, scale down, stop, purge,
 * restore). Two kinds of work with two different limits:
 * - a stop is waiting (for the container to exit within its grace period), not engine work:
 *   every stop of a phase is sent at once, so the phase takes about one grace period whatever
 *   the count;
 * - creates, starts and removes are engine work: at most `concurrency` in flight.
 * A container is removed as soon as its own stop returned, while the others are still stopping,
 * so the removals do not wait behind the slowest stop; it is never removed before it stopped.
 */
import PQueue from 'p-queue';
import { formatDurationMs } from '../../src/core/duration.js';
import type { Phase } from '../../src/protocol/api.js';
import type { ContainerRuntime } from '../docker/runtime.js';
import type { ProgressSink } from './service.js';

/** The grace period (ms) a container gets when it is stopped. */
export type GraceOf = (id: string) => number;

export interface StopPhaseOptions {
  runtime: ContainerRuntime;
  /** Engine work (creates, starts, removes) in flight at once on this node. */
  concurrency: number;
}

export class StopPhase {
  constructor(private readonly opts: StopPhaseOptions) {}

  /**
   * Stops every container of `ids` at once, each with its grace period to exit after its stop
   * signal; `stopped(id)` is called as each one's stop returns. First error wins after all
   * settle.
   */
  async stopAll(
    ids: readonly string[],
    label: string,
    graceOf: GraceOf,
    report: ProgressSink,
    stopped: (id: string) => void = () => {},
  ): Promise<void> {
    if (ids.length === 0) return;
    const graces = ids.map(graceOf);
    const shortest = Math.min(...graces);
    const longest = Math.max(...graces);
    const grace =
      shortest === longest
        ? formatDurationMs(longest)
        : `${formatDurationMs(shortest)} to ${formatDurationMs(longest)}`;
    let done = 0;
    const line = () => ({
      type: 'progress' as const,
      phase: 'stop' as const,
      message: `${label} (${done}/${ids.length}, grace ${grace})`,
      current: done,
      total: ids.length,
    });
    report(line());
    const settled = await Promise.allSettled(
      ids.map(async (id, i) => {
        await this.opts.runtime.stopContainer(id, graces[i]! / 1000);
        done++;
        report(line());
        stopped(id);
      }),
    );
    throwFirstRejection(settled);
  }

  /**
   * Stops `ids` gracefully (all at once) and removes each one as soon as it stopped (engine work,
   * bounded). A container whose stop failed is removed only if it is no longer running; the
   * stop's error is thrown after the rest were removed.
   */
  async stopAndRemove(
    ids: readonly string[],
    what: string,
    graceOf: GraceOf,
    report: ProgressSink,
  ): Promise<void> {
    if (ids.length === 0) return;
    const removals = new PQueue({ concurrency: this.opts.concurrency });
    let removedCount = 0;
    const removing: Promise<void>[] = [];
    const remove = (id: string) => {
      const removal = removals.add(async () => {
        await this.opts.runtime.removeContainer(id);
        removedCount++;
        report({
          type: 'progress',
          phase: 'remove',
          message: `Removing ${what} (${removedCount}/${ids.length})`,
          current: removedCount,
          total: ids.length,
        });
      });
      // Settled below, after the stops: handled now, so an early failure is no unhandled rejection.
      removal.catch(() => {});
      removing.push(removal);
    };
    const stoppedIds = new Set<string>();
    let stopError: unknown;
    try {
      await this.stopAll(ids, `Stopping ${what}`, graceOf, report, (id) => {
        stoppedIds.add(id);
        remove(id);
      });
    } catch (err) {
      stopError = err;
      // A stop call can fail after the container exited (the engine's answer lost): those go too.
      for (const id of await this.notRunning(ids.filter((id) => !stoppedIds.has(id)))) remove(id);
    }
    const removed = await Promise.allSettled(removing);
    if (stopError !== undefined) throw stopError;
    throwFirstRejection(removed);
  }

  /** Which of `ids` are no longer running. */
  private async notRunning(ids: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (const id of ids) {
      try {
        if ((await this.opts.runtime.inspectContainer(id)).state !== 'running') out.push(id);
      } catch {
        // Gone already, or Docker failing: nothing to remove then.
      }
    }
    return out;
  }
}

/**
 * Runs `fn` over `ids`, at most `concurrency` at once (engine work), reporting `label (i/n)`;
 * first error wins after all settle.
 */
export async function boundedEach(
  concurrency: number,
  ids: readonly string[],
  phase: Phase,
  label: string,
  report: ProgressSink,
  fn: (id: string) => Promise<void>,
): Promise<void> {
  if (ids.length === 0) return;
  const queue = new PQueue({ concurrency });
  let i = 0;
  const settled = await Promise.allSettled(
    ids.map((id) =>
      queue.add(async () => {
        await fn(id);
        report({
          type: 'progress',
          phase,
          message: `${label} (${++i}/${ids.length})`,
          current: i,
          total: ids.length,
        });
      }),
    ),
  );
  throwFirstRejection(settled);
}

/** Throws the first rejection's reason, if any. */
export function throwFirstRejection(settled: readonly PromiseSettledResult<unknown>[]): void {
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
}
