/**
 * `--promote-after 5m` / `update.auto_promote`: the CLI watches the canaries for that long and
 * promotes only if they stay healthy all the while (src/core/canary.ts says what healthy is). It
 * polls each canary's job status and listens to its live container events, so a crash between two
 * polls is not missed.
 */
import { canaryEventProblem, canaryStatusProblem } from '../core/canary.js';
import type { FeedEvent } from '../protocol/feeds.js';
import type { InventoryNode } from '../protocol/inventory.js';
import type { RequestOptions } from './agent-client.js';
import type { Cluster } from './cluster.js';
import { FeedSession } from './feeds/session.js';

export type CanaryVerdict =
  | { kind: 'healthy' }
  | { kind: 'unhealthy'; node: string; reason: string }
  | { kind: 'interrupted' };

/** Subscribes to a node's live events; returns the unsubscribe. */
export type EventSource = (node: InventoryNode, onEvent: (event: FeedEvent) => void) => () => void;

/** The feeds of the nodes (the agents' WebSocket), filtered to the job. */
export function feedEvents(job: string): EventSource {
  return (node, onEvent) => {
    const session = FeedSession.forNode(node);
    const stop = session.subscribeEvents(onEvent, { job });
    return () => {
      stop();
      session.close();
    };
  };
}

export interface CanaryWatchOptions {
  cluster: Cluster;
  job: string;
  version: string;
  /** The canary nodes. */
  nodes: readonly InventoryNode[];
  durationMs: number;
  signal?: AbortSignal;
  request?: RequestOptions;
  /** Between two status polls (default 2 s). */
  pollMs?: number;
  events?: EventSource;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** After every poll, with the time left. */
  onTick?(remainingMs: number): void;
}

const abortableSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

export async function watchCanaries(options: CanaryWatchOptions): Promise<CanaryVerdict> {
  const { cluster, job, version, nodes, signal } = options;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? abortableSleep;
  const pollMs = options.pollMs ?? 2000;
  let problem: { node: string; reason: string } | null = null;
  const wake = new AbortController();
  const onAbort = () => wake.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const stops = nodes.map((node) =>
    (options.events ?? feedEvents(job))(node, (event) => {
      if (event.type !== 'container' || problem) return;
      const reason = canaryEventProblem(event, job, version);
      if (reason) {
        problem = { node: node.name, reason };
        wake.abort();
      }
    }),
  );
  const baseline = new Map<string, Set<string>>();
  const deadline = now() + options.durationMs;
  try {
    for (;;) {
      const run = await cluster.run(
        (client) => client.status(job, options.request),
        signal ? { signal } : {},
        nodes,
      );
      if (run.interrupted || signal?.aborted) return { kind: 'interrupted' };
      for (const result of run.results) {
        if (problem) break;
        if (result.status !== 'online') {
          problem = {
            node: result.node.name,
            reason: `it did not answer: ${result.error?.message ?? result.status}`,
          };
          break;
        }
        const status = result.value!;
        const reason = canaryStatusProblem(status, version, baseline.get(result.node.name) ?? null);
        if (reason) problem = { node: result.node.name, reason };
        else if (!baseline.has(result.node.name)) {
          baseline.set(
            result.node.name,
            new Set(status.containers.filter((c) => c.version === version).map((c) => c.id)),
          );
        }
      }
      if (problem) return { kind: 'unhealthy', ...(problem as { node: string; reason: string }) };
      const left = deadline - now();
      options.onTick?.(Math.max(0, left));
      if (left <= 0) return { kind: 'healthy' };
      await sleep(Math.min(pollMs, left), wake.signal);
      if (signal?.aborted) return { kind: 'interrupted' };
      if (problem) return { kind: 'unhealthy', ...(problem as { node: string; reason: string }) };
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    for (const stop of stops) stop();
  }
}
