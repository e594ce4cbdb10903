/**
 * A rollout, the flow behind every change from either face (`run`/`promote`/`rollback`/`stop
 * job` in the CLI, d/s/P/r/x/p in the TUI):
 *   1. take the job's lease on every target node (when the face passes one): a second operator
 *      is refused here, before anything changes;
 *   2. plan on every target node at once (bounded fan-out through the `Cluster`), and schedule:
 *      which nodes go, in which waves, which wait behind a canary (src/core/waves.ts);
 *   3. hand the plans and the schedule to the face, which asks the operator (the CLI prompts at
 *      once; the TUI shows a pane that is answered later), unless nothing would change;
 *   4. carry the operation out wave by wave: a wave starts once every node of the one before is
 *      healthy on the new version. A node that fails stops the rollout (no further node starts)
 *      and, with `auto_revert` (the default), the nodes this rollout already moved go back to the
 *      version they ran before, through the same zero-downtime path and in waves too. Ctrl-C (the
 *      signal) starts no further node and lets the ones in flight finish;
 *   5. return one record per target node (plan, run, revert, outcome, message, wave), from which
 *      the CLI prints its tables and `--json` and the TUI its board.
 * What the faces print is theirs; what happens, and what it is called, is decided here.
 */
import {
  ExitCode,
  exitCodeFor,
  NOT_CARRIED_OUT,
  type OutcomeAndMessage,
  outcomeOfStatus,
} from '../core/outcome.js';
import {
  nodeList,
  type PromoteCheck,
  planSchedule,
  type RolloutSchedule,
  type ScheduleNode,
} from '../core/waves.js';
import type { OperationResult, Plan, PlanRequest, ProgressLine } from '../protocol/api.js';
import type { InventoryNode } from '../protocol/inventory.js';
import type { AgentClient } from './agent-client.js';
import type { Cluster, ClusterRun, NodeResult } from './cluster.js';
import type { FleetLease, LeaseAcquisition, LeaseRefusal } from './lease.js';
import { Execution } from './rollout-execution.js';
import type { RolloutOperation } from './rollout-operations.js';

export {
  type CredentialSource,
  deployOperation,
  type OperationContext,
  promoteOperation,
  type RollbackCredentials,
  type RolloutOperation,
  rollbackOperation,
  stopOperation,
} from './rollout-operations.js';

/** One target node of a rollout, as far as it got. */
export interface RolloutNode extends OutcomeAndMessage {
  node: InventoryNode;
  /** The plan request's result (`skipped` when the planning was interrupted first). */
  plan: NodeResult<Plan>;
  /** The operation's result; absent when it was not carried out on this node. */
  run?: NodeResult<OperationResult>;
  /** The revert's result, when the rollout failed elsewhere and this node was put back. */
  revert?: NodeResult<OperationResult>;
  /** The wave (1-based) the schedule put the node in; null when it is not carried out. */
  wave: number | null;
  /** One of the canaries this rollout puts out. */
  canary: boolean;
}

/** The operator's answer to the plans. */
export type ConfirmAnswer = 'yes' | 'no' | 'interrupted';

/**
 * How a rollout ended: interrupted while taking the lease or planning, refused (another operator
 * holds the lease), blocked (the fleet does not allow it: promote with no canary out), nothing to
 * change on any reachable node, declined (or interrupted) at the confirmation, or carried out.
 */
export type RolloutEnd =
  | 'plan-interrupted'
  | 'refused'
  | 'blocked'
  | 'nothing-to-change'
  | 'declined'
  | 'confirm-interrupted'
  | 'executed';

/** Why the waves stopped before the last one. */
export interface RolloutStop {
  reason: 'failed' | 'interrupted' | 'lease-lost';
  /** The node that failed, or where the lease was lost. */
  node?: string;
  message?: string;
}

export interface RolloutResult {
  /** One record per target node, in target order. */
  nodes: RolloutNode[];
  ended: RolloutEnd;
  /** The operation was carried out (confirmed). */
  confirmed: boolean;
  /** Ctrl-C stopped the rollout before every node was done (or at the confirmation). */
  interrupted: boolean;
  schedule: RolloutSchedule;
  /** Set when the waves stopped early. */
  stopped: RolloutStop | null;
  /** Nodes this rollout moved and then put back (auto_revert). */
  reverted: string[];
  /** promote: nodes whose canary mark was cleared. */
  promoted: string[];
  /** ended `refused`: who holds the lease. */
  refused: LeaseRefusal | null;
  /** ended `blocked`: why. */
  blocked: string | null;
}

export interface RolloutOptions {
  cluster: Cluster;
  job: string;
  operation: RolloutOperation;
  /** The target nodes (default: every node of the cluster). */
  nodes?: readonly InventoryNode[];
  /** Once aborted, no further node is contacted; the ones in flight finish. */
  signal?: AbortSignal;
  /**
   * The command's lease, owned by the face (it gives it back when it is done): taken here on the
   * target nodes unless it is held already (a promote after `--promote-after` keeps the run's).
   */
  lease?: FleetLease;
  /**
   * The face gives the lease back once this rollout is done (nothing follows it under the same
   * lease: no `--promote-after`): each node's last request of the rollout then asks its agent to
   * give the lease back when the operation ends, which spares a release request per node.
   */
  leaseEndsWithRollout?: boolean;
}

export type RolloutPhase = 'rollout' | 'revert';

export interface WaveStart {
  /** 0-based. */
  index: number;
  count: number;
  nodes: string[];
  phase: RolloutPhase;
}

export interface ExecuteHooks {
  /** Default: the signal the rollout was planned with. */
  signal?: AbortSignal;
  /** A wave is about to start. */
  onWaveStart?(wave: WaveStart): void;
  /** A node's operation (or revert) is about to start. */
  onNodeStart?(node: InventoryNode, phase: RolloutPhase): void;
  /** A progress line of a node's operation. */
  onProgress?(node: InventoryNode, line: ProgressLine): void;
  /** A node's operation (or revert) settled: its record has `run`/`revert`, `outcome` and `message`. */
  onNodeDone?(record: RolloutNode, phase: RolloutPhase): void;
}

/** The plans of every target node, waiting for the operator's answer. */
export class PlannedRollout {
  private settled: RolloutResult | null = null;
  private executing = false;

  constructor(
    readonly options: RolloutOptions,
    /** Updated in place as the rollout goes on: copy a record to keep a snapshot. */
    readonly nodes: RolloutNode[],
    /** Ctrl-C came while taking the lease or planning: some nodes were not asked. */
    readonly interrupted: boolean,
    readonly schedule: RolloutSchedule,
    /** Another operator holds the job's lease: nothing was planned. */
    readonly refused: LeaseRefusal | null = null,
    /** The fleet does not allow the operation (see `RolloutOperation.precheck`). */
    readonly blocked: Extract<PromoteCheck, { ok: false }> | null = null,
    readonly acquisition: LeaseAcquisition | null = null,
  ) {}

  /** The nodes whose plan changes something, in target order. */
  get changing(): RolloutNode[] {
    return this.nodes.filter((record) => changes(record.plan));
  }

  /** The nodes this rollout carries out (in its waves), in target order. */
  get scheduled(): RolloutNode[] {
    return this.nodes.filter((record) => record.wave !== null);
  }

  /** Whether there is a question to ask: nothing stands in the way and some node would change. */
  get needsConfirmation(): boolean {
    return !this.interrupted && !this.refused && !this.blocked && this.schedule.waves.length > 0;
  }

  /** The result when there is nothing to ask (interrupted, refused, blocked, or nothing changes). */
  unasked(): RolloutResult {
    if (this.interrupted) return this.end('plan-interrupted', true);
    if (this.refused) return this.end('refused', false);
    if (this.blocked && !this.blocked.nothing) return this.end('blocked', false);
    return this.end('nothing-to-change', false);
  }

  /** The operator said no (`declined`) or pressed Ctrl-C at the question: nothing is changed. */
  decline(answer: Exclude<ConfirmAnswer, 'yes'> = 'no'): RolloutResult {
    this.assertOpen();
    for (const record of this.scheduled) {
      Object.assign(
        record,
        answer === 'interrupted'
          ? { outcome: 'skipped', message: NOT_CARRIED_OUT }
          : { outcome: 'declined', message: 'declined; nothing was changed' },
      );
    }
    return this.end(answer === 'interrupted' ? 'confirm-interrupted' : 'declined', answer === 'interrupted');
  }

  /** Carries the operation out, wave by wave (see the file comment). */
  async execute(hooks: ExecuteHooks = {}): Promise<RolloutResult> {
    this.assertOpen();
    if (!this.needsConfirmation) return this.unasked();
    this.executing = true;
    return new Execution(this, hooks).run();
  }

  private assertOpen(): void {
    if (this.settled || this.executing) throw new Error('this rollout was already answered');
  }

  /** @internal The end of the rollout, once. */
  end(ended: RolloutEnd, interrupted: boolean, extra: Partial<RolloutResult> = {}): RolloutResult {
    this.settled = {
      nodes: this.nodes,
      ended,
      confirmed: ended === 'executed',
      interrupted,
      schedule: this.schedule,
      stopped: null,
      reverted: [],
      promoted: [],
      refused: this.refused,
      blocked: this.blocked && !this.blocked.nothing ? this.blocked.message : null,
      ...extra,
    };
    return this.settled;
  }
}

function changes(plan: NodeResult<Plan>): boolean {
  return plan.status === 'online' && plan.value!.changes;
}

function scheduleNode(record: Pick<RolloutNode, 'node' | 'plan'>): ScheduleNode {
  const plan = record.plan.value ?? null;
  return {
    name: record.node.name,
    changes: changes(record.plan),
    action: plan?.action ?? null,
    versionFrom: plan?.versionFrom ?? null,
    canary: plan?.canary ?? null,
  };
}

/** The schedule an operation would follow from these plans (`plan job` shows it). */
export function scheduleOf(operation: RolloutOperation, plans: readonly NodeResult<Plan>[]): RolloutSchedule {
  return planSchedule({
    mode: operation.mode,
    nodes: plans.map((plan) => scheduleNode({ node: plan.node, plan })),
    policy: operation.policy,
    version: operation.version,
  });
}

/** Step 1 and 2: the lease, then every target node's plan, then the schedule. */
export async function planRollout(options: RolloutOptions): Promise<PlannedRollout> {
  const { cluster, job, operation, signal, lease } = options;
  const targets = options.nodes ?? cluster.nodes;
  const policyOf = () =>
    planSchedule({ mode: operation.mode, nodes: [], policy: operation.policy, version: operation.version });

  // 1. The lease, taken with each node's plan (one request), unless the command holds it already.
  let plannable = targets;
  let acquisition: LeaseAcquisition | null = null;
  const early = new Map<string, RolloutNode>();
  let plannedWithLease: ClusterRun<Plan> | null = null;
  const planOf = (client: AgentClient, node: InventoryNode, request: PlanRequest) =>
    client.plan(job, request, lease ? lease.requestFor(node) : undefined);
  if (lease) {
    if (lease.acquired) acquisition = lease.acquisition;
    else {
      const taken = await lease.acquireWith(
        targets,
        (client, _node, options) => client.plan(job, operation.planRequest, options),
        signal,
      );
      acquisition = taken.acquisition;
      const results = taken.acquisition.held.concat(taken.acquisition.leaseless);
      plannedWithLease = {
        results: results.map((node) => taken.results.get(node.name)!),
        interrupted: taken.taskInterrupted,
      };
    }
    if (acquisition.refused || acquisition.interrupted) {
      const refused = acquisition.refused;
      const nodes = targets.map((node): RolloutNode => {
        const base = {
          node,
          plan: { node, status: 'skipped' as const, latencyMs: 0 },
          wave: null,
          canary: false,
        };
        if (refused?.node.name === node.name) return { ...base, outcome: 'failed', message: refused.message };
        if (refused)
          return {
            ...base,
            outcome: 'untouched',
            message: `not planned: the job is locked (see ${refused.node.name})`,
          };
        return { ...base, outcome: 'skipped', message: NOT_CARRIED_OUT };
      });
      return new PlannedRollout(
        options,
        nodes,
        acquisition.interrupted,
        policyOf(),
        refused,
        null,
        acquisition,
      );
    }
    const allowed = new Set([...acquisition.held, ...acquisition.leaseless].map((n) => n.name));
    plannable = targets.filter((n) => allowed.has(n.name));
    for (const result of acquisition.unreachable) {
      early.set(result.node.name, {
        node: result.node,
        plan: {
          node: result.node,
          status: result.status,
          ...(result.error ? { error: result.error } : {}),
          latencyMs: result.latencyMs,
        },
        wave: null,
        canary: false,
        ...outcomeOfStatus(result.status, result.error?.message),
      });
    }
  }

  // 2. The plans (asked again where the operation says so), then the schedule.
  const planned: ClusterRun<Plan> =
    plannedWithLease ??
    (await cluster.run(
      (client, node) => planOf(client, node, operation.planRequest),
      signal ? { signal } : {},
      plannable,
    ));
  const byName = new Map(planned.results.map((r) => [r.node.name, r]));
  const again = operation.replan?.(planned.results.map((r) => ({ node: r.node, plan: r.value ?? null })));
  let interrupted = planned.interrupted;
  if (again && again.size > 0 && !interrupted) {
    const asked = plannable.filter((n) => again.has(n.name));
    const replanned = await cluster.run(
      (client, node) => planOf(client, node, again.get(node.name)!),
      signal ? { signal } : {},
      asked,
    );
    for (const result of replanned.results) byName.set(result.node.name, result);
    interrupted ||= replanned.interrupted;
  }
  const nodes = targets.map((node): RolloutNode => {
    const prior = early.get(node.name);
    if (prior) return prior;
    const plan = byName.get(node.name)!;
    const base = { node, plan, wave: null, canary: false };
    if (changes(plan)) return { ...base, outcome: 'skipped', message: NOT_CARRIED_OUT };
    if (plan.status === 'online') return { ...base, ...operation.unchanged(plan.value!, node) };
    return { ...base, ...outcomeOfStatus(plan.status, plan.error?.message) };
  });
  const scheduleNodes = nodes.map(scheduleNode);
  const check = operation.precheck?.(job, scheduleNodes) ?? { ok: true };
  const schedule = check.ok
    ? planSchedule({
        mode: operation.mode,
        nodes: scheduleNodes,
        policy: operation.policy,
        version: operation.version,
      })
    : policyOf();
  const byRecord = new Map(nodes.map((r) => [r.node.name, r]));
  schedule.waves.forEach((wave, index) => {
    for (const name of wave) byRecord.get(name)!.wave = index + 1;
  });
  for (const name of schedule.canary?.nodes ?? []) byRecord.get(name)!.canary = true;
  if (schedule.held) {
    const canaries = schedule.canary?.nodes ?? [];
    for (const name of schedule.held.nodes) {
      Object.assign(byRecord.get(name)!, {
        outcome: 'untouched',
        message: `held back: canary of ${schedule.canary?.version} on ${nodeList(canaries, 3)}`,
      });
    }
  }
  if (!check.ok) {
    for (const record of nodes) {
      if (changes(record.plan))
        Object.assign(record, { outcome: 'untouched', message: 'not carried out: nothing to promote' });
    }
  }
  return new PlannedRollout(
    options,
    nodes,
    interrupted,
    schedule,
    null,
    check.ok ? null : check,
    acquisition,
  );
}

export interface RunRolloutOptions extends RolloutOptions, Omit<ExecuteHooks, 'signal'> {
  /** Every node has answered its plan (or was skipped): the face shows the plans. */
  onPlanned?(planned: PlannedRollout): void;
  /** Asked only when some node would change and nothing stands in the way. */
  confirm(planned: PlannedRollout): Promise<ConfirmAnswer>;
}

/** The whole flow in one call: lease and plan, ask, carry out. */
export async function runRollout(options: RunRolloutOptions): Promise<RolloutResult> {
  const planned = await planRollout(options);
  options.onPlanned?.(planned);
  if (!planned.needsConfirmation) return planned.unasked();
  const answer = await options.confirm(planned);
  if (answer !== 'yes') return planned.decline(answer);
  return planned.execute(options);
}

/** The exit code a rollout calls for (the kernel's precedence, plus a refused or lost lease). */
export function rolloutExitCode(result: RolloutResult): number {
  if (result.ended === 'refused' || result.ended === 'blocked') return ExitCode.failed;
  const code = exitCodeFor(result.nodes, result.interrupted);
  if (result.stopped?.reason === 'lease-lost' && (code === ExitCode.ok || code === ExitCode.unreachable)) {
    return ExitCode.failed;
  }
  return code;
}

/** The version a node runs after the rollout, as far as its answers tell (null: unknown, none). */
export function versionAfter(record: RolloutNode): string | null {
  const revert = record.revert?.value;
  if (revert?.ok) return revert.versionTo;
  const run = record.run?.value;
  if (run) return run.ok || run.committed ? run.versionTo : run.versionFrom;
  return record.plan.value?.versionFrom ?? null;
}

/** Which reachable node runs which version now, versions in order of first appearance. */
export function whereNodesStand(nodes: readonly RolloutNode[]): { version: string; nodes: string[] }[] {
  const groups = new Map<string, string[]>();
  for (const record of nodes) {
    if (record.plan.status !== 'online') continue;
    const version = versionAfter(record) ?? 'nothing';
    groups.set(version, [...(groups.get(version) ?? []), record.node.name]);
  }
  return [...groups].map(([version, names]) => ({ version, nodes: names }));
}
