/**
 * The fleet lease of one command: before a rollout (or promote, rollback, stop, purge) changes
 * anything it takes the job's lease on every target node, renews it while it runs, and gives it
 * back at the end. A second operator is refused before anything changes, naming the holder.
 *
 * No deadlock between two operators: the lease is taken on the first node (in target order) that
 * answers before any other, so two rollouts of the same nodes meet on that node and only one gets
 * past it; the winner then takes the rest at once. A refusal anywhere gives back everything taken
 * so far. A CLI that dies leaves leases that lapse after their TTL.
 *
 * Few requests per node (each is a TLS connection above 256 nodes): a rollout takes the lease
 * with each node's plan past the gate (`acquireWith`: one request, not two; the gate's answer says
 * whether its agent can), and every request that carries the lease renews it on the agent (which
 * says so in `LEASE_STATE_HEADER`), so the renewal only asks the nodes nothing was sent to for a
 * third of the TTL. Agents that cannot are asked the old way: the lease route, then the plan.
 * A node's last request of the rollout (a change after which nothing is sent to it: see
 * `Execution`) asks its agent to give the lease back when the operation ends, so the release at
 * the end goes only to the nodes whose agents did not take that (and to the gate, whose lease is
 * kept to the end: a second operator on the same nodes is refused there for the whole rollout).
 */
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { LEASE_TTL_BASE_MS } from '../core/lease.js';
import type { LeaseRequest, LeaseState } from '../protocol/api.js';
import type { InventoryNode } from '../protocol/inventory.js';
import type { AgentClient, LeaseTake, RequestOptions } from './agent-client.js';
import type { Cluster, NodeResult } from './cluster.js';
import { AgentHttpError } from './errors.js';

/** Who takes the lease, and for what (shown to whoever is refused). */
export interface LeaseHolder {
  operator: string;
  host: string;
  /** `run job demo.yaml` */
  command: string;
  ttlMs: number;
}

/** This machine's operator: `DOKKUP_OPERATOR`, else the login name; the host name. */
export function localHolder(
  command: string,
  env: Record<string, string | undefined>,
  /** Default: a small fleet's (see `defaultLeaseTtlMs` for large ones). */
  ttlMs = LEASE_TTL_BASE_MS,
): LeaseHolder {
  let login = env['USER'] ?? env['LOGNAME'];
  if (!login) {
    try {
      login = userInfo().username;
    } catch {
      login = 'unknown';
    }
  }
  const clean = (text: string, max: number) =>
    text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').slice(0, max) || 'unknown';
  return {
    operator: clean(env['DOKKUP_OPERATOR'] || login, 64),
    host: clean(hostname(), 255),
    command: clean(command, 300),
    ttlMs,
  };
}

export function newLeaseId(): string {
  return randomBytes(18).toString('base64url');
}

export interface LeaseRefusal {
  node: InventoryNode;
  /** The agent's words: who holds it, for what, since when. */
  message: string;
  error: AgentHttpError;
}

export interface LeaseAcquisition {
  /** Nodes where the lease is ours now. */
  held: InventoryNode[];
  /** Nodes that could not be asked (offline, unauthorized, an error): left out of the rollout. */
  unreachable: NodeResult<unknown>[];
  /** Nodes whose agent predates leases (no such route): rolled out without one. */
  leaseless: InventoryNode[];
  /** Another operator holds the lease on some node: everything taken was given back. */
  refused: LeaseRefusal | null;
  /** Ctrl-C came first: everything taken was given back. */
  interrupted: boolean;
}

/** An agent that answers 404 for the lease route does not know leases (before 0.4). */
function isLeaseless(error: Error | undefined): boolean {
  return error instanceof AgentHttpError && error.status === 404 && error.body.code === 'not_found';
}

function isRefusal(error: Error | undefined): error is AgentHttpError {
  return error instanceof AgentHttpError && error.body.code === 'lease_held';
}

/** The task a lease is taken with (the plan): given the request options that take it. */
export type TakenWith<T> = (client: AgentClient, node: InventoryNode, options: RequestOptions) => Promise<T>;

export interface LeaseAcquisitionWith<T> {
  acquisition: LeaseAcquisition;
  /** The task's result on every node where the lease is held, or that is leaseless. */
  results: Map<string, NodeResult<T>>;
  /** Ctrl-C came once the lease was taken, before the task went to every node (those are `skipped`). */
  taskInterrupted: boolean;
}

export class FleetLease {
  private readonly held = new Map<string, InventoryNode>();
  /** When each held node's lease was last renewed for sure (the send time of a request it answered `held`). */
  private readonly touched = new Map<string, number>();
  private readonly lostOn = new Map<string, string>();
  /** Nodes whose agent gives the lease back when their operation ends (it said so). */
  private readonly givenBack = new Set<string>();
  /** The first node that granted the lease, the one a second operator meets first: kept to the end. */
  private gate: string | null = null;
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private released = false;
  private result: LeaseAcquisition | null = null;

  constructor(
    private readonly cluster: Cluster,
    private readonly job: string,
    readonly holder: LeaseHolder,
    readonly id: string = newLeaseId(),
    private readonly now: () => number = Date.now,
  ) {}

  /** Nodes where the lease is held. */
  get nodes(): InventoryNode[] {
    return [...this.held.values()];
  }

  /** The lease was taken (and not refused): a second rollout of the same command reuses it. */
  get acquired(): boolean {
    return this.result !== null && !this.result.refused && !this.result.interrupted && !this.released;
  }

  /** How the taking went (null before `acquire`). */
  get acquisition(): LeaseAcquisition {
    if (!this.result) throw new Error('the lease was not taken yet');
    return this.result;
  }

  private request(renew: boolean): LeaseRequest {
    const { operator, host, command, ttlMs } = this.holder;
    return { id: this.id, operator, host, command, ttlMs, ...(renew ? { renew: true } : {}) };
  }

  private take(): LeaseTake {
    const { operator, host, command, ttlMs } = this.holder;
    return { operator, host, command, ttlMs };
  }

  /**
   * The options of a request to `node` that carries the lease (a plan, a deploy, …): the agent
   * renews it and says how it stands, which spares the node its next renewal or tells that the
   * lease was lost there.
   */
  requestFor(node: InventoryNode, extra: Pick<RequestOptions, 'leaseTake' | 'signal'> = {}): RequestOptions {
    const sent = this.now();
    return { ...extra, lease: this.id, onLeaseState: (state) => this.noteState(node, state, sent) };
  }

  /**
   * The options of `node`'s last request of the rollout (a change): as `requestFor`, and the
   * agent gives the lease back when the operation ends (except on the gate, given back last).
   * Call `operationEnded` once it settled.
   */
  lastRequestFor(node: InventoryNode): RequestOptions {
    const options = this.requestFor(node);
    if (node.name === this.gate || !this.held.has(node.name)) return options;
    return { ...options, releaseLeaseAtEnd: true, onLeaseReleaseAtEnd: () => this.givenBack.add(node.name) };
  }

  /**
   * `node`'s operation settled: if its agent took the lease back with it, the node is no longer
   * held (neither renewed nor released at the end).
   */
  operationEnded(node: InventoryNode): void {
    if (!this.givenBack.has(node.name)) return;
    this.held.delete(node.name);
    this.touched.delete(node.name);
  }

  private noteState(node: InventoryNode, state: 'held' | 'lost', sent: number): void {
    if (this.released || !this.held.has(node.name)) return;
    // Given back at the end of its operation: a renewal that came after is told `lost`, rightly.
    if (state === 'lost' && this.givenBack.has(node.name)) return;
    if (state === 'held') this.touched.set(node.name, Math.max(this.touched.get(node.name) ?? 0, sent));
    else {
      this.lostOn.set(
        node.name,
        `the lease on job ${this.job} is no longer yours: it was released or broken (dokkup lock release), or the agent restarted`,
      );
    }
  }

  /** Takes the lease on `nodes` (see the file comment for the order); renews it from then on. */
  async acquire(nodes: readonly InventoryNode[], signal?: AbortSignal): Promise<LeaseAcquisition> {
    return (await this.acquireWith(nodes, null, signal)).acquisition;
  }

  /**
   * Takes the lease on `nodes` together with `task` (the plan; null: the lease alone), in the
   * order of the file comment; renews it from then on. A node whose agent does not take the lease
   * with the task (before 0.4, a fake) is asked the lease route, then the task again after it.
   */
  async acquireWith<T>(
    nodes: readonly InventoryNode[],
    task: TakenWith<T> | null,
    signal?: AbortSignal,
  ): Promise<LeaseAcquisitionWith<T>> {
    const outcome: LeaseAcquisition = {
      held: [],
      unreachable: [],
      leaseless: [],
      refused: null,
      interrupted: false,
    };
    const results = new Map<string, NodeResult<T>>();
    /** The gate's agent takes the lease with a plan: so, most likely, do the others. */
    let withPlan = false;
    type Taken = { lease: 'held' | 'leaseless'; value?: T };
    const takeAlone = async (client: AgentClient, node: InventoryNode): Promise<Taken> => {
      const sent = this.now();
      let state: LeaseState;
      try {
        state = await client.acquireLease(this.job, this.request(false));
      } catch (error) {
        if (isLeaseless(error as Error)) return { lease: 'leaseless' };
        throw error;
      }
      this.held.set(node.name, node);
      this.touched.set(node.name, sent);
      withPlan ||= state.takesWithPlan === true;
      return { lease: 'held' };
    };
    const takeWithTask = async (client: AgentClient, node: InventoryNode): Promise<Taken> => {
      if (!task || !withPlan) return takeAlone(client, node);
      let answered: 'held' | 'lost' | null = null;
      const sent = this.now();
      const options: RequestOptions = {
        lease: this.id,
        leaseTake: this.take(),
        onLeaseState: (state) => {
          answered = state;
          if (state !== 'held') return;
          this.held.set(node.name, node);
          this.touched.set(node.name, sent);
        },
      };
      // A refusal (another operator's lease) is an `AgentHttpError` `lease_held`, sorted below.
      const value = await task(client, node, options);
      if (answered === 'held') return { lease: 'held', value };
      // Its agent took nothing with the task: the lease route, then the task again under it.
      const taken = await takeAlone(client, node);
      return taken.lease === 'leaseless' ? { lease: 'leaseless', value } : taken;
    };
    const sort = (result: NodeResult<Taken>): boolean => {
      const { node } = result;
      if (result.status === 'online') {
        const taken = result.value!;
        if (taken.lease === 'leaseless') outcome.leaseless.push(node);
        if (task && 'value' in taken) results.set(node.name, { ...result, value: taken.value as T });
        return taken.lease === 'held';
      }
      const error = result.error;
      if (isRefusal(error)) {
        outcome.refused ??= { node, message: error.message, error };
      } else if (result.status === 'skipped') outcome.interrupted = true;
      else if (this.held.has(node.name) && task) {
        // The lease was taken, the task failed (the agent refused the plan): the node's own failure.
        results.set(node.name, result as NodeResult<never>);
      } else outcome.unreachable.push(result);
      return false;
    };
    // The gate: one node at a time, in target order, until one grants the lease (the lease route:
    // its answer says whether the agent takes a lease with a plan).
    let next = 0;
    while (next < nodes.length && !outcome.refused) {
      const run = await this.cluster.run(takeAlone, signal ? { signal } : {}, [nodes[next]!]);
      next++;
      if (sort(run.results[0]!)) {
        this.gate = nodes[next - 1]!.name;
        break;
      }
      if (run.interrupted) break;
    }
    // Past the gate: every other node at once, the lease taken with the task where agents can.
    if (!outcome.refused && !outcome.interrupted && next < nodes.length) {
      const run = await this.cluster.run(takeWithTask, signal ? { signal } : {}, nodes.slice(next));
      for (const result of run.results) sort(result);
      outcome.interrupted ||= run.interrupted;
    }
    this.result = outcome;
    if (outcome.refused || outcome.interrupted) {
      await this.release();
      return { acquisition: outcome, results, taskInterrupted: false };
    }
    outcome.held = this.nodes;
    this.startRenewing();
    // The task where it did not go with the lease (the gate, agents that took the lease alone).
    if (task) {
      const rest = [...outcome.held, ...outcome.leaseless].filter((node) => !results.has(node.name));
      const run = await this.cluster.run(
        (client, node) => task(client, node, this.requestFor(node)),
        signal ? { signal } : {},
        rest,
      );
      for (const result of run.results) results.set(result.node.name, result);
      return { acquisition: outcome, results, taskInterrupted: run.interrupted };
    }
    return { acquisition: outcome, results, taskInterrupted: false };
  }

  /**
   * Renews what needs it every sixth of the TTL: a lease is renewed once nothing was sent to its
   * node for a third of it, so it never has less than half its TTL left when it is renewed.
   */
  private startRenewing(): void {
    if (this.held.size === 0 || this.timer) return;
    const every = Math.max(250, Math.floor(this.holder.ttlMs / 6));
    this.timer = setInterval(() => {
      this.renewing ??= this.renew().finally(() => {
        this.renewing = undefined;
      });
    }, every);
    this.timer.unref?.();
  }

  /** The held nodes nothing was sent to (and answered) for a third of the TTL. */
  private stale(): InventoryNode[] {
    const before = this.now() - Math.floor(this.holder.ttlMs / 3);
    return this.nodes.filter((node) => (this.touched.get(node.name) ?? 0) <= before);
  }

  /** Renews the lease on the held nodes that need it (`all`: on every held node). */
  async renew(all = false): Promise<void> {
    if (this.released || this.held.size === 0) return;
    const nodes = all ? this.nodes : this.stale();
    if (nodes.length === 0) return;
    const run = await this.cluster.run(
      async (client, node) => {
        const sent = this.now();
        const state = await client.acquireLease(this.job, this.request(true));
        if (state.held) this.touched.set(node.name, Math.max(this.touched.get(node.name) ?? 0, sent));
        return state;
      },
      // Ahead of a wave's queued nodes: a lease must not lapse while they wait their turn.
      { priority: 1 },
      nodes,
    );
    for (const result of run.results) {
      const error = result.error;
      // Unreachable for a moment is not lost: the agent refuses everybody else's changes meanwhile.
      // Nor is a lease its agent gave back at the end of the node's last operation.
      if (this.givenBack.has(result.node.name)) continue;
      if (error instanceof AgentHttpError && (error.body.code === 'lease_lost' || isRefusal(error))) {
        this.lostOn.set(result.node.name, error.message);
      }
    }
  }

  /** The first node where the lease is no longer ours (broken, taken after it lapsed), if any. */
  lost(): { node: string; message: string } | null {
    const first = this.lostOn.entries().next();
    return first.done ? null : { node: first.value[0], message: first.value[1] };
  }

  /** Gives the lease back everywhere (once); failures are left to the TTL. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.renewing?.catch(() => {});
    const nodes = this.nodes;
    this.held.clear();
    this.touched.clear();
    if (nodes.length === 0) return;
    await this.cluster.run((client) => client.releaseLease(this.job, { id: this.id }), {}, nodes);
  }
}
