/**
 * Live data from every node's WebSocket feed session (`src/client/feeds/session.ts`), dispatched
 * as facts for the reducer to judge:
 * - each session's connection state (`feedState`);
 * - events from every node, always (they are cheap and feed the Events tab and the tables);
 * - stats only for the nodes whose containers are on screen (the agent streams stats only
 *   while someone subscribes), as the protocol's batches;
 * - logs only for the target the Logs tab shows, through the client's merger (a reorder window
 *   puts lines of several containers and nodes in time order, and batches them).
 * Subscriptions follow the state: after each change, the wanted set (`subscriptions(state)`) is
 * compared with the open one.
 */

import { type MergedLogs, subscribeMergedLogs } from '../../src/client/feeds/merge.js';
import { FeedSession } from '../../src/client/feeds/session.js';
import type { InventoryNode } from '../../src/protocol/inventory.js';
import { logTargetKey } from '../store/select/logs.js';
import { subscriptions } from '../store/select/subscriptions.js';
import type { LogTarget, TuiState } from '../store/state.js';
import type { Store } from '../store/store.js';

export const STATS_INTERVAL_MS = 2_000;
const LOG_TAIL = 500;

export interface FeedsOptions {
  /** Default: a real session per node. Tests pass fakes. */
  makeSession?: (node: InventoryNode) => FeedSession;
  /** Arrival times (staleness of stats and events are judged against our clock, not the agent's). */
  now?: () => number;
  /** The log merger's reorder window (default: the client's). */
  logWindowMs?: number;
}

export class FeedsController {
  private readonly sessions = new Map<string, FeedSession>();
  private readonly stats = new Map<string, () => void>();
  private logs: { key: string; merged: MergedLogs | null } = { key: '', merged: null };
  private readonly unsubscribe: () => void;
  private readonly now: () => number;
  private closed = false;

  constructor(
    private readonly store: Store,
    nodes: readonly InventoryNode[],
    private readonly options: FeedsOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    const makeSession = options.makeSession ?? ((node: InventoryNode) => FeedSession.forNode(node));
    for (const node of nodes) {
      const session = makeSession(node);
      this.sessions.set(node.name, session);
      session.onState((change) => {
        if (this.closed) return;
        store.dispatch({
          type: 'feedState',
          node: change.node,
          state: change.state,
          error: change.error ?? null,
          at: this.now(),
        });
      });
      session.subscribeEvents((event) => {
        if (!this.closed) store.dispatch({ type: 'feedEvent', node: node.name, at: this.now(), event });
      });
    }
    this.unsubscribe = store.subscribe((state, previous) => {
      if (
        state.nodes !== previous.nodes ||
        state.logs.target !== previous.logs.target ||
        state.screen !== previous.screen ||
        state.detail !== previous.detail ||
        state.focus !== previous.focus
      ) {
        this.reconcile(state);
      }
    });
    this.reconcile(store.state);
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    this.logs.merged?.stop();
    this.logs = { key: '', merged: null };
    for (const session of this.sessions.values()) session.close();
    this.sessions.clear();
  }

  private reconcile(state: TuiState): void {
    if (this.closed) return;
    const wanted = subscriptions(state);
    // Stats
    const want = new Set(wanted.stats);
    for (const [node, stop] of this.stats) {
      if (!want.has(node)) {
        stop();
        this.stats.delete(node);
      }
    }
    for (const node of want) {
      if (this.stats.has(node)) continue;
      const session = this.sessions.get(node);
      if (!session) continue;
      const stop = session.subscribeStats({ intervalMs: STATS_INTERVAL_MS }, (batch) => {
        if (this.closed) return;
        this.store.dispatch({ type: 'statsBatch', node, at: this.now(), containers: batch.containers });
      });
      this.stats.set(node, stop);
    }
    // Logs
    const key = logTargetKey(wanted.logs);
    if (key !== this.logs.key) {
      this.logs.merged?.stop();
      this.logs = { key, merged: wanted.logs ? this.subscribeLogs(state, wanted.logs) : null };
    }
  }

  /** A container's logs on its node, or a job's on every node that has it, merged in time order. */
  private subscribeLogs(state: TuiState, target: LogTarget): MergedLogs {
    const names =
      target.kind === 'container'
        ? [target.node]
        : state.nodeOrder.filter((name) => state.nodes[name]?.jobs[target.job]);
    const sessions = names.flatMap((name) => this.sessions.get(name) ?? []);
    const params =
      target.kind === 'container'
        ? { container: target.id, tail: LOG_TAIL, follow: true }
        : { job: target.job, tail: LOG_TAIL, follow: true };
    return subscribeMergedLogs(sessions, params, {
      windowMs: this.options.logWindowMs,
      onLines: (lines) => {
        if (!this.closed) this.store.dispatch({ type: 'logLines', target, lines });
      },
      onDropped: (_node, count) => {
        if (!this.closed) this.store.dispatch({ type: 'logLines', target, lines: [], dropped: count });
      },
      onNodeDone: (outcome) => {
        if (this.closed || outcome.status !== 'error') return;
        this.store.dispatch({
          type: 'flash',
          text: `${outcome.node}: logs: ${outcome.error.message}`,
          level: 'error',
        });
      },
    });
  }
}
