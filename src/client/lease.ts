/**
 * The fleet lease of one command: before a rollout (or promote, rollback, stop, purge) changes
 * anything it takes the job's lease on every target node, renews it while it runs, and gives it
 * back at the end. A second operator is refused before anything changes, naming the holder.
 *
 * No deadlock between two operators: the lease is taken on the first node (in target order) that
 * answers before any other, so two rollouts of the same nodes meet on that node and only one gets
 * past it; the winner then takes the rest at once. A refusal anywhere gives back everything taken
 * so far. A CLI that dies leaves leases that lapse after their TTL.
 */
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { LeaseRequest, LeaseState } from '../protocol/api.js';
import type { InventoryNode } from '../protocol/inventory.js';
import type { Cluster, NodeResult } from './cluster.js';
import { AgentHttpError } from './errors.js';

/** How long a lease lasts without renewal: a killed CLI blocks the job for at most this long. */
export const DEFAULT_LEASE_TTL_MS = 30_000;

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
  ttlMs = DEFAULT_LEASE_TTL_MS,
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
  unreachable: NodeResult<LeaseState>[];
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

export class FleetLease {
  private readonly held = new Map<string, InventoryNode>();
  private readonly lostOn = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private released = false;
  private result: LeaseAcquisition | null = null;

  constructor(
    private readonly cluster: Cluster,
    private readonly job: string,
    readonly holder: LeaseHolder,
    readonly id: string = newLeaseId(),
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

  /** Takes the lease on `nodes` (see the file comment for the order); renews it from then on. */
  async acquire(nodes: readonly InventoryNode[], signal?: AbortSignal): Promise<LeaseAcquisition> {
    const outcome: LeaseAcquisition = {
      held: [],
      unreachable: [],
      leaseless: [],
      refused: null,
      interrupted: false,
    };
    const take = (client: Parameters<Parameters<Cluster['run']>[0]>[0]) =>
      client.acquireLease(this.job, this.request(false));
    const sort = (result: NodeResult<LeaseState>): boolean => {
      if (result.status === 'online') {
        this.held.set(result.node.name, result.node);
        return true;
      }
      if (isRefusal(result.error)) {
        outcome.refused ??= { node: result.node, message: result.error.message, error: result.error };
      } else if (isLeaseless(result.error)) outcome.leaseless.push(result.node);
      else if (result.status === 'skipped') outcome.interrupted = true;
      else outcome.unreachable.push(result);
      return false;
    };
    // The gate: one node at a time, in target order, until one grants the lease.
    let next = 0;
    while (next < nodes.length && !outcome.refused) {
      const run = await this.cluster.run(take, signal ? { signal } : {}, [nodes[next]!]);
      next++;
      if (sort(run.results[0]!)) break;
      if (run.interrupted) break;
    }
    // Past the gate: every other node at once.
    if (!outcome.refused && !outcome.interrupted && next < nodes.length) {
      const run = await this.cluster.run(take, signal ? { signal } : {}, nodes.slice(next));
      for (const result of run.results) sort(result);
      outcome.interrupted ||= run.interrupted;
    }
    this.result = outcome;
    if (outcome.refused || outcome.interrupted) {
      await this.release();
      return outcome;
    }
    outcome.held = this.nodes;
    this.startRenewing();
    return outcome;
  }

  /** Renews every third of the TTL; a node where the lease is gone is remembered (see `lost`). */
  private startRenewing(): void {
    if (this.held.size === 0 || this.timer) return;
    const every = Math.max(250, Math.floor(this.holder.ttlMs / 3));
    this.timer = setInterval(() => {
      this.renewing ??= this.renew().finally(() => {
        this.renewing = undefined;
      });
    }, every);
    this.timer.unref?.();
  }

  /** Renews the lease on every node holding it now (also called before each wave). */
  async renew(): Promise<void> {
    if (this.released || this.held.size === 0) return;
    const run = await this.cluster.run(
      (client) => client.acquireLease(this.job, this.request(true)),
      {},
      this.nodes,
    );
    for (const result of run.results) {
      const error = result.error;
      // Unreachable for a moment is not lost: the agent refuses everybody else's changes meanwhile.
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
    if (nodes.length === 0) return;
    await this.cluster.run((client) => client.releaseLease(this.job, { id: this.id }), {}, nodes);
  }
}
