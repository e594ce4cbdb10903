/**
 * The header line: inventory, the status summary of the nodes (a count per kernel node status —
 * a status the kernel gains appears here by itself, while any node is in it — and the nodes
 * still connecting), healthy jobs, CPU and memory totals, and a running rollout.
 */
import { formatBinaryBytes, formatPercent } from '../../../src/core/format.js';
import { NODE_STATUSES, type NodeStatus, nodeTone } from '../../../src/core/outcome.js';
import { memo } from '../memo.js';
import { jobRows } from '../panels/jobs.js';
import { allNodeRows, type NodeRow } from '../panels/nodes.js';
import { type Cell, toneOf } from '../segments.js';
import type { TuiState } from '../state.js';

/** The statuses a node can be in, as the kernel lists them (not `skipped`: that is a run's word). */
export const SUMMARY_STATUSES = (Object.keys(NODE_STATUSES) as NodeStatus[]).filter((s) => s !== 'skipped');

export interface StatusCount {
  status: NodeStatus;
  count: number;
}

export interface HeaderSummary {
  inventory: string;
  /** One per kernel status, in the kernel's order. */
  statuses: StatusCount[];
  online: number;
  offline: number;
  unauthorized: number;
  error: number;
  /** Certificate not the pinned one (or no trusted CA vouches for it): nothing was sent. */
  untrusted: number;
  /** Connecting for the first time, or reconnecting. */
  connecting: number;
  jobsHealthy: number;
  jobsTotal: number;
  cpu: string;
  mem: string;
}

const countRows = memo((rows: NodeRow[]) => {
  const counts = new Map<string, number>();
  let cpu = 0;
  let mem = 0;
  for (const row of rows) {
    counts.set(row.status, (counts.get(row.status) ?? 0) + 1);
    cpu += row.cpuTotal ?? 0;
    mem += row.memTotal ?? 0;
  }
  return { counts, cpu, mem };
});

/** The whole inventory's counts (whatever group the nodes table shows). */
export function headerSummary(state: TuiState): HeaderSummary {
  const { counts, cpu, mem } = countRows(allNodeRows(state));
  const of = (status: string) => counts.get(status) ?? 0;
  const jobs = jobRows(state);
  return {
    inventory: state.options.inventoryName,
    statuses: SUMMARY_STATUSES.map((status) => ({ status, count: of(status) })),
    online: of('online'),
    offline: of('offline'),
    unauthorized: of('unauthorized'),
    error: of('error'),
    untrusted: of('untrusted'),
    connecting: of('connecting') + of('reconnecting'),
    jobsHealthy: jobs.filter((j) => j.healthy).length,
    jobsTotal: jobs.length,
    cpu: formatPercent(cpu),
    mem: formatBinaryBytes(mem),
  };
}

/** The statuses counted even at zero (wide, and on small terminals); the others only while some node is in them. */
const SHOWN_AT_ZERO: ReadonlySet<NodeStatus> = new Set(['online', 'offline', 'unauthorized', 'error']);
const SHOWN_AT_ZERO_NARROW: ReadonlySet<NodeStatus> = new Set(['online', 'offline']);

/** Short words for small terminals; a status without one is cut to five letters. */
const NARROW: Readonly<Record<string, string>> = {
  online: 'on',
  offline: 'off',
  unauthorized: 'unauth',
  error: 'err',
  untrusted: 'untrust',
};

export function headerSegments(state: TuiState): Cell[] {
  const h = headerSummary(state);
  // Short words on small terminals, so that the totals still fit in 80 columns.
  const narrow = state.screen.width < 110;
  const word = (status: string) => (narrow ? (NARROW[status] ?? status.slice(0, 5)) : status);
  const cells: Cell[] = narrow ? [] : [{ text: ' dokkup ', tone: 'accent' }];
  cells.push({ text: ` ${h.inventory} ` });
  let first = true;
  for (const { status, count } of h.statuses) {
    // A status beyond the usual ones (UNTRUSTED, and any the kernel gains) only while a node is
    // in it, and then it must not go unseen; small terminals leave out the rarer ones at zero too.
    if (count === 0 && !(narrow ? SHOWN_AT_ZERO_NARROW : SHOWN_AT_ZERO).has(status)) continue;
    // Each count in its status's colour when there are any.
    const tone = count > 0 ? toneOf(nodeTone(status)) : 'normal';
    cells.push({ text: `${first ? ' nodes ' : ' · '}${count} ${word(status)}`, tone });
    first = false;
  }
  if (h.connecting > 0)
    cells.push({ text: ` · ${h.connecting} ${narrow ? 'conn' : 'connecting'}`, tone: 'warn' });
  cells.push(
    {
      text: `  jobs ${narrow ? 'ok' : 'healthy'} ${h.jobsHealthy}/${h.jobsTotal}`,
      tone: h.jobsHealthy === h.jobsTotal ? 'normal' : 'warn',
    },
    { text: `  CPU ${h.cpu}` },
    { text: `  MEM ${h.mem}` },
  );
  if (state.rollout && state.rollout.finishedAt === null)
    cells.push({ text: `  ${state.rollout.title}…`, tone: 'warn' });
  return cells;
}
