/**
 * Fan-out over many nodes: runs one task per node through a bounded p-queue (at most 512 at
 * once by default, fewer while this process's CPU is the limit; one queue for every run in
 * flight, so a lease renewal during a wave shares the bound), times each, and classifies
 * every outcome. A node's failure never stops the others; aborting the signal stops dispatching
 * new nodes while the ones in flight finish.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import PQueue from 'p-queue';
import { initialPace, nextPace, type PaceBounds, paceBounds } from '../core/fan-out-pace.js';
import type { NodeStatus } from '../core/outcome.js';
import type { InventoryNode } from '../protocol/inventory.js';
import { AgentClient, type AgentClientOptions } from './agent-client.js';
import { reachabilityOf } from './errors.js';
import { TrustedAgent } from './transport.js';

/**
 * Nodes in flight at most. Fan-out is mostly waiting on the network: at 100 ms round trip a node
 * costs about four of them (connect and plan, connect and deploy), so over plain HTTP 10,000
 * nodes took 127 s at 32 at once, 35 s at 128 and 18 s at 512 (`npm run bench:fanout -- --rtt
 * 100ms`, README Performance). Below this ceiling the pace follows the CLI's own CPU
 * (src/core/fan-out-pace.ts): over TLS the handshakes keep it busy long before 512.
 */
export const DEFAULT_CONCURRENCY = 512;

/** How often the pace is sampled and adjusted (ms). */
const PACE_SAMPLE_MS = 250;

/**
 * Connections are kept open between a command's phases (plan, then deploy) for inventories up
 * to this size. Above it every request uses a one-shot connection from one shared pool, so ten
 * thousand nodes never mean ten thousand open sockets (nor ten thousand per-node pools).
 */
export const KEEP_CONNECTIONS_UP_TO = 256;

export interface NodeResult<T> {
  node: InventoryNode;
  /** `online`: the task succeeded; `skipped`: never contacted because the run was interrupted first. */
  status: NodeStatus;
  /** Set when `status` is `online`. */
  value?: T;
  /** Set for every other status but `skipped`. */
  error?: Error;
  /** Time from dispatch to settling, in milliseconds (0 when skipped). */
  latencyMs: number;
}

export interface ClusterRun<T> {
  /** One result per node, in the order the nodes were given. */
  results: NodeResult<T>[];
  /** True when the signal was aborted before every node was dispatched. */
  interrupted: boolean;
}

export interface ClusterOptions {
  /**
   * Nodes contacted at once at most. Default DEFAULT_CONCURRENCY (512). Fewer while this
   * process's own CPU is the limit (see `pace`).
   */
  concurrency?: number;
  /**
   * `adaptive` (default): starts at 64 and follows the event loop's load between 32 and
   * `concurrency`; `fixed`: always `concurrency` at once (tests that count nodes in flight).
   */
  pace?: 'adaptive' | 'fixed';
  client?: AgentClientOptions;
  /** Per-node kept-alive connections (default: only for inventories of up to 256 nodes). */
  keepConnections?: boolean;
  /** Makes the client for a node; tests pass their own. */
  clientFactory?: (node: InventoryNode, options: AgentClientOptions) => AgentClient;
  /**
   * The event loop's busy share (0..1) since the last call; default: Node's event loop
   * utilisation. Tests pass their own.
   */
  loadSampler?: () => number;
}

export interface RunOptions<T> {
  /** Once aborted, no further node is dispatched; the ones in flight finish. */
  signal?: AbortSignal;
  /** Called as each node settles (not for skipped ones). */
  onSettled?: (result: NodeResult<T>) => void;
  /** Called just before a node's task starts. */
  onDispatch?: (node: InventoryNode) => void;
  /**
   * Runs in flight at once share the cluster's limit; a higher priority goes ahead of the nodes
   * other runs still have queued (default 0). Lease renewals: a lease must not lapse behind a wave.
   */
  priority?: number;
}

export type NodeTask<T> = (client: AgentClient, node: InventoryNode) => Promise<T>;

/** The event loop's busy share since the previous call, from Node's event loop utilisation. */
function eventLoopLoad(): () => number {
  let last = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(now, last);
    last = now;
    return utilization;
  };
}

export class Cluster {
  readonly nodes: readonly InventoryNode[];
  readonly concurrency: number;
  private readonly bounds: PaceBounds;
  /** The adaptive pace's current limit, carried from one run (phase) to the next. */
  private pace: number;
  private readonly keepConnections: boolean;
  private clientOptions: AgentClientOptions;
  private sharedAgents?: { http: http.Agent; https: TrustedAgent };
  private readonly factory: (node: InventoryNode, options: AgentClientOptions) => AgentClient;
  private readonly clients = new Map<string, AgentClient>();
  /**
   * One queue for every run in flight (a lease renewal during a wave): `--parallel` and the pace
   * bound the nodes in flight of the whole command, not of each run.
   */
  private readonly queue: PQueue;
  /** Runs in flight: the pace is sampled while there is one. */
  private runsInFlight = 0;
  private paceTimer: NodeJS.Timeout | undefined;
  private readonly loadSampler: () => number;

  constructor(nodes: readonly InventoryNode[], options: ClusterOptions = {}) {
    const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`concurrency must be a whole number of at least 1, got ${concurrency}`);
    }
    this.nodes = nodes;
    this.concurrency = concurrency;
    this.bounds = options.pace === 'fixed' ? { min: concurrency, max: concurrency } : paceBounds(concurrency);
    this.pace = initialPace(this.bounds);
    this.keepConnections = options.keepConnections ?? nodes.length <= KEEP_CONNECTIONS_UP_TO;
    this.clientOptions = options.client ?? {};
    this.factory = options.clientFactory ?? ((node, clientOptions) => new AgentClient(node, clientOptions));
    this.loadSampler = options.loadSampler ?? eventLoopLoad();
    this.queue = new PQueue({ concurrency: this.pace });
    if (!this.keepConnections) {
      // One-shot connections from one shared pool: no per-node pool to build and tear down.
      const pool = { keepAlive: false, maxSockets: Number.POSITIVE_INFINITY };
      // TLS sessions still resume across phases: they are cached per node, not per connection.
      this.sharedAgents = { http: new http.Agent(pool), https: new TrustedAgent(pool) };
      this.clientOptions = { ...this.clientOptions, sharedAgents: this.sharedAgents };
    }
  }

  /** The client for a node (one per node, reused across tasks). */
  client(node: InventoryNode): AgentClient {
    let client = this.clients.get(node.name);
    if (!client) {
      client = this.factory(node, this.clientOptions);
      this.clients.set(node.name, client);
    }
    return client;
  }

  /**
   * Runs `task` for every node (or the given subset), at most `concurrency` at a time with every
   * other run in flight on this cluster.
   */
  async run<T>(
    task: NodeTask<T>,
    options: RunOptions<T> = {},
    nodes: readonly InventoryNode[] = this.nodes,
  ): Promise<ClusterRun<T>> {
    const { signal } = options;
    const queue = this.queue;
    const stopPacing = this.paceWhileRunning();
    const results: (NodeResult<T> | undefined)[] = new Array(nodes.length).fill(undefined);
    let stopped = signal?.aborted ?? false;
    // A throwing callback is a bug of the caller: report it after the run, never as a node's fault.
    let callbackError: unknown;
    // The queue is shared, so this run's queued nodes are not cleared: each ends at once when its
    // turn comes (the ones in flight finish).
    const onAbort = () => {
      stopped = true;
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    try {
      if (!stopped) {
        const priority = options.priority ?? 0;
        await Promise.all(
          nodes.map((node, index) =>
            queue.add(
              async () => {
                if (stopped) return;
                try {
                  options.onDispatch?.(node);
                  const result = await this.runOne(node, task);
                  results[index] = result;
                  options.onSettled?.(result);
                } catch (error) {
                  callbackError ??= error;
                }
              },
              { priority },
            ),
          ),
        );
      }
    } finally {
      stopPacing();
      signal?.removeEventListener('abort', onAbort);
    }
    if (callbackError !== undefined) throw callbackError;

    let interrupted = false;
    const settled = results.map((result, index): NodeResult<T> => {
      if (result) return result;
      interrupted = true;
      return { node: nodes[index]!, status: 'skipped', latencyMs: 0 };
    });
    return { results: settled, interrupted };
  }

  /** Paces the queue while a run is in flight; returns the run's end (called once, by `run`). */
  private paceWhileRunning(): () => void {
    if (this.bounds.min === this.bounds.max) return () => {};
    this.runsInFlight++;
    if (!this.paceTimer) {
      this.loadSampler(); // the first sample covers the runs' time only
      this.paceTimer = setInterval(() => this.samplePace(), PACE_SAMPLE_MS);
      this.paceTimer.unref();
    }
    return () => {
      this.runsInFlight--;
      if (this.runsInFlight === 0 && this.paceTimer) {
        clearInterval(this.paceTimer);
        this.paceTimer = undefined;
      }
    };
  }

  private samplePace(): void {
    const utilization = this.loadSampler();
    const { queue } = this;
    this.pace = nextPace(this.pace, { utilization, running: queue.pending, queued: queue.size }, this.bounds);
    if (queue.concurrency !== this.pace) queue.concurrency = this.pace;
  }

  /** Closes every connection of every node. */
  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
    this.sharedAgents?.http.destroy();
    this.sharedAgents?.https.destroy();
  }

  private async runOne<T>(node: InventoryNode, task: NodeTask<T>): Promise<NodeResult<T>> {
    const started = performance.now();
    const client = this.client(node);
    try {
      const value = await task(client, node);
      return { node, status: 'online', value, latencyMs: performance.now() - started };
    } catch (caught) {
      const error = caught instanceof Error ? caught : new Error(String(caught));
      return { node, status: reachabilityOf(error), error, latencyMs: performance.now() - started };
    } finally {
      if (!this.keepConnections) this.clients.delete(node.name);
    }
  }
}
