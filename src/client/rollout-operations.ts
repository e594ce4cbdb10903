/**
 * What a rollout rolls out (src/client/rollout.ts carries any of them out): a deploy of a job
 * spec, a promotion of the canary out on the fleet, a rollback, a stop or purge. Each says what
 * every node is asked to plan, how to carry it out on one node, what "no change" means there, and
 * the policy its waves follow.
 */
import type { OutcomeAndMessage } from '../core/outcome.js';
import { imagesDiffGoesTo } from '../core/spec-diff.js';
import { specVersion } from '../core/version.js';
import { checkPromote, type PromoteCheck, type RolloutMode, type ScheduleNode } from '../core/waves.js';
import type { OperationResult, Plan, PlanRequest } from '../protocol/api.js';
import type { InventoryNode } from '../protocol/inventory.js';
import type { JobSpec, UpdatePolicy } from '../protocol/job.js';
import type { RegistryAuth } from '../protocol/registry.js';
import type { AgentClient, ProgressCallback, RequestOptions } from './agent-client.js';

/** What the rollout tells an operation about the node it carries it out on. */
export interface OperationContext {
  node: InventoryNode;
  /** The node is one of the canaries this rollout puts out. */
  canary: boolean;
  /** The command's lease (sent with the change, so the agent refuses everybody else's). */
  request: RequestOptions;
  /** The node's answer to the plan request (or to the one it was asked again). */
  plan: Plan | null;
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
  /** deploy / promote: the registry credentials this run brought (a revert sends them too). */
  registryAuth?: readonly RegistryAuth[];
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

/** Request options, or none at all when there is nothing to send (no lease, no credentials). */
function sent<T extends object>(options: T): T | undefined {
  return Object.keys(options).length > 0 ? options : undefined;
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
    mode: 'deploy',
    planRequest: { operation: 'deploy', spec, ...auth },
    version: specVersion(spec),
    policy: spec.update,
    ...auth,
    execute: (client, onProgress, { canary, request }) =>
      client.deploy(spec, onProgress, sent({ ...request, ...auth, ...(canary ? { canary: true } : {}) })),
    unchanged: () => ({ outcome: 'unchanged', message: 'Already up to date' }),
  };
}

/**
 * `promote job` and the TUI's P: the canary's version rolled out to the rest of the fleet in
 * waves; once every node runs it, the canaries' marks are cleared (see rollout.ts).
 */
export function promoteOperation(
  spec: JobSpec,
  registryAuth: readonly RegistryAuth[] = [],
): RolloutOperation {
  const version = specVersion(spec);
  const auth = registryAuth.length > 0 ? { registryAuth: [...registryAuth] } : {};
  return {
    ...deployOperation(spec, registryAuth),
    mode: 'promote',
    execute: (client, onProgress, { request }) =>
      client.deploy(spec, onProgress, sent({ ...request, ...auth })),
    unchanged: (plan) =>
      plan.canary?.version === version
        ? { outcome: 'unchanged', message: `Canary of ${version}` }
        : { outcome: 'unchanged', message: 'Already up to date' },
    precheck: (job, nodes) => checkPromote(job, nodes, version),
  };
}

/** The credentials of the run that triggers a rollback, for the images it may pull. */
export interface RollbackCredentials {
  source: CredentialSource;
  /** The images of the job file (the version a node goes back to may use another: see its plan). */
  images: readonly string[];
}

/**
 * `rollback job [--to VERSION]` and the TUI's r. While a canary is out on the fleet (and no
 * `--to` is given), it takes the canaries back to the version they ran before and leaves every
 * other node alone: they never left that version.
 *
 * With `credentials`, each node's rollback carries the credentials for the image its plan goes
 * back to (and the job file's), from this run: the agent stores none, so an image it must pull
 * again is pulled with the operator's credentials.
 */
export function rollbackOperation(
  job: string,
  to?: string,
  policy: Partial<UpdatePolicy> = {},
  credentials?: RollbackCredentials,
): RolloutOperation {
  /** Per node, the version asked for when it differs from `to` (a canary rollback). */
  const target = new Map<string, string>();
  const notCanary = new Set<string>();
  return {
    mode: 'rollback',
    planRequest: { operation: 'rollback', to },
    version: null,
    policy,
    execute: async (client, onProgress, { node, request, plan }) => {
      const version = target.get(node.name) ?? to;
      if (!credentials) return client.rollback(job, version, onProgress, sent(request));
      // Every image the node goes back to (each entry's), besides the job file's.
      const registryAuth = await credentials.source.forImages([
        ...credentials.images,
        ...imagesDiffGoesTo(plan?.diff),
      ]);
      const auth = registryAuth.length > 0 ? { registryAuth } : {};
      return client.rollback(job, version, onProgress, sent({ ...request, ...auth }));
    },
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
