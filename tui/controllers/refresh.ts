/**
 * Node info and job lists over HTTP (the client's `info` and `listJobs`). The feeds carry
 * everything live; this is for what they do not: agent/Docker versions, round-trip latency and
 * each job's desired count. It runs when a node's feed (re)opens, when a container is created
 * or destroyed, after an operation, on `R`, and slowly in the background (every 15 s).
 */
import type { Cluster } from '../../src/client/cluster.js';
import { reachabilityOf } from '../../src/client/errors.js';
import type { InventoryNode } from '../../src/protocol/inventory.js';
import type { Store } from '../store/store.js';

export const BACKGROUND_REFRESH_MS = 15_000;
const DEBOUNCE_MS = 300;

export class RefreshController {
  private readonly inFlight = new Set<string>();
  private readonly again = new Set<string>();
  private readonly debounce = new Map<string, NodeJS.Timeout>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly cluster: Cluster,
    private readonly nodes: readonly InventoryNode[],
    /** The feed's view of a node: HTTP failures do not override an open feed. */
    private readonly feedOpen: (node: string) => boolean,
  ) {}

  start(): void {
    this.refreshAll();
    this.timer = setInterval(() => this.refreshAll(), BACKGROUND_REFRESH_MS);
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
      }, DEBOUNCE_MS),
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
      const started = performance.now();
      const info = await client.info();
      const latencyMs = performance.now() - started;
      const [jobs, others] = await Promise.all([
        client.listJobs(),
        // An agent too old for the route lists only its own containers.
        client.listContainers().then(
          (list) => list.containers.filter((c) => c.job === ''),
          () => undefined,
        ),
      ]);
      if (this.stopped) return;
      const at = Date.now();
      this.store.dispatch({ type: 'nodeInfo', node: name, info, latencyMs, at });
      this.store.dispatch({
        type: 'nodeJobs',
        node: name,
        jobs: jobs.jobs,
        at,
        ...(others ? { others } : {}),
      });
      // A node answering HTTP is up even before its feed has (re)connected.
      this.store.dispatch({ type: 'nodeConn', node: name, conn: 'online', at });
    } catch (error) {
      if (this.stopped) return;
      const status = reachabilityOf(error);
      const message = error instanceof Error ? error.message : String(error);
      const at = Date.now();
      if (status === 'unauthorized') {
        this.store.dispatch({ type: 'nodeConn', node: name, conn: 'unauthorized', error: message, at });
      } else if (status === 'offline') {
        if (!this.feedOpen(name))
          this.store.dispatch({ type: 'nodeConn', node: name, conn: 'offline', error: message, at });
      } else {
        this.store.dispatch({ type: 'nodeProblem', node: name, problem: message });
        this.store.dispatch({ type: 'flash', text: `${name}: ${message}`, level: 'error' });
      }
    } finally {
      this.inFlight.delete(name);
      if (this.again.delete(name)) void this.refresh(name);
    }
  }
}
