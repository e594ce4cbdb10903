/**
 * Node info and job lists over HTTP (the client's `info`, `listJobs`, `listContainers`). Agents
 * with feed summaries send all of that on their feed; this is for the rest: agents that predate
 * summaries, a feed that gave up (is the node down?), and `R`. It runs when the reducer asks
 * (`refresh` effects) and, for agents without summaries, slowly in the background (every 15 s).
 * At most `maxInFlight` nodes are asked at once (`R` over ten thousand nodes is a queue, not a
 * storm). It reports what it saw (`nodeProbed`, `nodeProbeFailed`); what that means for the
 * node's connection is the reducer's call.
 */
import type { Cluster } from '../../src/client/cluster.js';
import { reachabilityOf } from '../../src/client/errors.js';
import type { InventoryNode } from '../../src/protocol/inventory.js';
import type { Store } from '../store/store.js';

export const BACKGROUND_REFRESH_MS = 15_000;
const DEBOUNCE_MS = 300;
/** Nodes asked at once. */
export const REFRESH_IN_FLIGHT = 32;

export interface RefreshOptions {
  /** Bursts of `soon` within this many ms fold into one request. Default 300. */
  debounceMs?: number;
  backgroundMs?: number;
  /** Nodes asked at once (default REFRESH_IN_FLIGHT). */
  maxInFlight?: number;
  /** Wall clock of the answers; `elapsed` times the round trip. */
  now?: () => number;
  elapsed?: () => number;
}

export class RefreshController {
  private readonly inFlight = new Set<string>();
  private readonly again = new Set<string>();
  private readonly debounce = new Map<string, NodeJS.Timeout>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly now: () => number;
  private readonly elapsed: () => number;
  private readonly byName: Map<string, InventoryNode>;

  constructor(
    private readonly store: Store,
    private readonly cluster: Cluster,
    private readonly nodes: readonly InventoryNode[],
    private readonly options: RefreshOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.byName = new Map(nodes.map((n) => [n.name, n]));
    this.elapsed = options.elapsed ?? (() => performance.now());
  }

  /** The background refresh of the nodes whose feeds send no summaries. */
  start(): void {
    this.timer = setInterval(() => {
      const nodes = this.store.state.nodes;
      for (const node of this.nodes)
        if (nodes[node.name]?.summary === 'unsupported') void this.refresh(node.name);
    }, this.options.backgroundMs ?? BACKGROUND_REFRESH_MS);
    this.timer.unref?.();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const t of this.debounce.values()) clearTimeout(t);
    this.debounce.clear();
    for (const wake of this.waiting.splice(0)) wake();
  }

  /** Waits for one of the `maxInFlight` turns. */
  private turn(): Promise<void> {
    if (this.active < (this.options.maxInFlight ?? REFRESH_IN_FLIGHT)) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private turnOver(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  refreshAll(): void {
    for (const node of this.nodes) void this.refresh(node.name);
  }

  /** Refreshes a node soon, folding bursts (a deploy creates many containers) into one request. */
  soon(node: string): void {
    if (this.stopped || this.debounce.has(node)) return;
    this.debounce.set(
      node,
      setTimeout(() => {
        this.debounce.delete(node);
        void this.refresh(node);
      }, this.options.debounceMs ?? DEBOUNCE_MS),
    );
  }

  async refresh(name: string): Promise<void> {
    if (this.stopped) return;
    if (this.inFlight.has(name)) {
      this.again.add(name);
      return;
    }
    const node = this.byName.get(name);
    if (!node) return;
    this.inFlight.add(name);
    await this.turn();
    try {
      if (this.stopped) return;
      const client = this.cluster.client(node);
      const started = this.elapsed();
      const info = await client.info();
      const latencyMs = this.elapsed() - started;
      const [jobs, others] = await Promise.all([
        client.listJobs(),
        // An agent too old for the route lists only its own containers.
        client.listContainers().then(
          (list) => list.containers.filter((c) => c.job === ''),
          () => undefined,
        ),
      ]);
      if (this.stopped) return;
      this.store.dispatch({
        type: 'nodeProbed',
        node: name,
        at: this.now(),
        info,
        latencyMs,
        jobs: jobs.jobs,
        ...(others ? { others } : {}),
      });
    } catch (error) {
      if (this.stopped) return;
      this.store.dispatch({
        type: 'nodeProbeFailed',
        node: name,
        at: this.now(),
        failure: reachabilityOf(error),
        error: error instanceof Error ? error.message : String(error),
      });
    } finally {
      this.turnOver();
      this.inFlight.delete(name);
      if (this.again.delete(name)) void this.refresh(name);
    }
  }
}
