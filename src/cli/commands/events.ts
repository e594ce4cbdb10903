/**
 * `dokkup events [FILE]`: live events from every inventory node (or, given a job file, the
 * job's nodes and only that job's events) until Ctrl-C: containers created, started, dying
 * (with exit code), health changes, removals, and deploys/rollbacks/stops as they run.
 */
import { FeedSession } from '../../client/feeds/session.js';
import { describeFeedEvent, feedEventKind, feedEventLevel, formatEventTime } from '../../core/format.js';
import { ExitCode, exitCodeForStatuses, type NodeStatus } from '../../core/outcome.js';
import { jsonText, terminalText } from '../../core/terminal-text.js';
import type { EventsJsonLine, FeedEvent } from '../../protocol/feeds.js';
import type { InventoryNode } from '../../protocol/inventory.js';
import {
  booleanFlag,
  type Command,
  type CommandContext,
  inventoryFlag,
  jsonFlag,
  optionalStringFlag,
  UsageError,
} from '../command.js';
import { loadInventory, loadJobTarget, warnPlainHttp } from '../context.js';
import type { Style } from '../io.js';

/** `2024-05-01T10:00:00.123Z  lab1  web  container  start web-1f0c… (3f2a9c1e4b5d)` */
export function formatEventLine(node: string, event: FeedEvent, style: Style): string {
  const what = describeFeedEvent(event);
  const level = feedEventLevel(event);
  const text =
    level === 'warn' || level === 'error' ? style.red(what) : level === 'ok' ? style.green(what) : what;
  return `${style.dim(formatEventTime(event.at))}  ${style.bold(node)}  ${terminalText(event.job)}  ${feedEventKind(event)}  ${text}`;
}

export async function runEvents(context: CommandContext): Promise<number> {
  const json = booleanFlag(context.flags, 'json');
  let nodes: InventoryNode[];
  let job: string | undefined;
  if (context.args.length > 0) {
    const target = await loadJobTarget(context, { variables: 'lenient' });
    nodes = target.nodes;
    job = target.job.spec.name;
  } else {
    nodes = (await loadInventory(context)).nodes;
  }
  const only = optionalStringFlag(context.flags, 'node');
  if (only !== undefined) {
    const node = nodes.find((n) => n.name === only);
    if (!node) throw new UsageError(`--node ${only}: not one of ${nodes.map((n) => n.name).join(', ')}`);
    nodes = [node];
  }

  const { stdout, stderr } = context.io;
  warnPlainHttp(context, nodes);
  const sessions = nodes.map((node) => FeedSession.forNode(node));
  const unauthorized = new Set<string>();
  const untrusted = new Set<string>();
  const failed = new Set<string>();
  let finish: () => void = () => {};
  const allGone = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const checkAllGone = () => {
    if (unauthorized.size + untrusted.size + failed.size === sessions.length) finish();
  };
  const stops = sessions.flatMap((session) => {
    let wasOpen = false;
    let reportedOffline = false;
    const stopState = session.onState((change) => {
      if (change.state === 'open') {
        if (wasOpen || reportedOffline) stderr.write(`${change.node}: connected${wasOpen ? ' again' : ''}\n`);
        wasOpen = true;
        reportedOffline = false;
      } else if (change.state === 'reconnecting' && wasOpen) {
        stderr.write(
          `${change.node}: connection lost, reconnecting${change.error ? ` (${terminalText(change.error)})` : ''}\n`,
        );
      } else if (change.state === 'offline' && !reportedOffline) {
        reportedOffline = true;
        stderr.write(
          `Warning: ${change.node} is OFFLINE${change.error ? ` (${terminalText(change.error)})` : ''}; still trying\n`,
        );
      } else if (change.state === 'unauthorized') {
        stderr.write(`Warning: ${change.node} is UNAUTHORIZED (the agent refused the key)\n`);
        unauthorized.add(change.node);
        checkAllGone();
      } else if (change.state === 'untrusted') {
        stderr.write(`Warning: ${change.node} is UNTRUSTED (${change.error ?? 'certificate not trusted'})\n`);
        untrusted.add(change.node);
        checkAllGone();
      }
    });
    const stopEvents = session.subscribeEvents(
      (event) => {
        if (json) {
          const line: EventsJsonLine = { node: session.node, event };
          stdout.write(`${jsonText(line)}\n`);
        } else {
          stdout.write(`${formatEventLine(session.node, event, context.style)}\n`);
        }
      },
      {
        ...(job === undefined ? {} : { job }),
        onDropped: (count) =>
          stderr.write(`${session.node}: ${count} events dropped (output did not keep up)\n`),
        onError: (error) => {
          stderr.write(`Warning: ${session.node}: ${terminalText(error.message)}\n`);
          failed.add(session.node);
          checkAllGone();
        },
      },
    );
    return [stopState, stopEvents];
  });

  const interrupted = new Promise<void>((resolve) => {
    if (context.signal.aborted) resolve();
    else context.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  try {
    await Promise.race([interrupted, allGone]);
  } finally {
    for (const stop of stops) stop();
    for (const session of sessions) session.close();
  }
  // Following ends on Ctrl-C, or once no node is left: each refused the key, was untrusted or failed.
  if (context.signal.aborted) return ExitCode.interrupted;
  const statuses: NodeStatus[] = nodes.map((n) =>
    failed.has(n.name)
      ? 'error'
      : unauthorized.has(n.name)
        ? 'unauthorized'
        : untrusted.has(n.name)
          ? 'untrusted'
          : 'offline',
  );
  return exitCodeForStatuses(statuses);
}

export const eventsCommand: Command = {
  path: ['events'],
  summary: 'Show live events from the nodes (of a job, given its file) until Ctrl-C',
  usage: '[options] [FILE]',
  description:
    'Container events (create, start, die with exit code, health, oom, kill, stop, destroy) of ' +
    'dokkup containers, and deploys, rollbacks and stops as they run on each node. Without FILE, ' +
    "every node of the inventory; with a job FILE, the job's nodes and only its events. " +
    'Nodes that go away are reconnected to. --json prints one JSON object per line: {"node", "event"}.',
  flags: {
    ...inventoryFlag,
    ...jsonFlag('One JSON object per event and line: {"node", "event"}'),
    node: { type: 'string', valueName: 'NAME', description: 'Only this node' },
  },
  examples: [
    { does: 'Live events of every node of the inventory', run: 'dokkup events' },
    { does: "Live events of a job's nodes, one JSON object per line", run: 'dokkup events --json web.yaml' },
    { does: 'Live events of one node', run: 'dokkup events --node lab1' },
  ],
  args: { min: 0, max: 1, names: '[FILE]' },
  run: runEvents,
};
