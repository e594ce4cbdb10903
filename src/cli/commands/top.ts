/**
 * `dokkup top job FILE`: one snapshot of every running container of a job on every node —
 * CPU, memory, network and block I/O as `docker stats` shows them — taken from each agent's
 * stats feed (its first complete batch), then exit.
 */

import PQueue from 'p-queue';
import { FeedSession, type FeedSubscriptionError } from '../../client/feeds/session.js';
import { shortId, statsColumns } from '../../core/format.js';
import { exitCodeForStatuses, nodeLabel } from '../../core/outcome.js';
import type { CliNodeError, CliNodeStatus } from '../../protocol/cli-json.js';
import { CLI_JSON_SCHEMA_VERSION } from '../../protocol/cli-json.js';
import { type ContainerStats, type TopJobJson, TopJobJsonSchema } from '../../protocol/feeds.js';
import type { InventoryNode } from '../../protocol/inventory.js';
import {
  booleanFlag,
  type Command,
  inventoryFlag,
  jsonFlag,
  optionalStringFlag,
  positiveIntFlag,
  positiveNumberFlag,
} from '../command.js';
import { loadJobTarget, roundMs, warnPlainHttp, writeJson, writeLines } from '../context.js';
import type { Style } from '../io.js';
import { renderTable } from '../render/table.js';
import { selectNodes } from './logs.js';

export interface NodeTop {
  node: InventoryNode;
  status: CliNodeStatus;
  error: CliNodeError | null;
  latencyMs: number | null;
  containers: ContainerStats[] | null;
}

/** Opens a feed session to the node, takes its first stats batch of the job, and closes. */
export async function topOfNode(
  node: InventoryNode,
  job: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<NodeTop> {
  const started = performance.now();
  const session = FeedSession.forNode(node, {
    connectTimeoutMs: Math.min(5000, timeoutMs),
    offlineAfterAttempts: 2,
    backoff: { initialMs: 200 },
  });
  try {
    return await new Promise<NodeTop>((resolve) => {
      const fail = (status: CliNodeStatus, error: CliNodeError) =>
        resolve({ node, status, error, latencyMs: null, containers: null });
      const timer = setTimeout(
        () =>
          fail('offline', { code: 'offline', message: `no stats within ${Math.round(timeoutMs / 1000)}s` }),
        timeoutMs,
      );
      const onAbort = () => fail('skipped', { code: 'interrupted', message: 'interrupted' });
      signal.addEventListener('abort', onAbort, { once: true });
      const done = (result: NodeTop) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      };
      session.onState((change) => {
        if (change.state === 'unauthorized') {
          done({
            node,
            status: 'unauthorized',
            error: { code: 'unauthorized', message: 'the agent refused the key' },
            latencyMs: null,
            containers: null,
          });
        } else if (change.state === 'untrusted') {
          done({
            node,
            status: 'untrusted',
            error: { code: 'untrusted', message: change.error ?? 'the certificate is not the trusted one' },
            latencyMs: null,
            containers: null,
          });
        } else if (change.state === 'offline') {
          done({
            node,
            status: 'offline',
            error: { code: 'offline', message: change.error ?? 'unreachable' },
            latencyMs: null,
            containers: null,
          });
        }
      });
      session.subscribeStats(
        { job, intervalMs: 1000 },
        (batch) =>
          done({
            node,
            status: 'online',
            error: null,
            latencyMs: roundMs(performance.now() - started),
            containers: batch.containers,
          }),
        {
          onError: (error: FeedSubscriptionError) =>
            done({
              node,
              status: 'error',
              error: { code: error.code, message: error.message },
              latencyMs: null,
              containers: null,
            }),
        },
      );
    });
  } finally {
    session.close();
  }
}

export function renderTop(results: readonly NodeTop[], style: Style): string[] {
  const rows: string[][] = [];
  for (const result of results) {
    for (const c of result.containers ?? []) {
      const columns = statsColumns(c);
      rows.push([
        result.node.name,
        shortId(c.containerId),
        c.containerName,
        columns.cpu,
        columns.memory,
        columns.memoryPercent,
        columns.network,
        columns.block,
        columns.pids,
      ]);
    }
  }
  const header = [
    'NODE',
    'CONTAINER ID',
    'NAME',
    'CPU %',
    'MEM USAGE / LIMIT',
    'MEM %',
    'NET I/O',
    'BLOCK I/O',
    'PIDS',
  ];
  const lines = renderTable(header, rows, (column, text, row) =>
    row === -1 ? style.bold(text) : column === 0 ? style.cyan(text) : text,
  );
  const statuses = results
    .filter((r) => r.status !== 'online')
    .map((r) => `${r.node.name}: ${nodeLabel(r.status)}${r.error ? ` (${r.error.message})` : ''}`);
  const empty = results
    .filter((r) => r.status === 'online' && r.containers?.length === 0)
    .map((r) => r.node.name);
  if (empty.length > 0) statuses.push(`No running containers of the job on: ${empty.join(', ')}`);
  return statuses.length ? [...lines, '', ...statuses] : lines;
}

export function topExitCode(results: readonly NodeTop[]): number {
  return exitCodeForStatuses(results.map((r) => r.status));
}

export const topJobCommand: Command = {
  path: ['top', 'job'],
  summary: "Show CPU, memory and I/O of a job's containers on every node",
  usage: '[options] FILE',
  description:
    'One snapshot per running container, figures as `docker stats` computes them (CPU % of one ' +
    'core, memory without page cache). Takes about a second: Docker needs two readings for a CPU figure.',
  flags: {
    ...inventoryFlag,
    ...jsonFlag('Print one JSON document (schema: TopJobJsonSchema in src/protocol/feeds.ts)'),
    node: { type: 'string', valueName: 'NAME', description: 'Only this node' },
    parallel: {
      type: 'number',
      default: 128,
      valueName: 'N',
      description: 'Nodes asked at once (default 128)',
    },
    timeout: {
      type: 'number',
      default: 15,
      valueName: 'SECONDS',
      description: 'Per-node deadline in seconds (default 15)',
    },
  },
  examples: [
    { does: "CPU, memory and I/O of the job's containers on every node", run: 'dokkup top job web.yaml' },
    { does: 'One node only, as JSON', run: 'dokkup top job --node lab1 --json web.yaml' },
  ],
  args: { min: 1, max: 1, names: 'FILE' },
  async run(context) {
    const timeoutMs = Math.round(positiveNumberFlag(context.flags, 'timeout') * 1000);
    const target = await loadJobTarget(context, { variables: 'lenient' });
    const nodes = selectNodes(target.nodes, optionalStringFlag(context.flags, 'node'));
    warnPlainHttp(context, nodes);
    const job = target.job.spec.name;
    const queue = new PQueue({ concurrency: positiveIntFlag(context.flags, 'parallel', 10_000) });
    const results = await Promise.all(
      nodes.map((node) => queue.add(() => topOfNode(node, job, timeoutMs, context.signal))),
    );
    const exitCode = topExitCode(results);
    if (booleanFlag(context.flags, 'json')) {
      const document: TopJobJson = {
        schema: CLI_JSON_SCHEMA_VERSION,
        command: 'top job',
        exitCode,
        job,
        nodes: results.map((r) => ({
          node: r.node.name,
          location: r.node.location,
          status: r.status,
          error: r.error,
          latencyMs: r.latencyMs,
          containers: r.containers,
        })),
      };
      writeJson(context.io.stdout, TopJobJsonSchema.parse(document));
    } else {
      writeLines(context.io.stdout, renderTop(results, context.style));
    }
    return exitCode;
  },
};
