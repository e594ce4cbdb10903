/**
 * Exit codes (documented in the README):
 *   0   done, or nothing to do
 *   1   failed on some node, or declined at the prompt
 *   2   invalid input (files, flags, arguments)
 *   3   some nodes unreachable (OFFLINE) or UNAUTHORIZED, and nothing failed
 *   130 interrupted (Ctrl-C)
 * `plan` follows `nomad job plan`: 0 no changes, 1 changes, 2 error (3 for unreachable nodes).
 */
import type { Outcome } from './render/tables.js';

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
 * The exit code of a command from its nodes' outcomes. An interruption wins, then a failure
 * (something went wrong that needs a look), then unreachable/unauthorized nodes.
 */
export function exitCodeFor(outcomes: readonly { outcome: Outcome }[], interrupted = false): number {
  if (interrupted || outcomes.some((o) => o.outcome === 'skipped')) return ExitCode.interrupted;
  if (outcomes.some((o) => o.outcome === 'failed' || o.outcome === 'declined')) return ExitCode.failed;
  if (outcomes.some((o) => o.outcome === 'offline' || o.outcome === 'unauthorized'))
    return ExitCode.unreachable;
  return ExitCode.ok;
}

/** `plan`: 2 on errors, 3 on unreachable nodes, else 1 when anything would change, 0 when nothing. */
export function planExitCode(
  nodes: readonly { outcome: Outcome; changes: boolean }[],
  interrupted = false,
): number {
  if (interrupted || nodes.some((n) => n.outcome === 'skipped')) return ExitCode.interrupted;
  if (nodes.some((n) => n.outcome === 'failed')) return 2;
  if (nodes.some((n) => n.outcome === 'offline' || n.outcome === 'unauthorized')) return ExitCode.unreachable;
  return nodes.some((n) => n.changes) ? 1 : 0;
}
