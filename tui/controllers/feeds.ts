/**
 * Live data from every node's WebSocket feed session (`src/client/feed-session.ts`):
 * - connection state per node (connecting / online / reconnecting / offline / unauthorized);
 * - events from every node, always (they are cheap and feed the Events tab and the tables);
 * - stats only for the nodes whose containers are on screen (the agent streams stats only
 *   while someone subscribes);
 * - logs only for the target the Logs tab shows, batched into one action per 100 ms.
 * Subscriptions follow the state: after each change, the wanted set (`subscriptions(state)`) is
 * compared with the current one.
 */
import { FeedSession, type FeedStateChange } from '../../src/client/feed-session.js';
import { describeFeedEvent, feedEventLevel } from '../../src/core/format.js';
import type { FeedEvent, LogLine as FeedLogLine, StatsBatch } from '../../src/protocol/feeds.js';
import type { InventoryNode } from '../../src/protocol/inventory.js';
import { logTargetKey } from '../store/select/logs.js';
import { subscriptions } from '../store/select/subscriptions.js';
import type { LogLine, LogTarget, NodeConn, TuiState } from '../store/state.js';
import type { Store } from '../store/store.js';

export const STATS_INTERVAL_MS = 2_000;
const LOG_FLUSH_MS = 100;
const LOG_TAIL = 500;

export interface FeedsHooks {
  /** A node's data should be fetched again (feed opened, container created/destroyed, operation done). */
  refresh(node: string): void;
}

/** `web-1b2c3d4e-…` → `web-1b2c3d4e`: enough to tell replicas apart in merged logs. */
export function shortContainerName(name: string): string {
  const m = /^(.*?-[0-9a-f]{8})-[0-9a-f]{4}-/.exec(name);
  return m ? m[1]! : name;
}

const CONN: Readonly<Record<string, NodeConn | null>> = {
  connecting: 'connecting',
  open: 'online',
  reconnecting: 'reconnecting',
  offline: 'offline',
  unauthorized: 'unauthorized',
  closed: null,
};

export class FeedsController {
  private readonly sessions = new Map<string, FeedSession>();
  private readonly stats = new Map<string, () => void>();
  private logs: { key: string; stops: (() => void)[] } = { key: '', stops: [] };
  private pending: { target: LogTarget; lines: Omit<LogLine, 'seq'>[]; dropped: number } | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly nodes: readonly InventoryNode[],
    private readonly hooks: FeedsHooks,
    private readonly makeSession: (node: InventoryNode) => FeedSession = (node) => FeedSession.forNode(node),
  ) {
    for (const node of nodes) {
      const session = this.makeSession(node);
      this.sessions.set(node.name, session);
      session.onState((change) => this.onState(change));
      session.subscribeEvents((event) => this.onEvent(node.name, event));
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

  isOpen(node: string): boolean {
    return this.sessions.get(node)?.state === 'open';
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    for (const session of this.sessions.values()) session.close();
    this.sessions.clear();
  }

  private onState(change: FeedStateChange): void {
    if (this.closed) return;
    const conn = CONN[change.state];
    if (!conn) return;
    const current = this.store.state.nodes[change.node]?.conn;
    if (conn === 'offline') {
      // The feed gave up for now; whether the node is down is for an HTTP request to say (an
      // agent can answer requests while its feed endpoint is refused, or the other way round).
      this.hooks.refresh(change.node);
      return;
    }
    // Retries of a feed that never opened say nothing new about a node HTTP already judged, and
    // a node known to be down stays down until something answers.
    if (conn === 'connecting' && current !== 'connecting') return;
    if (conn === 'reconnecting' && (current === 'offline' || current === 'unauthorized')) return;
    this.store.dispatch({
      type: 'nodeConn',
      node: change.node,
      conn,
      error: change.error ?? null,
      at: Date.now(),
    });
    if (conn === 'online') this.hooks.refresh(change.node);
  }

  private onEvent(node: string, event: FeedEvent): void {
    if (this.closed) return;
    const at = Date.now();
    switch (event.type) {
      case 'container':
        this.store.dispatch({
          type: 'containerEvent',
          node,
          at,
          id: event.containerId,
          job: event.job,
          name: event.containerName,
          action: event.action,
          exitCode: event.exitCode ?? null,
          health: event.health === 'none' ? null : (event.health ?? null),
        });
        if (event.action === 'create' || event.action === 'destroy' || event.action === 'rename')
          this.hooks.refresh(node);
        break;
      case 'operation-start':
        this.store.dispatch({
          type: 'operationEvent',
          node,
          at,
          job: event.job,
          text: describeFeedEvent(event, { job: true }),
          level: feedEventLevel(event) === 'error' ? 'error' : 'info',
        });
        break;
      case 'operation-progress':
        // Byte-level pull progress would flood the list; phases and counts are what matter.
        if (
          event.line.phase === 'pull' &&
          event.line.current !== undefined &&
          event.line.current !== event.line.total
        )
          break;
        this.store.dispatch({
          type: 'operationEvent',
          node,
          at,
          job: event.job,
          text: describeFeedEvent(event, { job: true }),
          level: feedEventLevel(event) === 'error' ? 'error' : 'info',
        });
        break;
      case 'operation-done':
        this.store.dispatch({
          type: 'operationEvent',
          node,
          at,
          job: event.job,
          text: describeFeedEvent(event, { job: true }),
          level: feedEventLevel(event) === 'error' ? 'error' : 'info',
        });
        this.hooks.refresh(node);
        break;
    }
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
      this.stats.set(
        node,
        session.subscribeStats({ intervalMs: STATS_INTERVAL_MS }, (batch) => this.onStats(node, batch)),
      );
    }
    // Logs
    const key = logTargetKey(wanted.logs);
    if (key !== this.logs.key) {
      for (const stop of this.logs.stops) stop();
      this.logs = { key, stops: wanted.logs ? this.subscribeLogs(state, wanted.logs) : [] };
    }
  }

  private onStats(node: string, batch: StatsBatch): void {
    if (this.closed) return;
    this.store.dispatch({
      type: 'statsBatch',
      node,
      // Our clock, not the agent's: staleness is judged against it.
      at: Date.now(),
      samples: batch.containers.map((c) => ({
        id: c.containerId,
        cpuPercent: c.cpuPercent,
        memBytes: c.memoryUsage,
        memLimit: c.memoryLimit,
        netRx: c.networkRx,
        netTx: c.networkTx,
        blockRead: c.blockRead,
        blockWrite: c.blockWrite,
      })),
    });
  }

  private subscribeLogs(state: TuiState, target: LogTarget): (() => void)[] {
    const stops: (() => void)[] = [];
    const onLines = (node: string) => (lines: FeedLogLine[]) => this.queueLines(target, node, lines, 0);
    const handlers = (node: string) => ({
      onDropped: (count: number) => this.queueLines(target, node, [], count),
      onError: (error: Error) =>
        this.store.dispatch({ type: 'flash', text: `${node}: logs: ${error.message}`, level: 'error' }),
    });
    if (target.kind === 'container') {
      const session = this.sessions.get(target.node);
      if (session) {
        stops.push(
          session.subscribeLogs(
            { container: target.id, tail: LOG_TAIL, follow: true },
            onLines(target.node),
            handlers(target.node),
          ),
        );
      }
      return stops;
    }
    // A job: every node that has it, merged.
    for (const name of state.nodeOrder) {
      if (!state.nodes[name]?.jobs[target.job]) continue;
      const session = this.sessions.get(name);
      if (!session) continue;
      stops.push(
        session.subscribeLogs(
          { job: target.job, tail: LOG_TAIL, follow: true },
          onLines(name),
          handlers(name),
        ),
      );
    }
    return stops;
  }

  private queueLines(target: LogTarget, node: string, lines: FeedLogLine[], dropped: number): void {
    if (this.closed) return;
    if (!this.pending || logTargetKey(this.pending.target) !== logTargetKey(target)) {
      this.pending = { target, lines: [], dropped: 0 };
    }
    for (const l of lines) {
      this.pending.lines.push({
        node,
        container: shortContainerName(l.containerName),
        stream: l.stream,
        ts: l.ts,
        text: l.truncated ? `${l.text}…` : l.text,
        // Kept for ordering merged lines; dropped before dispatch.
        at: l.at,
      } as Omit<LogLine, 'seq'> & { at: number });
    }
    this.pending.dropped += dropped;
    if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), LOG_FLUSH_MS);
  }

  private flush(): void {
    this.flushTimer = null;
    const pending = this.pending;
    this.pending = null;
    if (!pending || this.closed) return;
    const lines = (pending.lines as (Omit<LogLine, 'seq'> & { at: number })[])
      .sort((a, b) => a.at - b.at)
      .map(({ at: _at, ...line }) => line);
    this.store.dispatch({ type: 'logLines', target: pending.target, lines, dropped: pending.dropped });
  }
}
