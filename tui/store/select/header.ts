/**
 * The header line: inventory, how many nodes are online / offline / unauthorized / connecting
 * (and untrusted, when any are),
 * healthy jobs, CPU and memory totals, and a running rollout.
 */
import { formatBinaryBytes, formatPercent } from '../../../src/core/format.js';
import { jobRows } from '../panels/jobs.js';
import { nodeRows } from '../panels/nodes.js';
import type { Cell } from '../segments.js';
import type { TuiState } from '../state.js';

export interface HeaderSummary {
  inventory: string;
  online: number;
  offline: number;
  unauthorized: number;
  /** Certificate not the pinned one (or no trusted CA vouches for it): nothing was sent. */
  untrusted: number;
  connecting: number;
  jobsHealthy: number;
  jobsTotal: number;
  cpu: string;
  mem: string;
}

export function headerSummary(state: TuiState): HeaderSummary {
  let online = 0;
  let offline = 0;
  let unauthorized = 0;
  let untrusted = 0;
  let connecting = 0;
  let cpu = 0;
  let mem = 0;
  for (const row of nodeRows(state)) {
    if (row.conn === 'online') online++;
    else if (row.conn === 'offline') offline++;
    else if (row.conn === 'unauthorized') unauthorized++;
    else if (row.conn === 'untrusted') untrusted++;
    else connecting++;
    cpu += row.cpuTotal;
    mem += row.memTotal;
  }
  const jobs = jobRows(state);
  return {
    inventory: state.options.inventoryName,
    online,
    offline,
    unauthorized,
    untrusted,
    connecting,
    jobsHealthy: jobs.filter((j) => j.healthy).length,
    jobsTotal: jobs.length,
    cpu: formatPercent(cpu),
    mem: formatBinaryBytes(mem),
  };
}

export function headerSegments(state: TuiState): Cell[] {
  const h = headerSummary(state);
  // Short words on small terminals, so that the totals still fit in 80 columns.
  const narrow = state.screen.width < 110;
  const cells: Cell[] = narrow ? [] : [{ text: ' dokkup ', tone: 'accent' }];
  cells.push(
    { text: ` ${h.inventory} ` },
    { text: ` nodes ${h.online} ${narrow ? 'on' : 'online'}`, tone: h.online > 0 ? 'ok' : 'normal' },
    { text: ` · ${h.offline} ${narrow ? 'off' : 'offline'}`, tone: h.offline > 0 ? 'error' : 'normal' },
  );
  // Narrow, a zero count of unauthorized nodes gives its room to untrusted ones.
  if (!narrow || h.unauthorized > 0 || h.untrusted === 0) {
    cells.push({
      text: ` · ${h.unauthorized} ${narrow ? 'unauth' : 'unauthorized'}`,
      tone: h.unauthorized > 0 ? 'error' : 'normal',
    });
  }
  // Only when there are any: a certificate that does not match its pin must not go unseen.
  if (h.untrusted > 0)
    cells.push({ text: ` · ${h.untrusted} ${narrow ? 'untrust' : 'untrusted'}`, tone: 'error' });
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
