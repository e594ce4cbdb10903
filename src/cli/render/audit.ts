/**
 * `dokkup audit`: the audit entries of every node in one table, merged in time order.
 */
import type { AuditEntry } from '../../protocol/audit.js';
import { plainStyle, type Style } from '../io.js';
import { renderTable } from './table.js';
import { timeCell } from './tables.js';

export interface NodeAuditEntry extends AuditEntry {
  node: string;
}

const UNKNOWN = '-';

/** Every node's entries in one list, oldest first (a node's own order kept for equal times). */
export function mergeAudit(
  nodes: readonly { name: string; entries: readonly AuditEntry[] }[],
): NodeAuditEntry[] {
  const all = nodes.flatMap(({ name, entries }) => entries.map((entry) => ({ ...entry, node: name })));
  return all
    .map((entry, index) => ({ entry, index, at: Date.parse(entry.at) }))
    .sort((a, b) => a.at - b.at || a.index - b.index)
    .map(({ entry }) => entry);
}

function change(from: string | number | null, to: string | number | null): string {
  if (from === null && to === null) return UNKNOWN;
  if (from === to) return String(to);
  return `${from ?? UNKNOWN} -> ${to ?? UNKNOWN}`;
}

function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}

/** What the operation was: `deploy (update)`, `stop`, `rotate-key`. */
function what(entry: AuditEntry): string {
  return entry.action && entry.action !== entry.operation
    ? `${entry.operation} (${entry.action})`
    : entry.operation;
}

export function renderAudit(entries: readonly NodeAuditEntry[], style: Style = plainStyle): string[] {
  if (entries.length === 0) return ['No audit entries.'];
  const header = [
    'TIME',
    'NODE',
    'OPERATION',
    'JOB',
    'RESULT',
    'VERSION',
    'COUNT',
    'TOOK',
    'KEY',
    'FROM',
    'DETAIL',
  ];
  const rows = entries.map((e) => [
    timeCell(e.at),
    e.node,
    what(e),
    e.job ?? UNKNOWN,
    e.result,
    change(e.versionFrom, e.versionTo),
    change(e.countFrom, e.countTo),
    duration(e.durationMs),
    e.keyId ?? UNKNOWN,
    e.remote ?? UNKNOWN,
    e.error ? `${e.error.code}: ${e.error.message}` : (e.message ?? ''),
  ]);
  return renderTable(header, rows, (column, text, row) => {
    if (row === -1) return style.bold(text);
    if (column !== 4) return text;
    return text === 'ok' ? style.green(text) : text === 'failed' ? style.red(text) : style.yellow(text);
  });
}
