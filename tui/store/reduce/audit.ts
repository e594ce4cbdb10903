/**
 * The nodes' audit logs in the Events tab. While the tab is shown, every node's log is read
 * again every `AUDIT_REFRESH_MS` (and right after a rollout ends), from the newest entry already
 * seen; each new entry joins the Events list once, at the time its operation ended.
 */
import { describeAuditEntry } from '../../../src/core/format.js';
import type { AuditEntry } from '../../../src/protocol/audit.js';
import type { Action } from '../actions.js';
import { type Step, step } from '../effects.js';
import type { FleetEvent, TuiState } from '../state.js';

export const AUDIT_REFRESH_MS = 15_000;
/** Entry keys remembered for de-duplication (only the newest times ever come back). */
const SEEN_CAP = 2_000;

function keyOf(node: string, e: AuditEntry): string {
  return `${node}|${e.at}|${e.operation}|${e.job ?? ''}|${e.result}|${e.keyId ?? ''}|${e.durationMs}`;
}

/** On the clock: asks for the audit logs when the Events tab is shown and they are due. */
export function auditTick(state: TuiState): Step {
  if (state.detail.tab !== 'events' || state.now - state.audit.readAt < AUDIT_REFRESH_MS) return step(state);
  const since: Record<string, string | null> = {};
  for (const node of state.nodeOrder) since[node] = state.audit.since[node] ?? null;
  return step({ ...state, audit: { ...state.audit, readAt: state.now } }, { kind: 'readAudit', since });
}

/** A rollout changed things: the next tick reads the logs again. */
export function auditDue(state: TuiState): TuiState {
  return state.audit.readAt === 0 ? state : { ...state, audit: { ...state.audit, readAt: 0 } };
}

/** Inserts `event` at its time (the list is in time order; entries may be older than live events). */
function insertAt(events: FleetEvent[], event: FleetEvent): void {
  let i = events.length;
  while (i > 0 && events[i - 1]!.at > event.at) i--;
  events.splice(i, 0, event);
}

export function auditRead(state: TuiState, action: Extract<Action, { type: 'auditRead' }>): TuiState {
  const seen = new Set(state.audit.seen);
  const fresh = action.entries.filter((e) => !seen.has(keyOf(action.node, e)));
  if (fresh.length === 0) return state;
  const events = [...state.events];
  let seq = state.nextEventSeq;
  for (const entry of fresh) {
    seen.add(keyOf(action.node, entry));
    // Placed (and timed) when the operation ended: the entry sums it up, after its progress events.
    const at = Date.parse(entry.at) + entry.durationMs;
    insertAt(events, {
      seq: seq++,
      at: Number.isNaN(at) ? state.now : at,
      node: action.node,
      kind: 'audit',
      job: entry.job,
      text: describeAuditEntry(entry),
      level: entry.result === 'failed' ? 'error' : entry.result === 'refused' ? 'warn' : 'info',
    });
  }
  // The next read asks for what ended since the last one seen ended (the agent's `since`).
  const endOf = (e: AuditEntry) => Date.parse(e.at) + e.durationMs;
  const newest = new Date(Math.max(...fresh.map(endOf))).toISOString();
  const since = state.audit.since[action.node];
  const cap = state.options.eventCap;
  return {
    ...state,
    events: events.length > cap ? events.slice(events.length - cap) : events,
    nextEventSeq: seq,
    audit: {
      ...state.audit,
      since: {
        ...state.audit.since,
        [action.node]: since && Date.parse(since) > Date.parse(newest) ? since : newest,
      },
      seen: [...seen].slice(-SEEN_CAP),
    },
  };
}
