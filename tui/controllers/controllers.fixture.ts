/**
 * Doubles at the edges of the TUI's controllers, for their unit tests: a feed session whose
 * state, events, stats and log lines the test emits, and agent clients whose answers the test
 * scripts (behind a real `Cluster`). Everything between them and the store is the real code.
 * Excluded from the build (`*.fixture.ts`).
 */
import type { AgentClient, ProgressCallback, PullRequestOptions } from '../../src/client/agent-client.js';
import { Cluster } from '../../src/client/cluster.js';
import { AgentHttpError, AgentUnauthorizedError, AgentUnreachableError } from '../../src/client/errors.js';
import type {
  FeedConnectionState,
  FeedSession,
  FeedStateChange,
  SubscriptionHandlers,
} from '../../src/client/feeds/session.js';
import { FeedSubscriptionError } from '../../src/client/feeds/session.js';
import type {
  FeedEvent,
  LogLine,
  LogsParams,
  NodeSummary,
  StatsBatch,
  StatsParams,
  SummaryParams,
} from '../../src/protocol/feeds.js';
import type {
  AgentInfo,
  ContainerInfo,
  JobSpec,
  JobStatus,
  LeaseInfo,
  OperationResult,
  Plan,
  PlanRequest,
} from '../../src/protocol/index.js';
import type { Inventory, InventoryNode } from '../../src/protocol/inventory.js';
import { agentInfo } from '../../test/sim/agent-values.js';
import type { Effect } from '../store/effects.js';
import { initialState } from '../store/state.js';
import { Store } from '../store/store.js';

export function inventoryNode(name: string, port = 9000): InventoryNode {
  return { name, location: `127.0.0.1:${port}`, baseUrl: `http://127.0.0.1:${port}`, key: 'k' };
}

export function inventoryOf(names: readonly string[], groups: Record<string, string[]> = {}): Inventory {
  return { source: 'inventory.yaml', nodes: names.map((n, i) => inventoryNode(n, 9000 + i)), groups };
}

/** A real store over these nodes, recording the effects it hands out. */
export function storeFor(
  nodes: readonly InventoryNode[],
  now = 1_700_000_100_000,
): { store: Store; effects: Effect[] } {
  const store = new Store(
    initialState(
      nodes.map((n) => ({ name: n.name, location: n.location })),
      { inventoryName: 'inventory.yaml', inventoryPath: 'inventory.yaml' },
      now,
    ),
  );
  const effects: Effect[] = [];
  store.handleEffects((effect) => effects.push(effect));
  return { store, effects };
}

interface LogSubscription {
  params: LogsParams;
  onLines(lines: LogLine[]): void;
  handlers: SubscriptionHandlers;
  active: boolean;
}

/** A node's feed session, driven by the test. */
export class FakeFeedSession {
  state: FeedConnectionState = 'connecting';
  closed = false;
  private readonly stateListeners = new Set<(change: FeedStateChange) => void>();
  private readonly eventListeners = new Set<(event: FeedEvent) => void>();
  readonly stats: { params: StatsParams; onBatch(batch: StatsBatch): void; active: boolean }[] = [];
  readonly logs: LogSubscription[] = [];
  readonly summaries: {
    params: SummaryParams;
    onSummary(summary: NodeSummary): void;
    handlers: SubscriptionHandlers;
    active: boolean;
  }[] = [];
  private readonly rttListeners = new Set<(rttMs: number) => void>();

  constructor(readonly node: string) {}

  /** The shape the controllers are typed against. */
  asSession(): FeedSession {
    return this as unknown as FeedSession;
  }

  onState(listener: (change: FeedStateChange) => void): () => void {
    this.stateListeners.add(listener);
    listener({ node: this.node, state: this.state, attempts: 0, lostAt: null });
    return () => this.stateListeners.delete(listener);
  }

  subscribeEvents(onEvent: (event: FeedEvent) => void): () => void {
    this.eventListeners.add(onEvent);
    return () => this.eventListeners.delete(onEvent);
  }

  onRtt(listener: (rttMs: number) => void): () => void {
    this.rttListeners.add(listener);
    return () => this.rttListeners.delete(listener);
  }

  subscribeSummary(
    params: SummaryParams,
    onSummary: (summary: NodeSummary) => void,
    handlers: SubscriptionHandlers = {},
  ): () => void {
    const sub = { params, onSummary, handlers, active: true };
    this.summaries.push(sub);
    return () => {
      sub.active = false;
    };
  }

  subscribeStats(params: StatsParams, onBatch: (batch: StatsBatch) => void): () => void {
    const sub = { params, onBatch, active: true };
    this.stats.push(sub);
    return () => {
      sub.active = false;
    };
  }

  subscribeLogs(
    params: LogsParams,
    onLines: (lines: LogLine[]) => void,
    handlers: SubscriptionHandlers = {},
  ): () => void {
    const sub: LogSubscription = { params, onLines, handlers, active: true };
    this.logs.push(sub);
    return () => {
      sub.active = false;
    };
  }

  close(): void {
    this.closed = true;
    this.emitState('closed');
  }

  // What the test makes happen.

  emitState(state: FeedConnectionState, error?: string): void {
    this.state = state;
    const change: FeedStateChange = { node: this.node, state, attempts: 0, lostAt: null };
    if (error !== undefined) change.error = error;
    for (const listener of [...this.stateListeners]) listener(change);
  }

  emitEvent(event: FeedEvent): void {
    for (const listener of [...this.eventListeners]) listener(event);
  }

  emitRtt(rttMs: number): void {
    for (const listener of [...this.rttListeners]) listener(rttMs);
  }

  emitSummary(summary: NodeSummary): void {
    for (const s of this.summaries) if (s.active) s.onSummary(summary);
  }

  /** The agent predates summaries: it refuses the topic the way a 0.3 agent does. */
  refuseSummary(): void {
    for (const s of this.summaries) {
      if (!s.active) continue;
      s.active = false;
      s.handlers.onError?.(
        new FeedSubscriptionError(
          this.node,
          'invalid_request',
          'topic must be "events", "stats" or "logs"',
          'topic',
        ),
      );
    }
  }

  activeStats(): number {
    return this.stats.filter((s) => s.active).length;
  }

  emitStats(batch: StatsBatch): void {
    for (const s of this.stats) if (s.active) s.onBatch(batch);
  }

  activeLogs(): LogSubscription[] {
    return this.logs.filter((s) => s.active);
  }

  emitLines(lines: LogLine[]): void {
    for (const s of this.activeLogs()) s.onLines(lines);
  }

  failLogs(message: string): void {
    for (const s of this.activeLogs())
      s.handlers.onError?.(new FeedSubscriptionError(this.node, 'not_found', message));
  }
}

/** What one node's agent answers; unset answers fail the test loudly. */
export interface AgentScript {
  /** `offline` / `unauthorized`: every request fails that way. */
  reach?: 'offline' | 'unauthorized';
  info?: () => Promise<AgentInfo>;
  jobs?: JobStatus[];
  /** Containers of the node; a function that throws stands for an agent too old for the route. */
  containers?: ContainerInfo[] | (() => never);
  plan?: (job: string, request: PlanRequest) => Promise<Plan>;
  result?: (op: 'deploy' | 'rollback' | 'stop', onProgress: ProgressCallback) => Promise<OperationResult>;
  /** Another operator's lease on every job: taking it is refused (409 `lease_held`) naming them. */
  leaseHeldBy?: LeaseInfo;
}

export interface AgentCall {
  node: string;
  method: string;
  args: unknown[];
}

/** A real `Cluster` whose clients answer from per-node scripts, recording every call. */
export function scriptedCluster(
  nodes: readonly InventoryNode[],
  scripts: Record<string, AgentScript>,
): { cluster: Cluster; calls: AgentCall[] } {
  const calls: AgentCall[] = [];
  const clientFor = (node: InventoryNode) => {
    const script = () => scripts[node.name] ?? {};
    const call = async <T>(method: string, args: unknown[], answer: () => Promise<T> | T): Promise<T> => {
      calls.push({ node: node.name, method, args });
      const s = script();
      if (s.reach === 'offline')
        throw new AgentUnreachableError(node.name, `${node.name}: connect ECONNREFUSED`, 'ECONNREFUSED');
      if (s.reach === 'unauthorized') throw new AgentUnauthorizedError(node.name, `${node.name}: wrong key`);
      return answer();
    };
    const client = {
      info: () => call('info', [], () => script().info?.() ?? agentInfo({ hostname: node.name })),
      listJobs: () => call('listJobs', [], () => ({ jobs: script().jobs ?? [] })),
      listContainers: () =>
        call('listContainers', [], () => {
          const c = script().containers ?? [];
          return { containers: typeof c === 'function' ? c() : c };
        }),
      plan: (job: string, request: PlanRequest) =>
        call('plan', [job, request], () => {
          const plan = script().plan;
          if (!plan) throw new Error(`no plan scripted for ${node.name}`);
          return plan(job, request);
        }),
      // The registry credentials are recorded as the third argument when given (the lease, sent
      // with every change of a rollout, is not).
      deploy: (spec: JobSpec, onProgress: ProgressCallback, options?: PullRequestOptions) =>
        call(
          'deploy',
          options?.registryAuth ? [spec, null, { registryAuth: options.registryAuth }] : [spec],
          () => resultOf(node, 'deploy', onProgress),
        ),
      rollback: (
        job: string,
        to: string | undefined,
        onProgress: ProgressCallback,
        options?: PullRequestOptions,
      ) =>
        call(
          'rollback',
          options?.registryAuth
            ? [job, to ?? null, { registryAuth: options.registryAuth }]
            : to === undefined
              ? [job]
              : [job, to],
          () => resultOf(node, 'rollback', onProgress),
        ),
      stop: (job: string, purge: boolean, onProgress: ProgressCallback) =>
        call('stop', [job, purge], () => resultOf(node, 'stop', onProgress)),
      promote: (job: string, version: string) =>
        call('promote', [job, version], () => ({ job, version, promoted: true })),
      // Leases are granted to whoever asks (a test of refusals scripts its own agents).
      acquireLease: (job: string, request: { id: string }) =>
        call('acquireLease', [job, request.id], () => {
          const held = script().leaseHeldBy;
          if (!held) return { job, lease: null, held: true };
          throw new AgentHttpError(node.name, 409, {
            code: 'lease_held',
            message: `job ${job} is locked by ${held.operator}@${held.host} (${held.command})`,
            lease: held,
          });
        }),
      releaseLease: (job: string) =>
        call('releaseLease', [job], () => ({ job, released: null, broken: false })),
      releaseConnections: () => {},
      close: () => {},
    };
    return client as unknown as AgentClient;
  };
  const resultOf = (
    node: InventoryNode,
    op: 'deploy' | 'rollback' | 'stop',
    onProgress: ProgressCallback,
  ) => {
    const result = scripts[node.name]?.result;
    if (!result) throw new Error(`no result scripted for ${node.name}`);
    return result(op, onProgress);
  };
  return { cluster: new Cluster(nodes, { clientFactory: clientFor }), calls };
}

/** Resolves once `check` holds (the controllers work through promises). */
export async function until(check: () => boolean, what = 'the condition'): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}
