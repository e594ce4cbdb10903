/**
 * What a rollout rolls out (src/client/rollout.ts carries any of them out): a deploy of a job
 * spec, a promotion of the canary out on the fleet, a rollback, a stop or purge. Each says what
 * every node is asked to plan, how to carry it out on one node, what "no change" means there, and
 * the policy its waves follow.
 */
import type { OutcomeAndMessage } from '../core/outcome.js';
import { specVersion } from '../core/version.js';
import { checkPromote, type PromoteCheck, type RolloutMode, type ScheduleNode } from '../core/waves.js';
import type { OperationResult, Plan, PlanRequest } from '../protocol/api.js';
import type { InventoryNode } from '../protocol/inventory.js';
import type { JobSpec, UpdatePolicy } from '../protocol/job.js';
import type { AgentClient, ProgressCallback, RequestOptions } from './agent-client.js';

/** What the rollout tells an operation about the node it carries it out on. */
export interface OperationContext {
  node: InventoryNode;
  /** The node is one of the canaries this rollout puts out. */
  canary: boolean;
  /** The command's lease (sent with the change, so the agent refuses everybody else's). */
  request: RequestOptions;
}

/** A node's plan, as an operation sees it when it decides what to ask again. */
export interface PlannedNode {
  node: InventoryNode;
  plan: Plan | null;
}

export interface RolloutOperation {
  mode: RolloutMode;
  /** What every node is asked to plan. */
  planRequest: PlanRequest;
  /** deploy / promote: the version rolled out (its waves, its canary). */
  version: string | null;
  /** The job file's update policy: max_parallel, auto_revert, canary (defaults for the rest). */
  policy: Partial<UpdatePolicy>;
  /** Carries the operation out on one node. */
  execute(
    client: AgentClient,
    onProgress: ProgressCallback,
    context: OperationContext,
  ): Promise<OperationResult>;
  /** The outcome of a node whose plan changes nothing (`Already up to date`, …). */
  unchanged(plan: Plan, node: InventoryNode): OutcomeAndMessage;
  /**
   * After every node planned: the nodes to ask again with another request, by name (a rollback
   * while a canary is out takes the canaries back and leaves the others alone).
   */
  replan?(nodes: readonly PlannedNode[]): Map<string, PlanRequest> | null;
  /** Whether the fleet lets this operation go on at all (promote: a canary of its version is out). */
  precheck?(job: string, nodes: readonly ScheduleNode[]): PromoteCheck;
}

/** `run job` and the TUI's d (deploy) and s (scale: the spec with its new count). */
export function deployOperation(spec: JobSpec): RolloutOperation {
  return {
    mode: 'deploy',
    planRequest: { operation: 'deploy', spec },
    version: specVersion(spec),
    policy: spec.update,
    execute: (client, onProgress, { canary, request }) =>
      client.deploy(spec, onProgress, canary ? { ...request, canary: true } : request),
    unchanged: () => ({ outcome: 'unchanged', message: 'Already up to date' }),
  };
}

/**
 * `promote job` and the TUI's P: the canary's version rolled out to the rest of the fleet in
 * waves; once every node runs it, the canaries' marks are cleared (see rollout.ts).
 */
export function promoteOperation(spec: JobSpec): RolloutOperation {
  const version = specVersion(spec);
  return {
    ...deployOperation(spec),
    mode: 'promote',
    execute: (client, onProgress, { request }) => client.deploy(spec, onProgress, request),
    unchanged: (plan) =>
      plan.canary?.version === version
        ? { outcome: 'unchanged', message: `Canary of ${version}` }
        : { outcome: 'unchanged', message: 'Already up to date' },
    precheck: (job, nodes) => checkPromote(job, nodes, version),
  };
}

/**
 * `rollback job [--to VERSION]` and the TUI's r. While a canary is out on the fleet (and no
 * `--to` is given), it takes the canaries back to the version they ran before and leaves every
 * other node alone: they never left that version.
 */
export function rollbackOperation(
  job: string,
  to?: string,
  policy: Partial<UpdatePolicy> = {},
): RolloutOperation {
  /** Per node, the version asked for when it differs from `to` (a canary rollback). */
  const target = new Map<string, string>();
  const notCanary = new Set<string>();
  return {
    mode: 'rollback',
    planRequest: { operation: 'rollback', to },
    version: null,
    policy,
    execute: (client, onProgress, { node, request }) =>
      client.rollback(job, target.get(node.name) ?? to, onProgress, request),
    // Asked for a version this node does not have: that is a failure, not "nothing to do".
    unchanged: (plan, node) => {
      if (notCanary.has(node.name)) {
        return { outcome: 'unchanged', message: `Not a canary: stays on ${plan.versionFrom ?? '-'}` };
      }
      return to !== undefined && plan.versionFrom !== to
        ? { outcome: 'failed', message: plan.warnings[0] ?? `version ${to} is not in this node's history` }
        : { outcome: 'unchanged', message: plan.warnings[0] ?? 'Nothing to roll back' };
    },
    replan: (nodes) => {
      if (to !== undefined || !nodes.some((n) => n.plan?.canary)) return null;
      const again = new Map<string, PlanRequest>();
      for (const { node, plan } of nodes) {
        if (!plan) continue;
        const back = plan.canary?.from ?? null;
        if (plan.canary && back !== null) {
          target.set(node.name, back);
          again.set(node.name, { operation: 'rollback', to: back });
        } else if (plan.versionFrom !== null) {
          // Asked to "roll back" to what it runs: the agent's answer is a plan that changes nothing.
          notCanary.add(node.name);
          target.set(node.name, plan.versionFrom);
          again.set(node.name, { operation: 'rollback', to: plan.versionFrom });
        }
      }
      return again;
    },
  };
}

/** `stop job [--purge]` and the TUI's x and p. */
export function stopOperation(
  job: string,
  purge: boolean,
  policy: Partial<UpdatePolicy> = {},
): RolloutOperation {
  return {
    mode: 'stop',
    planRequest: { operation: 'stop', purge },
    version: null,
    policy,
    execute: (client, onProgress, { request }) => client.stop(job, purge, onProgress, request),
    unchanged: () => ({ outcome: 'unchanged', message: purge ? 'Nothing to purge' : 'Already stopped' }),
  };
}
