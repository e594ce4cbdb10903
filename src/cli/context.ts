/**
 * What most commands do first: read the job file and the inventory, resolve the job's target
 * nodes, and build the fan-out `Cluster` from the flags. Plus the small conversions every
 * command shares (a node's result → its STATUS label, JSON error, outcome).
 */
import { once } from 'node:events';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import sea from 'node:sea';
import { Worker } from 'node:worker_threads';
import { Cluster, type ClusterRun, type NodeResult } from '../client/cluster.js';
import { AgentHttpError } from '../client/errors.js';
import { boundHeapGrowthForFleet } from '../client/heap.js';
import {
  checkJobAgainstInventory,
  credentialsOfRun,
  type LoadedJob,
  loadInventoryFile,
  loadJobFile,
  type RegistryCredentials,
} from '../config/index.js';
import { DokkupError, InputErrors, inputErrorsOf } from '../core/errors.js';
import { exitCodeForStatuses, type NodeLabel, nodeLabel, outcomeOfStatus } from '../core/outcome.js';
import { jsonText, terminalText } from '../core/terminal-text.js';
import { plainHttpWarning } from '../core/trust.js';
import type { CliNodeError, CliNodeStatus } from '../protocol/cli-json.js';
import type { Inventory, InventoryNode } from '../protocol/inventory.js';
import {
  type CommandContext,
  positiveIntFlag,
  positiveNumberFlag,
  stringFlag,
  UsageError,
} from './command.js';
import type { OutputStream } from './io.js';
import type { NodeOutcome } from './render/tables.js';

export interface JobTarget {
  job: LoadedJob;
  inventory: Inventory;
  /** The job's target nodes, in inventory group order. */
  nodes: InventoryNode[];
  /** Registry credentials of this run (job file, inventory, Docker config), looked up when asked. */
  credentials: RegistryCredentials;
}

/** A path as the user gave it, made absolute against the command's working directory. */
export function userPath(context: Pick<CommandContext, 'io'>, given: string): string {
  if (path.isAbsolute(given) || context.io.cwd === process.cwd()) return given;
  return path.join(context.io.cwd, given);
}

/** Inventory files from this size on (about 3,000 nodes) are read in a worker thread. */
export const LARGE_INVENTORY_BYTES = 256 * 1024;

export async function loadInventory(context: CommandContext): Promise<Inventory> {
  const file = userPath(context, stringFlag(context.flags, 'inventory'));
  const size = await stat(file).then(
    (s) => s.size,
    () => 0,
  );
  if (size >= LARGE_INVENTORY_BYTES) return loadInventoryInWorker(file, context.io.env);
  return loadInventoryFile(file, context.io.env);
}

/**
 * Parsing ten thousand nodes of YAML leaves about 120 MB of garbage that V8 collects only when
 * it gets round to it, so the fan-out after it would start from a bloated heap (peak RSS 290
 * instead of 165 MB). In a worker, that garbage goes away with the worker's heap.
 */
export async function loadInventoryInWorker(
  file: string,
  env: Record<string, string | undefined>,
  startWorker: (workerData: unknown) => Worker = startInventoryWorker,
): Promise<Inventory> {
  let worker: Worker;
  try {
    worker = startWorker({ file, env });
  } catch {
    return loadInventoryFile(file, env);
  }
  try {
    const [message] = (await Promise.race([once(worker, 'message'), once(worker, 'error')])) as [
      { ok?: boolean; inventory?: Inventory } | Error,
    ];
    if (!(message instanceof Error) && message.ok && message.inventory) {
      // It ends by itself once it gave its memory back (inventory-worker.ts); the command goes
      // on meanwhile, and need not wait for it to end.
      worker.unref();
      return message.inventory;
    }
  } catch {
    // The worker could not run (e.g. from the TypeScript sources): read it here instead.
  }
  await worker.terminate();
  // Unreadable or invalid: read it here, to throw the error with its file, line and field.
  return loadInventoryFile(file, env);
}

/** The worker's script: a file beside this one, or in the single-file dokkup an asset (scripts/package.mjs). */
function startInventoryWorker(workerData: unknown): Worker {
  const options = { workerData, resourceLimits: INVENTORY_WORKER_LIMITS };
  if (sea.isSea()) return new Worker(sea.getAsset('inventory-worker.js', 'utf8'), { ...options, eval: true });
  return new Worker(new URL('./inventory-worker.js', import.meta.url), options);
}

/**
 * The parse makes its garbage young: with V8's default young generation (sized by the machine's
 * memory: 64 MB semi-spaces on a 24 GB host) a 10,000-node inventory peaked at about 300 MB RSS
 * while it was read, with 4 MB at 210 MB, and read faster (fewer pages touched).
 */
const INVENTORY_WORKER_LIMITS = { maxYoungGenerationSizeMb: 4 };

/**
 * Reads the job file (first positional) and the inventory, and resolves the target nodes.
 * `variables: 'lenient'` for commands that never send the spec: the job's `${VAR}`s need not be set.
 */
export async function loadJobTarget(
  context: CommandContext,
  options: { variables?: 'required' | 'lenient' } = {},
): Promise<JobTarget> {
  const file = context.args[0];
  if (!file) throw new UsageError('missing the job file');
  const jobPath = userPath(context, file);
  // Both files are read even if one is bad, so the operator sees every problem at once.
  const [job, inventory] = await Promise.allSettled([
    loadJobFile(jobPath, context.io.env, options),
    loadInventory(context),
  ]);
  if (job.status === 'rejected' || inventory.status === 'rejected') {
    const reasons = [job, inventory].flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    // Both files are bad: report every problem of both.
    const all = reasons.map(inputErrorsOf);
    if (reasons.length > 1 && all.every(Boolean))
      throw new InputErrors(all.flatMap((errors) => errors ?? []));
    throw reasons[0];
  }
  const nodes = checkJobAgainstInventory(job.value.spec, inventory.value, jobPath);
  const credentials = credentialsOfRun(context.io.env, job.value, inventory.value);
  return { job: job.value, inventory: inventory.value, nodes, credentials };
}

export { inputErrorsOf };

/** Commands that already printed the plain-HTTP warning: once per run. */
const warnedPlainHttp = new WeakSet<CommandContext>();

/**
 * The one warning of a run about the nodes it reaches over plain HTTP beyond this machine
 * (`http://` locations: their key travels unencrypted). Every command that contacts nodes calls it.
 */
export function warnPlainHttp(context: CommandContext, nodes: readonly InventoryNode[]): void {
  if (warnedPlainHttp.has(context)) return;
  const warning = plainHttpWarning(nodes);
  if (!warning) return;
  warnedPlainHttp.add(context);
  context.io.stderr.write(`${warning}\n`);
}

export function makeCluster(context: CommandContext, nodes: readonly InventoryNode[]): Cluster {
  boundHeapGrowthForFleet();
  warnPlainHttp(context, nodes);
  const concurrency = positiveIntFlag(context.flags, 'parallel', 10_000);
  const requestTimeoutMs = Math.round(positiveNumberFlag(context.flags, 'timeout') * 1000);
  return new Cluster(nodes, {
    concurrency,
    client: { requestTimeoutMs, connectTimeoutMs: Math.min(5_000, requestTimeoutMs) },
  });
}

// ---------------------------------------------------------------------------------------------

export function labelOf(result: Pick<NodeResult<unknown>, 'status'>): NodeLabel {
  return nodeLabel(result.status);
}

export function jsonStatusOf(result: Pick<NodeResult<unknown>, 'status'>): CliNodeStatus {
  return result.status;
}

/** A node's `error` in `--json`: the error's code (the agent's, or `offline`, `protocol`, …). */
export function jsonErrorOf(error: Error | undefined): CliNodeError | null {
  if (!error) return null;
  return { code: error instanceof DokkupError ? error.code : 'error', message: error.message };
}

/** The outcome of a node that could not be asked (or answered with an error). */
export function failureOutcome(result: NodeResult<unknown>): NodeOutcome {
  return { name: result.node.name, ...outcomeOfStatus(result.status, result.error?.message) };
}

/** Warnings (on stderr) for nodes that will be left out. */
export function warnSkipped(out: OutputStream, results: readonly NodeResult<unknown>[], what: string): void {
  for (const result of results) {
    if (result.status === 'online' || result.status === 'skipped') continue;
    out.write(
      `Warning: ${result.node.name} is ${labelOf(result)} (${terminalText(result.error?.message ?? 'no answer')}); ${what}\n`,
    );
  }
}

export function writeLines(out: OutputStream, lines: readonly string[]): void {
  if (lines.length) out.write(`${lines.join('\n')}\n`);
}

export function writeJson(out: OutputStream, document: unknown): void {
  out.write(`${jsonText(document, 2)}\n`);
}

export function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** Exit code of a read-only command: nodes that answered are fine; the others decide. */
export function readExitCode(run: ClusterRun<unknown>): number {
  return exitCodeForStatuses(
    run.results.map((r) => r.status),
    run.interrupted,
  );
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
