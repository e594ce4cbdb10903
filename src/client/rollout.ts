/**
 * A rollout, the flow behind every change from either face (`run`/`rollback`/`stop job` in the
 * CLI, d/s/r/x/p in the TUI):
 *   1. plan on every target node at once (bounded fan-out through the `Cluster`);
 *   2. hand the per-node plans to the face, which asks the operator (the CLI prompts at once; the
 *      TUI shows a pane that is answered later), unless nothing would change;
 *   3. carry the operation out on the nodes whose plan changes something, wave by wave
 *      (`executionWaves`), with per-node progress; Ctrl-C (the signal) starts no further node
 *      and lets the ones in flight finish;
 *   4. return one record per target node (plan result, run result, outcome, message), from which
 *      the CLI prints its tables and `--json` and the TUI its board.
 * What the faces print is theirs; what happens, and what it is called, is decided here.
 */
import {
  NOT_CARRIED_OUT,
  type OutcomeAndMessage,
  outcomeOfResult,
  outcomeOfStatus,
} from '../core/outcome.js';
import { imagesDiffGoesTo } from '../core/spec-diff.js';
import type { OperationResult, Plan, PlanRequest, ProgressLine } from '../protocol/api.js';
import type { InventoryNode } from '../protocol/inventory.js';
import type { JobSpec } from '../protocol/job.js';
import type { RegistryAuth } from '../protocol/registry.js';
import type { AgentClient, ProgressCallback } from './agent-client.js';
import type { Cluster, NodeResult } from './cluster.js';

/** What is rolled out: how to plan it, how to carry it out on one node, what "no change" means. */
export interface RolloutOperation {
  /** What every node is asked to plan. */
  planRequest: PlanRequest;
  /** Carries the operation out on one node (`plan`: that node's answer to `planRequest`). */
  execute(client: AgentClient, onProgress: ProgressCallback, plan: Plan | null): Promise<OperationResult>;
  /** The outcome of a node whose plan changes nothing (`Already up to date`, …). */
  unchanged(plan: Plan): OutcomeAndMessage;
}

/** Where a rollout's registry credentials come from (`RegistryCredentials` in src/config). */
export interface CredentialSource {
  /** Credentials for the registries of `images` (none for registries that need none). */
  forImages(images: readonly string[]): Promise<RegistryAuth[]>;
}

/**
 * `run job` and the TUI's d (deploy) and s (scale: the spec with its new count). `registryAuth`:
 * the credentials for the spec's images, sent with the plan (the agent checks it could pull) and
 * with the deploy (the agent pulls with them), kept by no one.
 */
export function deployOperation(spec: JobSpec, registryAuth: readonly RegistryAuth[] = []): RolloutOperation {
  const auth = registryAuth.length > 0 ? { registryAuth: [...registryAuth] } : {};
  return {
    planRequest: { operation: 'deploy', spec, ...auth },
    execute: (client, onProgress) =>
      registryAuth.length > 0 ? client.deploy(spec, onProgress, auth) : client.deploy(spec, onProgress),
    unchanged: () => ({ outcome: 'unchanged', message: 'Already up to date' }),
  };
}

/** The credentials of the run that triggers a rollback, for the images it may pull. */
export interface RollbackCredentials {
  source: CredentialSource;
  /** The images of the job file (the version a node goes back to may use another: see its plan). */
  images: readonly string[];
}

/**
 * `rollback job [--to VERSION]` and the TUI's r. With `credentials`, each node's rollback carries
 * the credentials for the images its plan goes back to (and the job file's), from this run: the
 * agent stores none, so an image it must pull again is pulled with the operator's credentials.
 */
export function rollbackOperation(
  job: string,
  to?: string,
  credentials?: RollbackCredentials,
): RolloutOperation {
  return {
    planRequest: { operation: 'rollback', to },
    execute: async (client, onProgress, plan) => {
      if (!credentials) return client.rollback(job, to, onProgress);
      const images = [...credentials.images, ...imagesDiffGoesTo(plan?.diff)];
      const registryAuth = await credentials.source.forImages(images);
      if (registryAuth.length === 0) return client.rollback(job, to, onProgress);
      return client.rollback(job, to, onProgress, { registryAuth });
    },
    // Asked for a version this node does not have: that is a failure, not "nothing to do".
    unchanged: (plan) =>
      to !== undefined && plan.versionFrom !== to
        ? { outcome: 'failed', message: plan.warnings[0] ?? `version ${to} is not in this node's history` }
        : { outcome: 'unchanged', message: plan.warnings[0] ?? 'Nothing to roll back' },
  };
}

/** `stop job [--purge]` and the TUI's x and p. */
export function stopOperation(job: string, purge: boolean): RolloutOperation {
  return {
    planRequest: { operation: 'stop', purge },
    execute: (client, onProgress) => client.stop(job, purge, onProgress),
    unchanged: () => ({ outcome: 'unchanged', message: purge ? 'Nothing to purge' : 'Already stopped' }),
  };
}

/** One target node of a rollout, as far as it got. */
export interface RolloutNode extends OutcomeAndMessage {
  node: InventoryNode;
  /** The plan request's result (`skipped` when the planning was interrupted first). */
  plan: NodeResult<Plan>;
  /** The operation's result; absent when it was not carried out on this node. */
  run?: NodeResult<OperationResult>;
}

/** The operator's answer to the plans. */
export type ConfirmAnswer = 'yes' | 'no' | 'interrupted';

/**
 * How a rollout ended: interrupted while planning, nothing to change on any reachable node,
 * declined (or interrupted) at the confirmation, or carried out.
 */
export type RolloutEnd =
  | 'plan-interrupted'
  | 'nothing-to-change'
  | 'declined'
  | 'confirm-interrupted'
  | 'executed';

export interface RolloutResult {
  /** One record per target node, in target order. */
  nodes: RolloutNode[];
  ended: RolloutEnd;
  /** The operation was carried out (confirmed). */
  confirmed: boolean;
  /** Ctrl-C stopped the rollout before every node was done (or at the confirmation). */
  interrupted: boolean;
}

/**
 * Which changing nodes are carried out, in which groups and in what order: each wave starts
 * once the one before has finished. Today one wave of every changing node (bounded by the
 * Cluster's concurrency); fleet rollouts (max_parallel, canary) replace this function.
 */
export type WavePlanner = (changing: readonly RolloutNode[]) => RolloutNode[][];

export const executionWaves: WavePlanner = (changing) => (changing.length > 0 ? [[...changing]] : []);

export interface RolloutOptions {
  cluster: Cluster;
  job: string;
  operation: RolloutOperation;
  /** The target nodes (default: every node of the cluster). */
  nodes?: readonly InventoryNode[];
  /** Once aborted, no further node is contacted; the ones in flight finish. */
  signal?: AbortSignal;
  waves?: WavePlanner;
}

export interface ExecuteHooks {
  /** Default: the signal the rollout was planned with. */
  signal?: AbortSignal;
  /** A node's operation is about to start. */
  onNodeStart?(node: InventoryNode): void;
  /** A progress line of a node's operation. */
  onProgress?(node: InventoryNode, line: ProgressLine): void;
  /** A node's operation settled (its record has `run`, `outcome` and `message`). */
  onNodeDone?(record: RolloutNode): void;
}

/** The plans of every target node, waiting for the operator's answer. */
export class PlannedRollout {
  private settled: RolloutResult | null = null;
  private executing = false;

  constructor(
    readonly options: RolloutOptions,
    /** Updated in place as the rollout goes on: copy a record to keep a snapshot. */
    readonly nodes: RolloutNode[],
    /** Ctrl-C came while planning: some nodes were not asked. */
    readonly interrupted: boolean,
  ) {}

  /** The nodes whose plan changes something, in target order. */
  get changing(): RolloutNode[] {
    return this.nodes.filter((record) => changes(record.plan));
  }

  /** Whether there is a question to ask: the planning finished and some node would change. */
  get needsConfirmation(): boolean {
    return !this.interrupted && this.changing.length > 0;
  }

  /** The result when there is nothing to ask (interrupted while planning, or nothing changes). */
  unasked(): RolloutResult {
    return this.end(this.interrupted ? 'plan-interrupted' : 'nothing-to-change', this.interrupted);
  }

  /** The operator said no (`declined`) or pressed Ctrl-C at the question: nothing is changed. */
  decline(answer: Exclude<ConfirmAnswer, 'yes'> = 'no'): RolloutResult {
    this.assertOpen();
    for (const record of this.changing) {
      Object.assign(
        record,
        answer === 'interrupted'
          ? { outcome: 'skipped', message: NOT_CARRIED_OUT }
          : { outcome: 'declined', message: 'declined; nothing was changed' },
      );
    }
    return this.end(answer === 'interrupted' ? 'confirm-interrupted' : 'declined', answer === 'interrupted');
  }

  /** Carries the operation out on the changing nodes, wave by wave. */
  async execute(hooks: ExecuteHooks = {}): Promise<RolloutResult> {
    this.assertOpen();
    if (!this.needsConfirmation) return this.unasked();
    this.executing = true;
    const signal = hooks.signal ?? this.options.signal;
    const { cluster, operation } = this.options;
    const byName = new Map(this.nodes.map((record) => [record.node.name, record]));
    let interrupted = false;
    for (const wave of (this.options.waves ?? executionWaves)(this.changing)) {
      if (signal?.aborted) {
        interrupted = true;
        break;
      }
      const run = await cluster.run(
        (client, node) => {
          hooks.onNodeStart?.(node);
          const plan = byName.get(node.name)?.plan.value ?? null;
          return operation.execute(client, (line) => hooks.onProgress?.(node, line), plan);
        },
        {
          ...(signal ? { signal } : {}),
          onSettled: (result) => {
            const record = byName.get(result.node.name)!;
            settleRun(record, result);
            hooks.onNodeDone?.(record);
          },
        },
        wave.map((record) => record.node),
      );
      // Nodes never dispatched (interrupted): not carried out.
      for (const result of run.results) {
        if (result.status === 'skipped') settleRun(byName.get(result.node.name)!, result);
      }
      interrupted ||= run.interrupted;
    }
    return this.end('executed', interrupted || (signal?.aborted ?? false), true);
  }

  private assertOpen(): void {
    if (this.settled || this.executing) throw new Error('this rollout was already answered');
  }

  private end(ended: RolloutEnd, interrupted: boolean, confirmed = false): RolloutResult {
    this.settled = { nodes: this.nodes, ended, confirmed, interrupted };
    return this.settled;
  }
}

function changes(plan: NodeResult<Plan>): boolean {
  return plan.status === 'online' && plan.value!.changes;
}

function settleRun(record: RolloutNode, result: NodeResult<OperationResult>): void {
  record.run = result;
  if (result.status === 'online') Object.assign(record, outcomeOfResult(result.value!));
  else if (result.status === 'skipped')
    Object.assign(record, { outcome: 'skipped', message: NOT_CARRIED_OUT });
  else Object.assign(record, outcomeOfStatus(result.status, result.error?.message));
}

/** Step 1: asks every target node for its plan. */
export async function planRollout(options: RolloutOptions): Promise<PlannedRollout> {
  const { cluster, job, operation, signal } = options;
  const planned = await cluster.run(
    (client) => client.plan(job, operation.planRequest),
    signal ? { signal } : {},
    options.nodes ?? cluster.nodes,
  );
  const nodes = planned.results.map((plan): RolloutNode => {
    if (changes(plan)) return { node: plan.node, plan, outcome: 'skipped', message: NOT_CARRIED_OUT };
    if (plan.status === 'online') return { node: plan.node, plan, ...operation.unchanged(plan.value!) };
    return { node: plan.node, plan, ...outcomeOfStatus(plan.status, plan.error?.message) };
  });
  return new PlannedRollout(options, nodes, planned.interrupted);
}

export interface RunRolloutOptions extends RolloutOptions, Omit<ExecuteHooks, 'signal'> {
  /** Every node has answered its plan (or was skipped): the face shows the plans. */
  onPlanned?(planned: PlannedRollout): void;
  /** Asked only when some node would change and the planning was not interrupted. */
  confirm(planned: PlannedRollout): Promise<ConfirmAnswer>;
}

/** The whole flow in one call: plan, ask, carry out. */
export async function runRollout(options: RunRolloutOptions): Promise<RolloutResult> {
  const planned = await planRollout(options);
  options.onPlanned?.(planned);
  if (!planned.needsConfirmation) return planned.unasked();
  const answer = await options.confirm(planned);
  if (answer !== 'yes') return planned.decline(answer);
  return planned.execute(options);
}
