/**
 * What happened on a node, said the same way by every face (CLI tables, `--json`, the TUI):
 *   - a node's STATUS as one request found it (ONLINE, OFFLINE, UNAUTHORIZED, UNTRUSTED, ERROR,
 *     SKIPPED);
 *   - the OUTCOME of a command on it (succeeded, unchanged, failed, …) and its RESULT label;
 *   - the wording of an operation's result ("… (the new containers were removed)");
 *   - the exit code a set of outcomes calls for (one precedence for every command).
 *
 * One table per idea. A new node status (say UNTRUSTED, for a certificate that does not match
 * its pin) is one row in `NODE_STATUSES` (after adding it to `CliNodeStatusSchema`, the wire
 * contract of `--json`): its label, colour, outcome and exit code then reach every face.
 */
import type { OperationResult } from '../protocol/api.js';
import type { CliNodeStatus, CliOutcome } from '../protocol/cli-json.js';

/** A node as one request (or feed) found it. The `--json` `status` field, lowercase. */
export type NodeStatus = CliNodeStatus;
/** What a command did on a node. The `--json` `outcome` field. */
export type Outcome = CliOutcome;

/** How a face colours a status or a result: green, yellow, red, dim. */
export type Tone = 'good' | 'warn' | 'bad' | 'muted';

/**
 * Exit codes (documented in the README):
 *   0   done, or nothing to do
 *   1   failed on some node, or declined at the prompt
 *   2   invalid input (files, flags, arguments)
 *   3   some nodes unreachable (OFFLINE), UNAUTHORIZED or UNTRUSTED, and nothing failed
 *   130 interrupted (Ctrl-C)
 * `plan` follows `nomad job plan`: 0 no changes, 1 changes, 2 error (3 for unreachable nodes).
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  declined: 1,
  invalidInput: 2,
  unreachable: 3,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * What an outcome weighs when a command picks its exit code, most urgent first: an interruption
 * wins, then a failure (something needs a look), then nodes that could not be reached.
 */
export type Severity = 'interrupted' | 'failed' | 'unreachable' | 'ok';
const SEVERITY_ORDER: readonly Severity[] = ['interrupted', 'failed', 'unreachable', 'ok'];

interface NodeStatusMeaning {
  /** The STATUS column. */
  label: string;
  tone: Tone;
  /** The outcome of a command on a node in this status that could not do its work. */
  outcome: Outcome;
}

export const NODE_STATUSES = {
  online: { label: 'ONLINE', tone: 'good', outcome: 'unchanged' },
  offline: { label: 'OFFLINE', tone: 'bad', outcome: 'offline' },
  unauthorized: { label: 'UNAUTHORIZED', tone: 'warn', outcome: 'unauthorized' },
  untrusted: { label: 'UNTRUSTED', tone: 'bad', outcome: 'untrusted' },
  error: { label: 'ERROR', tone: 'bad', outcome: 'failed' },
  skipped: { label: 'SKIPPED', tone: 'muted', outcome: 'skipped' },
} as const satisfies { readonly [S in NodeStatus]: NodeStatusMeaning };

/** What the STATUS column says about a node. */
export type NodeLabel = (typeof NODE_STATUSES)[NodeStatus]['label'];

interface OutcomeMeaning {
  /** The RESULT column of the summary. */
  label: string;
  tone: Tone;
  severity: Severity;
}

/** In the order the summary's tally lists them. */
export const OUTCOMES = {
  succeeded: { label: 'OK', tone: 'good', severity: 'ok' },
  unchanged: { label: 'OK', tone: 'good', severity: 'ok' },
  failed: { label: 'FAILED', tone: 'bad', severity: 'failed' },
  // A node this rollout moved and then put back because another node failed: the rollout failed.
  reverted: { label: 'REVERTED', tone: 'warn', severity: 'failed' },
  // A node the rollout did not get to: after a failure, or held back behind a canary.
  untouched: { label: 'UNTOUCHED', tone: 'muted', severity: 'ok' },
  offline: { label: 'OFFLINE', tone: 'bad', severity: 'unreachable' },
  unauthorized: { label: 'UNAUTHORIZED', tone: 'warn', severity: 'unreachable' },
  untrusted: { label: 'UNTRUSTED', tone: 'bad', severity: 'unreachable' },
  skipped: { label: 'SKIPPED', tone: 'warn', severity: 'interrupted' },
  declined: { label: 'DECLINED', tone: 'warn', severity: 'failed' },
} as const satisfies { readonly [O in Outcome]: OutcomeMeaning };

export function nodeLabel(status: NodeStatus): NodeLabel {
  return NODE_STATUSES[status].label;
}

export function nodeTone(status: NodeStatus): Tone {
  return NODE_STATUSES[status].tone;
}

/** The tone of a STATUS cell from its text (tables hold labels, not statuses); unknown text is muted. */
export function toneOfLabel(label: string): Tone {
  for (const meaning of Object.values(NODE_STATUSES)) if (meaning.label === label) return meaning.tone;
  return 'muted';
}

export function outcomeLabel(outcome: Outcome): string {
  return OUTCOMES[outcome].label;
}

export function outcomeTone(outcome: Outcome): Tone {
  return OUTCOMES[outcome].tone;
}

/** A node's outcome and the line that explains it (`Deployment successful`, the error, …). */
export interface OutcomeAndMessage {
  outcome: Outcome;
  message: string;
}

/** The message of a node that was never contacted because the run was interrupted first. */
export const NOT_CONTACTED = 'not contacted: interrupted';
/** The message of a node whose plan changes something but whose operation was not carried out. */
export const NOT_CARRIED_OUT = 'not carried out: interrupted';

/** The outcome of a node that could not be asked (or answered with an error) in `status`. */
export function outcomeOfStatus(status: NodeStatus, error?: string): OutcomeAndMessage {
  if (status === 'skipped') return { outcome: 'skipped', message: NOT_CONTACTED };
  return { outcome: NODE_STATUSES[status].outcome, message: error ?? 'not contacted' };
}

/**
 * The final word on a node from the agent's operation result. A failure says what it left
 * behind: a failed update left the previous version running, a failed fresh deploy (there was
 * no previous version) removed its new containers, and a failed restore restored nothing. A
 * failure after the new version was committed needs no such note: the agent's message says
 * which version runs and what was left over.
 */
export function outcomeOfResult(result: OperationResult): OutcomeAndMessage {
  if (result.ok)
    return { outcome: result.action === 'noop' ? 'unchanged' : 'succeeded', message: result.message };
  // Our agents put the error in the message; an agent that does not still gets it said.
  const error =
    result.error && !result.message.includes(result.error.message) ? `: ${result.error.message}` : '';
  const restored =
    result.committed === true
      ? ''
      : result.restored === true
        ? result.action === 'fresh'
          ? ' (the new containers were removed)'
          : ' (the previous version was left running)'
        : result.restored === false
          ? ' (nothing was restored)'
          : '';
  return { outcome: 'failed', message: `${result.message}${error}${restored}` };
}

/** The most urgent severity among the outcomes (`ok` for none). */
export function severityOf(outcomes: readonly { outcome: Outcome }[], interrupted = false): Severity {
  if (interrupted) return 'interrupted';
  let worst = SEVERITY_ORDER.length - 1;
  for (const { outcome } of outcomes) {
    worst = Math.min(worst, SEVERITY_ORDER.indexOf(OUTCOMES[outcome].severity));
    if (worst === 0) break;
  }
  return SEVERITY_ORDER[worst]!;
}

const EXIT_CODE_OF: Readonly<Record<Severity, number>> = {
  interrupted: ExitCode.interrupted,
  failed: ExitCode.failed,
  unreachable: ExitCode.unreachable,
  ok: ExitCode.ok,
};

/**
 * The exit code of a command from its nodes' outcomes. An interruption wins, then a failure
 * (something went wrong that needs a look), then unreachable/unauthorized/untrusted nodes.
 */
export function exitCodeFor(outcomes: readonly { outcome: Outcome }[], interrupted = false): number {
  return EXIT_CODE_OF[severityOf(outcomes, interrupted)];
}

/** The exit code of a read (show, history, top, logs, events) from the status of each node. */
export function exitCodeForStatuses(statuses: readonly NodeStatus[], interrupted = false): number {
  return exitCodeFor(
    statuses.map((status) => ({ outcome: NODE_STATUSES[status].outcome })),
    interrupted,
  );
}

/** `plan`: 2 on errors, 3 on unreachable nodes, else 1 when anything would change, 0 when nothing. */
export function planExitCode(
  nodes: readonly { outcome: Outcome; changes: boolean }[],
  interrupted = false,
): number {
  const severity = severityOf(nodes, interrupted);
  if (severity === 'failed') return 2;
  if (severity !== 'ok') return EXIT_CODE_OF[severity];
  return nodes.some((n) => n.changes) ? 1 : 0;
}
