/**
 * Node info and job lists over HTTP (the client's `info`, `listJobs`, `listContainers`). The
 * feeds carry everything live; this is for what they do not: agent/Docker versions, round-trip
 * latency and each job's desired count. It runs when the reducer asks (`refresh` effects: a
 * feed (re)opened or gave up, a container was created or destroyed, an operation ended, `R`) and
 * slowly in the background (every 15 s). It reports what it saw (`nodeProbed`,
 * `nodeProbeFailed`); what that means for the node's connection is the reducer's call.
 */
import type { Cluster } from '../../src/client/cluster.js';
import { reachabilityOf } from '../../src/client/errors.js';
import type { InventoryNode } from '../../src/protocol/inventory.js';
import type { Store } from '../store/store.js';

export const BACKGROUND_REFRESH_MS = 15_000;
const DEBOUNCE_MS = 300;

export interface RefreshOptions {
  /** Bursts of `soon` within this many ms fold into one request. Default 300. */
  debounceMs?: number;
  backgroundMs?: number;
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
  private readonly now: () => number;
  private readonly elapsed: () => number;

  constructor(
    private readonly store: Store,
    private readonly cluster: Cluster,
    private readonly nodes: readonly InventoryNode[],
    private readonly options: RefreshOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.elapsed = options.elapsed ?? (() => performance.now());
  }

  start(): void {
    this.refreshAll();
    this.timer = setInterval(() => this.refreshAll(), this.options.backgroundMs ?? BACKGROUND_REFRESH_MS);
    this.timer.unref?.();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const t of this.debounce.values()) clearTimeout(t);
    this.debounce.clear();
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
    const node = this.nodes.find((n) => n.name === name);
    if (!node) return;
    this.inFlight.add(name);
    try {
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
      this.inFlight.delete(name);
      if (this.again.delete(name)) void this.refresh(name);
    }
  }
}
