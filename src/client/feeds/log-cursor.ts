/**
 * Where a logs subscription stands in each container's stream, so that after a reconnect it
 * picks up where it left off: it asks the agent for the lines from just before the last one
 * delivered (without the tail), and skips the ones it had delivered already, recognised by
 * their exact timestamp. Pure: params and lines in, params and lines out.
 */
import type { LogLine } from '../../protocol/feeds.js';
import { logTimestampNanos } from './timestamps.js';

export class LogCursor {
  /** Exact time of the latest line delivered, per container (where to resume). */
  private readonly last = new Map<string, bigint>();
  /**
   * Since the latest (re)subscribe: per container, lines at or before this time were delivered
   * already and are skipped until the first later one. Only then: Docker's stdout and stderr
   * lines are not strictly ordered by timestamp, so a general "older than the last" filter would
   * lose lines.
   */
  private skipUntilAfter = new Map<string, bigint>();

  /**
   * The params of the next subscribe frame for `params` (as first asked): the same the first
   * time; after lines were delivered, `since` just before the earliest container's last line
   * and no `tail`. From now on the repeats that brings are skipped.
   */
  subscribeParams(params: Record<string, unknown>): Record<string, unknown> {
    this.skipUntilAfter = new Map(this.last);
    if (this.last.size === 0) return params;
    let earliest: bigint | null = null;
    for (const nanos of this.last.values()) if (earliest === null || nanos < earliest) earliest = nanos;
    const { tail: _tail, ...rest } = params;
    const sinceSeconds = Number((earliest as bigint) / 1000n) / 1e6 - 0.001;
    const original = typeof rest['since'] === 'number' ? rest['since'] : 0;
    return { ...rest, since: Math.max(sinceSeconds, original, 0) };
  }

  /** The lines of an agent frame that were not delivered before, in their order. */
  accept(lines: readonly LogLine[]): LogLine[] {
    const fresh: LogLine[] = [];
    for (const line of lines) {
      const nanos = logTimestampNanos(line.ts);
      if (nanos !== null) {
        const floor = this.skipUntilAfter.get(line.containerId);
        if (floor !== undefined) {
          if (nanos <= floor) continue;
          this.skipUntilAfter.delete(line.containerId);
        }
        const previous = this.last.get(line.containerId);
        if (previous === undefined || nanos > previous) this.last.set(line.containerId, nanos);
      }
      fresh.push(line);
    }
    return fresh;
  }
}
