/**
 * What most commands do first: read the job file and the inventory, resolve the job's target
 * nodes, and build the fan-out `Cluster` from the flags. Plus the small conversions every
 * command shares (a node's result → its STATUS label, JSON error, outcome).
 */
import path from 'node:path';
import { Cluster, type ClusterRun, type NodeResult } from '../client/cluster.js';
import {
  AgentHttpError,
  AgentProtocolError,
  AgentUnauthorizedError,
  AgentUnreachableError,
} from '../client/errors.js';
import { checkJobAgainstInventory, type LoadedJob, loadInventoryFile, loadJobFile } from '../config/index.js';
import { InputError, InputErrors } from '../core/errors.js';
import type { CliNodeError, CliNodeStatus } from '../protocol/cli-json.js';
import type { Inventory, InventoryNode } from '../protocol/inventory.js';
import {
  type CommandContext,
  positiveIntFlag,
  positiveNumberFlag,
  stringFlag,
  UsageError,
} from './command.js';
import { exitCodeFor } from './exit-codes.js';
import type { OutputStream } from './io.js';
import { collectDuringFanOut, collectGarbage, LARGE_FAN_OUT } from './memory.js';
import type { NodeLabel, NodeOutcome } from './render/tables.js';

export interface JobTarget {
  job: LoadedJob;
  inventory: Inventory;
  /** The job's target nodes, in inventory group order. */
  nodes: InventoryNode[];
}

/** A path as the user gave it, made absolute against the command's working directory. */
export function userPath(context: Pick<CommandContext, 'io'>, given: string): string {
  if (path.isAbsolute(given) || context.io.cwd === process.cwd()) return given;
  return path.join(context.io.cwd, given);
}

export async function loadInventory(context: CommandContext): Promise<Inventory> {
  const inventory = await loadInventoryFile(
    userPath(context, stringFlag(context.flags, 'inventory')),
    context.io.env,
  );
  // Parsing a very large inventory leaves tens of MB of garbage: drop it before fanning out.
  if (inventory.nodes.length >= LARGE_FAN_OUT) collectGarbage();
  return inventory;
}

/** Reads the job file (first positional) and the inventory, and resolves the target nodes. */
export async function loadJobTarget(context: CommandContext): Promise<JobTarget> {
  const file = context.args[0];
  if (!file) throw new UsageError('missing the job file');
  const jobPath = userPath(context, file);
  // Both files are read even if one is bad, so the operator sees every problem at once.
  const [job, inventory] = await Promise.allSettled([loadJobFile(jobPath), loadInventory(context)]);
  if (job.status === 'rejected' || inventory.status === 'rejected') {
    const reasons = [job, inventory].flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    // Both files are bad: report every problem of both.
    const all = reasons.map(inputErrorsOf);
    if (reasons.length > 1 && all.every(Boolean))
      throw new InputErrors(all.flatMap((errors) => errors ?? []));
    throw reasons[0];
  }
  const nodes = checkJobAgainstInventory(job.value.spec, inventory.value, jobPath);
  return { job: job.value, inventory: inventory.value, nodes };
}

/** The single errors inside an `InputError` or `InputErrors`, or undefined for anything else. */
export function inputErrorsOf(error: unknown): InputError[] | undefined {
  if (error instanceof InputErrors) return error.errors;
  if (error instanceof InputError) return [error];
  return undefined;
}

export function makeCluster(context: CommandContext, nodes: readonly InventoryNode[]): Cluster {
  const concurrency = positiveIntFlag(context.flags, 'parallel', 10_000);
  const requestTimeoutMs = Math.round(positiveNumberFlag(context.flags, 'timeout') * 1000);
  return new Cluster(nodes, {
    concurrency,
    client: { requestTimeoutMs, connectTimeoutMs: Math.min(5_000, requestTimeoutMs) },
    onNodeSettled: collectDuringFanOut(nodes.length),
  });
}

// ---------------------------------------------------------------------------------------------

export function labelOf(result: Pick<NodeResult<unknown>, 'status'>): NodeLabel {
  switch (result.status) {
    case 'ok':
      return 'ONLINE';
    case 'offline':
      return 'OFFLINE';
    case 'unauthorized':
      return 'UNAUTHORIZED';
    case 'skipped':
      return 'SKIPPED';
    default:
      return 'ERROR';
  }
}

export function jsonStatusOf(result: Pick<NodeResult<unknown>, 'status'>): CliNodeStatus {
  return labelOf(result).toLowerCase() as CliNodeStatus;
}

export function jsonErrorOf(error: Error | undefined): CliNodeError | null {
  if (!error) return null;
  if (error instanceof AgentHttpError) return { code: error.body.code, message: error.message };
  if (error instanceof AgentUnreachableError) return { code: 'offline', message: error.message };
  if (error instanceof AgentUnauthorizedError) return { code: 'unauthorized', message: error.message };
  if (error instanceof AgentProtocolError) return { code: 'protocol', message: error.message };
  return { code: 'error', message: error.message };
}

/** The outcome of a node that could not be asked (or answered with an error). */
export function failureOutcome(result: NodeResult<unknown>): NodeOutcome {
  const name = result.node.name;
  const message = result.error?.message ?? 'not contacted';
  switch (result.status) {
    case 'offline':
      return { name, outcome: 'offline', message };
    case 'unauthorized':
      return { name, outcome: 'unauthorized', message };
    case 'skipped':
      return { name, outcome: 'skipped', message: 'not contacted: interrupted' };
    default:
      return { name, outcome: 'failed', message };
  }
}

/** Warnings (on stderr) for nodes that will be left out. */
export function warnSkipped(out: OutputStream, results: readonly NodeResult<unknown>[], what: string): void {
  for (const result of results) {
    if (result.status === 'ok' || result.status === 'skipped') continue;
    out.write(
      `Warning: ${result.node.name} is ${labelOf(result)} (${result.error?.message ?? 'no answer'}); ${what}\n`,
    );
  }
}

export function writeLines(out: OutputStream, lines: readonly string[]): void {
  if (lines.length) out.write(`${lines.join('\n')}\n`);
}

export function writeJson(out: OutputStream, document: unknown): void {
  out.write(`${JSON.stringify(document, null, 2)}\n`);
}

export function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** Exit code of a read-only command: nodes that answered are fine; the others decide. */
export function readExitCode(run: ClusterRun<unknown>): number {
  const outcomes = run.results.map((r) =>
    r.status === 'ok' ? { name: r.node.name, outcome: 'unchanged' as const, message: '' } : failureOutcome(r),
  );
  return exitCodeFor(outcomes, run.interrupted);
}

/** The fields every node entry of a `--json` document starts with. */
export function jsonNodeOf(r: NodeResult<unknown>): {
  node: string;
  location: string;
  status: CliNodeStatus;
  error: CliNodeError | null;
  latencyMs: number | null;
} {
  return {
    node: r.node.name,
    location: r.node.location,
    status: jsonStatusOf(r),
    error: jsonErrorOf(r.error),
    latencyMs: r.status === 'skipped' ? null : roundMs(r.latencyMs),
  };
}

/** A read of a job the node has never heard of (404 not_found) is `empty()`, not an error. */
export async function unlessUnknownJob<T>(read: Promise<T>, empty: () => T): Promise<T> {
  try {
    return await read;
  } catch (error) {
    if (error instanceof AgentHttpError && error.status === 404 && error.body.code === 'not_found')
      return empty();
    throw error;
  }
}
