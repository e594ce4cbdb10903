/**
 * `dokkup logs job FILE [-f] [--tail N] [--since 10m] [--node NAME] [-t]`: the logs of every
 * replica of a job on every node, merged in time order, each line prefixed `node/container`.
 * Like `docker compose logs`, stdout and stderr of the containers both go to stdout.
 */

import { type NodeLogLine, type NodeLogsOutcome, subscribeMergedLogs } from '../../client/feeds/merge.js';
import { FeedSession } from '../../client/feeds/session.js';
import { parseDurationMs } from '../../core/duration.js';
import { shortId } from '../../core/format.js';
import { ExitCode, exitCodeForStatuses, type NodeStatus } from '../../core/outcome.js';
import { terminalLogLine, terminalText } from '../../core/terminal-text.js';
import { LOGS_MAX_TAIL } from '../../protocol/feeds.js';
import type { InventoryNode } from '../../protocol/inventory.js';
import {
  booleanFlag,
  type Command,
  type CommandContext,
  inventoryFlag,
  optionalStringFlag,
  UsageError,
} from '../command.js';
import { loadJobTarget, warnPlainHttp } from '../context.js';
import type { OutputStream } from '../io.js';

/** Distinct, readable foreground colours, one per replica in order of appearance. */
const REPLICA_COLOURS = [36, 32, 33, 35, 34, 96, 92, 93, 95, 94, 91];

/**
 * `--since`: a relative duration (`10m`, `1h30m`, `90s`), an RFC 3339 time
 * (`2024-05-01T10:00:00Z`) or Unix seconds (`1714557600`), as `docker logs --since` takes.
 * Returns Unix seconds.
 */
export function parseSince(value: string, nowMs: number): number {
  const text = value.trim();
  if (/^\d{9,}(\.\d+)?$/.test(text)) return Number(text);
  if (/^\d{4}-\d\d-\d\d/.test(text)) {
    const at = Date.parse(text);
    if (Number.isNaN(at)) throw new UsageError(`--since: not a valid time: ${JSON.stringify(value)}`);
    return at / 1000;
  }
  try {
    return Math.max(nowMs - parseDurationMs(text), 0) / 1000;
  } catch {
    throw new UsageError(
      `--since must be a duration like 10m or 1h30m, a time like 2024-05-01T10:00:00Z, or Unix seconds (got ${JSON.stringify(value)})`,
    );
  }
}

export function tailFlag(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > LOGS_MAX_TAIL) {
    throw new UsageError(`--tail must be a whole number from 0 to ${LOGS_MAX_TAIL}`);
  }
  return value;
}

/** `--node NAME`: the job's target nodes, or just that one (which must be one of them). */
export function selectNodes(nodes: readonly InventoryNode[], name: string | undefined): InventoryNode[] {
  if (name === undefined) return [...nodes];
  const node = nodes.find((n) => n.name === name);
  if (!node) {
    throw new UsageError(
      `--node ${name}: not one of the job's nodes (${nodes.map((n) => n.name).join(', ') || 'none'})`,
    );
  }
  return [node];
}

/** Writes merged lines with `node/container | ` prefixes, one colour per replica on a terminal. */
export class LogPrinter {
  private readonly colours = new Map<string, number>();
  private width = 0;

  constructor(
    private readonly out: OutputStream,
    private readonly colour: boolean,
    private readonly timestamps: boolean,
  ) {}

  write(lines: readonly NodeLogLine[]): void {
    let chunk = '';
    for (const line of lines) chunk += `${this.format(line)}\n`;
    if (chunk) this.out.write(chunk);
  }

  format(line: NodeLogLine): string {
    const label = `${line.node}/${shortId(line.containerId)}`;
    this.width = Math.max(this.width, label.length);
    const padded = label.padEnd(this.width);
    // A container's output is shown, never obeyed: escapes visible, colour codes dropped.
    const text = terminalLogLine(line.text);
    const body = this.timestamps && line.ts ? `${line.ts} ${text}` : text;
    if (!this.colour) return `${padded} | ${body}`;
    let code = this.colours.get(label);
    if (code === undefined) {
      code = REPLICA_COLOURS[this.colours.size % REPLICA_COLOURS.length] as number;
      this.colours.set(label, code);
    }
    return `\x1b[${code}m${padded} |\x1b[39m ${body}`;
  }
}

function onAbort(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** A node's status once its logs were read (or could not be). */
function statusOfLogs(outcome: NodeLogsOutcome): NodeStatus {
  switch (outcome.status) {
    case 'ended':
      return 'online';
    case 'error':
      return 'error';
    case 'unauthorized':
      return 'unauthorized';
    case 'untrusted':
      return 'untrusted';
    default:
      return 'offline';
  }
}

/** Exit code of a finite read: failures first, then unreachable nodes. */
export function logsExitCode(outcomes: readonly NodeLogsOutcome[]): number {
  return exitCodeForStatuses(outcomes.map(statusOfLogs));
}

function outcomeMessage(outcome: NodeLogsOutcome): string | null {
  switch (outcome.status) {
    case 'ended':
      return null;
    case 'error':
      return `${outcome.node}: ${outcome.error.message}`;
    case 'unauthorized':
      return `${outcome.node} is UNAUTHORIZED (the agent refused the key); its logs are not shown`;
    case 'untrusted':
      return `${outcome.node} is UNTRUSTED (${outcome.message}); its logs are not shown`;
    default:
      return `${outcome.node} is OFFLINE (${outcome.message}); its logs are not shown`;
  }
}

export async function runLogs(context: CommandContext): Promise<number> {
  const follow = booleanFlag(context.flags, 'follow');
  const tail = tailFlag(context.flags['tail']);
  const sinceText = optionalStringFlag(context.flags, 'since');
  const since = sinceText === undefined ? undefined : parseSince(sinceText, Date.now());
  const target = await loadJobTarget(context, { variables: 'lenient' });
  const nodes = selectNodes(target.nodes, optionalStringFlag(context.flags, 'node'));
  const job = target.job.spec.name;

  warnPlainHttp(context, nodes);
  // A one-shot read gives up on a node quickly; following keeps retrying in the background.
  const sessions = nodes.map((node) =>
    FeedSession.forNode(node, follow ? {} : { offlineAfterAttempts: 2, backoff: { initialMs: 200 } }),
  );
  const printer = new LogPrinter(
    context.io.stdout,
    context.style.enabled,
    booleanFlag(context.flags, 'timestamps'),
  );
  const stderr = context.io.stderr;
  const stateReports = sessions.map((session) => {
    let wasOpen = false;
    return session.onState((change) => {
      if (!follow) return;
      if (change.state === 'open') {
        if (wasOpen) stderr.write(`${change.node}: connected again\n`);
        wasOpen = true;
      } else if ((change.state === 'reconnecting' || change.state === 'offline') && wasOpen) {
        stderr.write(
          `${change.node}: ${change.state}${change.error ? ` (${terminalText(change.error)})` : ''}\n`,
        );
      }
    });
  });
  const settled = new Set<string>();
  const merged = subscribeMergedLogs(
    sessions,
    { job, tail, since, follow },
    {
      onLines: (lines) => printer.write(lines),
      onDropped: (node, count) =>
        stderr.write(`${node}: ${count} line${count === 1 ? '' : 's'} dropped (output did not keep up)\n`),
      onNodeDone: (outcome) => {
        settled.add(outcome.node);
        const message = outcomeMessage(outcome);
        if (message) stderr.write(`Warning: ${terminalText(message)}\n`);
      },
    },
  );
  try {
    if (!follow) {
      const outcomes = await Promise.race([merged.done, onAbort(context.signal).then(() => null)]);
      if (outcomes === null) return ExitCode.interrupted;
      return logsExitCode(outcomes);
    }
    // Following ends on Ctrl-C, or when no node is left to follow (all refused or failed).
    const allGone = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (settled.size === sessions.length) {
          clearInterval(check);
          resolve();
        }
      }, 200);
      context.signal.addEventListener('abort', () => clearInterval(check), { once: true });
    });
    await Promise.race([onAbort(context.signal), allGone]);
    merged.stop();
    if (context.signal.aborted) return ExitCode.interrupted;
    return logsExitCode(await merged.done);
  } finally {
    merged.stop();
    for (const stop of stateReports) stop();
    for (const session of sessions) session.close();
  }
}

export const logsJobCommand: Command = {
  path: ['logs', 'job'],
  summary: 'Show the logs of every replica of a job, merged in time order',
  usage: '[options] FILE',
  description:
    'Each line is prefixed with node/container (the first 12 characters of the container ID), ' +
    'one colour per replica on a terminal. Lines of all replicas on all nodes are merged in ' +
    'time order; --tail applies to each container. With -f, new lines are shown as they come ' +
    'until Ctrl-C, and a node that goes away is reconnected to.',
  flags: {
    ...inventoryFlag,
    follow: {
      type: 'boolean',
      shortFlag: 'f',
      default: false,
      description: 'Keep showing new lines (until Ctrl-C)',
    },
    tail: { type: 'number', valueName: 'N', description: 'Only the last N lines of each container' },
    since: {
      type: 'string',
      valueName: 'WHEN',
      description:
        'Only lines since a duration ago (10m, 1h30m), a time (2024-05-01T10:00:00Z) or Unix seconds',
    },
    node: { type: 'string', valueName: 'NAME', description: 'Only the containers on this node' },
    timestamps: {
      type: 'boolean',
      shortFlag: 't',
      default: false,
      description: "Show each line's Docker timestamp",
    },
  },
  examples: [
    {
      does: 'Follow the logs of every replica, merged in time order, starting with the last 50 lines of each',
      run: 'dokkup logs job -f --tail 50 web.yaml',
    },
    {
      does: 'The last ten minutes of one node, with timestamps',
      run: 'dokkup logs job --since 10m --node lab1 -t web.yaml',
    },
  ],
  args: { min: 1, max: 1, names: 'FILE' },
  run: runLogs,
};
