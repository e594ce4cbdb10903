/**
 * Live data from every node's WebSocket feed session (`src/client/feeds/session.ts`), dispatched
 * as facts for the reducer to judge:
 * - each session's connection state, and the round trips its pings measure;
 * - each node's summary (info, job list, usage) at a low rate — what the nodes and jobs tables
 *   are made of, without asking ten thousand nodes over HTTP; an agent too old for summaries is
 *   reported as such (the reducer then asks it over HTTP);
 * - events from every node, always (they are cheap and feed the Events tab and the tables);
 * - stats only for what is on screen (`subscriptions(state)`: the visible containers' nodes, the
 *   selected node or job), as the protocol's batches;
 * - logs only for the target the Logs tab shows, through the client's merger (a reorder window
 *   puts lines of several containers and nodes in time order, and batches them).
 *
 * Sessions connect through one `ConnectScheduler`: a bounded number of attempts in flight, each
 * after its own jittered backoff, so opening ten thousand nodes (or reconnecting them after a
 * blip) is a metered stream of handshakes, not a storm.
 *
 * Facts can be gathered between frames (`requestFlush`): the app flushes them once per frame as
 * one `feedBatch`, so thousands of nodes talking never queue work in front of a key press. What
 * a fleet sends all the time (usage summaries, events, stats, round trips) asks for a `routine`
 * frame (within a second); a node's connection changing, or a node's first summary, for a
 * `prompt` one (a problem, and the first screen, are shown at once).
 * Subscriptions follow the state: after each change, the wanted set is compared with the open one.
 */

import { ConnectScheduler } from '../../src/client/feeds/connect-scheduler.js';
import { type MergedLogs, subscribeMergedLogs } from '../../src/client/feeds/merge.js';
import { FeedSession, type FeedSessionOptions, isUnsupportedTopic } from '../../src/client/feeds/session.js';
import type { InventoryNode } from '../../src/protocol/inventory.js';
import type { FeedFact } from '../store/actions.js';
import { logTargetKey } from '../store/select/logs.js';
import { type StatsWant, statsWantKey, subscriptions } from '../store/select/subscriptions.js';
import type { LogTarget, TuiState } from '../store/state.js';
import type { Store } from '../store/store.js';
import type { Urgency } from './render-loop.js';

const LOG_TAIL = 500;

/**
 * Connection attempts in flight at once. At 50 ms round trip a handshake takes ~100 ms (TCP, then
 * the upgrade), so 256 at once opens ~2,500 nodes a second; more buys little and costs sockets
 * and the agents' key checks all at the same moment.
 */
export const MAX_CONNECTING = 256;

/**
 * How often nodes send their summary (their usage; a change of a node's job list is sent within a
 * second whatever this is): every 5 s for a small inventory, slower for a large one, so that
 * summaries arrive at no more than ~170 a second (6 s at 1,000 nodes, 60 s at 10,000).
 */
export function summaryIntervalMs(nodes: number): number {
  return Math.min(60_000, Math.max(5_000, nodes * 6));
}

/** From this many nodes on, feeds go quiet between summaries (see `heartbeatIntervalMs`). */
export const LARGE_FLEET = 1_000;

/**
 * The client's heartbeat tick per feed: 10 s for a small inventory. For a large one, longer than
 * the summaries' interval, so that a healthy node has always been heard from at a tick and the
 * client pings only to measure round trips; and the agents are asked to ping only after twice
 * that (`agentPingIntervalMs`). At 10,000 nodes the agents' 15 s pings alone were ~670 pings and
 * pongs a second, each a TLS record both ways: most of the idle CPU. A node that vanishes is
 * still noticed: a closed or reset connection at once, a dead path by the kernel's TCP keepalive
 * (`FEED_KEEPALIVE_MS`, then ten probes a second apart), a hung agent within two ticks (32 s at
 * 1,000 nodes, 140 s at 10,000, when its summaries come a minute apart anyway).
 */
export function heartbeatIntervalMs(nodes: number): number {
  return nodes < LARGE_FLEET ? 10_000 : summaryIntervalMs(nodes) + 10_000;
}

/** How long an agent may hear nothing from this client before it pings (its default for a small inventory). */
export function agentPingIntervalMs(nodes: number): number | undefined {
  return nodes < LARGE_FLEET ? undefined : 2 * heartbeatIntervalMs(nodes);
}

export interface FeedsOptions {
  /** Default: a real session per node, all connecting through one scheduler. Tests pass fakes. */
  makeSession?: (node: InventoryNode) => FeedSession;
  /** Arrival times (staleness of stats and events are judged against our clock, not the agent's). */
  now?: () => number;
  /** The log merger's reorder window (default: the client's). */
  logWindowMs?: number;
  /**
   * Facts are gathered and `flush()` is to be called soon (the app: at its next frame). Without
   * it every fact is dispatched at once, on its own.
   */
  requestFlush?: (urgency: Urgency) => void;
  /**
   * Subscriptions follow the state after the next frame (`afterFrame()`), not inside the
   * dispatch that changed it: a key press is drawn before the thousand subscriptions it may
   * cause are sent. Without it they follow at once.
   */
  deferReconcile?: boolean;
  /** Default: `summaryIntervalMs(nodes.length)`. */
  summaryIntervalMs?: number;
  /** Default MAX_CONNECTING. */
  maxConnecting?: number;
  /** For the real sessions (heartbeat, backoff, …). */
  session?: Partial<FeedSessionOptions>;
}

/** Subscriptions held right now (the bench prints them; tests count them). */
export interface OpenSubscriptions {
  events: number;
  summary: number;
  stats: number;
  logs: number;
}

export class FeedsController {
  private readonly sessions = new Map<string, FeedSession>();
  private readonly stats = new Map<string, { key: string; stop: () => void }>();
  private readonly summaries = new Set<string>();
  private logs: { key: string; merged: MergedLogs | null; nodes: number } = {
    key: '',
    merged: null,
    nodes: 0,
  };
  private readonly unsubscribe: () => void;
  private readonly now: () => number;
  private pending: FeedFact[] = [];
  /** A prompt flush was asked for since the last flush. */
  private promptRequested = false;
  /** Nodes whose summary arrived (their next ones are routine). */
  private readonly summarised = new Set<string>();
  private lastWants: StatsWant[] | null = null;
  private reconcilePending = false;
  private closed = false;
  /** The connection scheduler of the real sessions (null with `makeSession`). */
  readonly scheduler: ConnectScheduler | null;

  constructor(
    private readonly store: Store,
    nodes: readonly InventoryNode[],
    private readonly options: FeedsOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.scheduler = options.makeSession
      ? null
      : new ConnectScheduler({ maxConcurrent: options.maxConnecting ?? MAX_CONNECTING });
    const gate = this.scheduler;
    const agentPingMs = agentPingIntervalMs(nodes.length);
    const makeSession =
      options.makeSession ??
      ((node: InventoryNode) =>
        FeedSession.forNode(node, {
          heartbeatMs: heartbeatIntervalMs(nodes.length),
          ...(agentPingMs === undefined ? {} : { agentPingMs }),
          ...options.session,
          ...(gate ? { gate } : {}),
        }));
    const interval = options.summaryIntervalMs ?? summaryIntervalMs(nodes.length);
    for (const node of nodes) {
      const name = node.name;
      const session = makeSession(node);
      this.sessions.set(name, session);
      session.onState((change) => {
        this.fact({
          type: 'feedState',
          node: name,
          state: change.state,
          error: change.error ?? null,
          at: this.now(),
        });
      });
      session.onRtt?.((rttMs) => this.fact({ type: 'feedRtt', node: name, rttMs }));
      session.subscribeEvents((event) => this.fact({ type: 'feedEvent', node: name, at: this.now(), event }));
      this.summaries.add(name);
      session.subscribeSummary(
        // The events above keep a large fleet's job lists current between summaries: a summary
        // after every container restart would be most of what ten thousand idle nodes send.
        nodes.length < LARGE_FLEET
          ? { intervalMs: interval }
          : { intervalMs: interval, containerEvents: 'at-interval' },
        (summary) => this.fact({ type: 'nodeSummary', node: name, at: this.now(), summary }),
        {
          onError: (error) => {
            this.summaries.delete(name);
            // An older agent: the reducer turns to HTTP and the stats topic for it.
            if (isUnsupportedTopic(error))
              this.fact({ type: 'summaryUnsupported', node: name, at: this.now() });
          },
        },
      );
    }
    this.unsubscribe = store.subscribe((state, previous) => {
      if (
        state.nodes !== previous.nodes ||
        state.logs.target !== previous.logs.target ||
        state.screen !== previous.screen ||
        state.detail !== previous.detail ||
        state.focus !== previous.focus ||
        state.tables !== previous.tables ||
        state.scope !== previous.scope ||
        state.nodeView !== previous.nodeView ||
        state.lastPanel !== previous.lastPanel
      ) {
        if (options.deferReconcile) this.reconcilePending = true;
        else this.reconcile(state);
      }
    });
    this.reconcile(store.state);
  }

  /** What is subscribed right now, across every session. */
  get open(): OpenSubscriptions {
    return {
      events: this.closed ? 0 : this.sessions.size,
      summary: this.summaries.size,
      stats: this.stats.size,
      logs: this.logs.nodes,
    };
  }

  /** After a frame: the subscriptions follow the state it showed (with `deferReconcile`). */
  afterFrame(): void {
    if (!this.reconcilePending) return;
    this.reconcilePending = false;
    this.reconcile(this.store.state);
  }

  /** Hands the gathered facts to the store, as one batch. */
  flush(): void {
    if (this.pending.length === 0 || this.closed) return;
    const facts = this.pending;
    this.pending = [];
    this.promptRequested = false;
    this.store.dispatch({ type: 'feedBatch', facts });
  }

  close(): void {
    this.closed = true;
    this.pending = [];
    this.unsubscribe();
    this.logs.merged?.stop();
    this.logs = { key: '', merged: null, nodes: 0 };
    for (const { stop } of this.stats.values()) stop();
    this.stats.clear();
    this.summaries.clear();
    for (const session of this.sessions.values()) session.close();
    this.sessions.clear();
  }

  private fact(fact: FeedFact): void {
    if (this.closed) return;
    if (!this.options.requestFlush) {
      this.store.dispatch(fact);
      return;
    }
    this.pending.push(fact);
    const prompt = this.isPrompt(fact);
    if (this.promptRequested) return;
    if (prompt) {
      this.promptRequested = true;
      this.options.requestFlush('prompt');
    } else if (this.pending.length === 1) this.options.requestFlush('routine');
  }

  /** A node's connection changing, or its first summary: shown at once, not within a second. */
  private isPrompt(fact: FeedFact): boolean {
    switch (fact.type) {
      case 'feedState':
      case 'summaryUnsupported':
        return true;
      case 'nodeSummary':
        if (this.summarised.has(fact.node)) return false;
        this.summarised.add(fact.node);
        return true;
      default:
        return false;
    }
  }

  private reconcile(state: TuiState): void {
    if (this.closed) return;
    const wanted = subscriptions(state);
    // Stats (the same wanted list as last time needs no look).
    if (wanted.stats !== this.lastWants) {
      this.lastWants = wanted.stats;
      const want = new Map(wanted.stats.map((w) => [w.node, w]));
      for (const [node, open] of this.stats) {
        const w = want.get(node);
        if (!w || statsWantKey(w) !== open.key) {
          open.stop();
          this.stats.delete(node);
        }
      }
      for (const w of want.values()) {
        if (this.stats.has(w.node)) continue;
        const session = this.sessions.get(w.node);
        if (!session) continue;
        const node = w.node;
        const stop = session.subscribeStats(
          { intervalMs: w.intervalMs, ...(w.job !== undefined ? { job: w.job } : {}) },
          (batch) => this.fact({ type: 'statsBatch', node, at: this.now(), containers: batch.containers }),
        );
        this.stats.set(node, { key: statsWantKey(w), stop });
      }
    }
    // Logs
    const key = logTargetKey(wanted.logs);
    if (key !== this.logs.key) {
      this.logs.merged?.stop();
      this.logs = wanted.logs ? this.subscribeLogs(state, key, wanted.logs) : { key, merged: null, nodes: 0 };
    }
  }

  /** A container's logs on its node, or a job's on every node that has it, merged in time order. */
  private subscribeLogs(
    state: TuiState,
    key: string,
    target: LogTarget,
  ): { key: string; merged: MergedLogs; nodes: number } {
    const names =
      target.kind === 'container'
        ? [target.node]
        : state.nodeOrder.filter((name) => state.nodes[name]?.jobs[target.job]);
    const sessions = names.flatMap((name) => this.sessions.get(name) ?? []);
    const params =
      target.kind === 'container'
        ? { container: target.id, tail: LOG_TAIL, follow: true }
        : { job: target.job, tail: LOG_TAIL, follow: true };
    const merged = subscribeMergedLogs(sessions, params, {
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
    return { key, merged, nodes: sessions.length };
  }
}
