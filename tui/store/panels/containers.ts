/**
 * The containers panel: every container of every node (dokkup's first, then the node's others),
 * or those of one node / one job after a drill-down. Usage figures (CPU, memory, sparklines,
 * uptime) are not part of a row: they are read for the rows on screen only, so a stats batch
 * never rebuilds rows.
 */

import { formatBinaryBytes, formatElapsed, formatPercent } from '../../../src/core/format.js';
import type { ContainerInfo } from '../../../src/protocol/index.js';
import type { ColumnDef, FittedColumn } from '../columns.js';
import { formatPorts, sparkline } from '../format.js';
import { memo } from '../memo.js';
import type { Cell, Tone } from '../segments.js';
import {
  type ContainerScope,
  type ContainerUsageHistory,
  changedSince,
  containerKey,
  type FleetChange,
  fleetMark,
  historyPoints,
  type NodeEntry,
  type TuiState,
} from '../state.js';
import type { PanelSpec, RowBase } from './spec.js';

/** Stats older than this are not shown as current usage. */
export const STATS_STALE_MS = 15_000;

export interface ContainerRow extends RowBase {
  node: string;
  id: string;
  name: string;
  job: string;
  version: string;
  image: string;
  state: ContainerInfo['state'];
  health: ContainerInfo['health'];
  ports: string;
  status: string;
  /** When it (last) started, ms: from the event feed, else its creation time. */
  since: number;
}

/** Time-dependent figures of a row, computed only for the rows on screen. */
export interface ContainerUsage {
  cpu: number | null;
  mem: number | null;
  memLimit: number | null;
  cpuHistory: number[];
  memHistory: number[];
  uptime: string;
}

/** The usage as last seen, if it is recent enough to show as current. */
export function freshStats(
  stats: ContainerUsageHistory | undefined,
  now: number,
): ContainerUsageHistory | null {
  return stats && now - stats.at <= STATS_STALE_MS ? stats : null;
}

/** The last stats of a row's container (maybe stale); null while its node is not online. */
export function containerStats(state: TuiState, row: ContainerRow): ContainerUsageHistory | null {
  return row.dim ? null : (state.stats[row.node]?.[row.id] ?? null);
}

export function containerUsage(state: TuiState, row: ContainerRow): ContainerUsage {
  const now = state.now;
  const stats = containerStats(state, row);
  const fresh = freshStats(stats ?? undefined, now);
  const history = stats ? historyPoints(stats.history) : [];
  return {
    cpu: fresh ? fresh.latest.cpuPercent : null,
    mem: fresh ? fresh.latest.memoryUsage : null,
    memLimit: fresh ? fresh.latest.memoryLimit : null,
    cpuHistory: history.map((p) => p.cpu),
    memHistory: history.map((p) => p.mem),
    uptime: row.state === 'running' ? formatElapsed(now - row.since) : '-',
  };
}

// ---------------------------------------------------------------------------------------------
// Rows

/**
 * One node's rows, rebuilt only when what they show changes: its job list, its other containers,
 * its connection or the start times seen. Usage figures are not part of a row
 * (`containerUsage`), so neither stats batches nor a summary's usage rebuild rows.
 */
interface NodeRowsCache {
  others: ContainerInfo[];
  conn: NodeEntry['conn'];
  started: Record<string, number> | undefined;
  rows: ContainerRow[];
}
const nodeRowsCache = new WeakMap<NodeEntry['jobs'], NodeRowsCache>();

function nodeContainerRows(node: NodeEntry, started: Record<string, number> | undefined): ContainerRow[] {
  const cached = nodeRowsCache.get(node.jobs);
  if (cached && cached.started === started && cached.others === node.others && cached.conn === node.conn)
    return cached.rows;
  const online = node.conn === 'online';
  const containers: ContainerInfo[] = [];
  for (const job of Object.values(node.jobs)) containers.push(...job.containers);
  // dokkup's containers first, by job; then the node's other containers.
  containers.sort((a, b) => a.job.localeCompare(b.job) || a.name.localeCompare(b.name));
  containers.push(...[...node.others].sort((a, b) => a.name.localeCompare(b.name)));
  const rows = containers.map((c): ContainerRow => {
    const version = c.version ?? '-';
    return {
      key: containerKey(node.name, c.id),
      search: [node.name, c.name, c.id.slice(0, 12), c.job, version, c.state, c.health, c.image]
        .join(' ')
        .toLowerCase(),
      dim: !online,
      node: node.name,
      id: c.id,
      name: c.name,
      job: c.job,
      version,
      image: c.image,
      state: c.state,
      health: c.health,
      ports: formatPorts(c.ports),
      status: c.status,
      since: started?.[c.id] ?? c.createdAt * 1000,
    };
  });
  nodeRowsCache.set(node.jobs, { others: node.others, conn: node.conn, started, rows });
  return rows;
}

interface ContainersBuilt {
  nodeOrder: string[];
  nodes: TuiState['nodes'];
  startedAt: TuiState['startedAt'];
  mark: FleetChange | null;
  index: Map<string, number>;
  parts: ContainerRow[][];
  all: ContainerRow[];
}
let builtContainers: ContainersBuilt | null = null;

/**
 * Every node's rows, one after the other. After the first time, only the nodes the fleet log
 * names since are looked at again, and the whole is put together again only when one of their
 * parts did change (a summary's usage or a stats batch changes none).
 */
function buildContainerRows(state: TuiState): ContainerRow[] {
  const { nodeOrder, nodes, startedAt } = state;
  const built = builtContainers;
  if (built && built.nodeOrder === nodeOrder && built.nodes === nodes && built.startedAt === startedAt)
    return built.all;
  const changed = built && built.nodeOrder === nodeOrder ? changedSince(state, built.mark) : null;
  let parts: ContainerRow[][];
  let same = false;
  if (built && changed) {
    parts = built.parts;
    same = true;
    for (const name of changed) {
      const i = built.index.get(name);
      if (i === undefined) continue;
      const part = nodeContainerRows(nodes[name]!, startedAt[name]);
      if (part === parts[i]) continue;
      if (same) parts = parts.slice();
      same = false;
      parts[i] = part;
    }
  } else {
    parts = nodeOrder.map((name) => nodeContainerRows(nodes[name]!, startedAt[name]));
  }
  const all = built && same ? built.all : [];
  if (!(built && same)) for (const part of parts) for (const row of part) all.push(row);
  builtContainers = {
    nodeOrder,
    nodes,
    startedAt,
    mark: fleetMark(state),
    index: built && built.nodeOrder === nodeOrder ? built.index : new Map(nodeOrder.map((n, i) => [n, i])),
    parts,
    all,
  };
  return all;
}

/** Every container of every node, whatever the scope. */
export function allContainerRows(state: TuiState): ContainerRow[] {
  return buildContainerRows(state);
}

const scopeContainers = memo((rows: ContainerRow[], scope: ContainerScope): ContainerRow[] => {
  if (scope.kind === 'all') return rows;
  return scope.kind === 'node'
    ? rows.filter((r) => r.node === scope.node)
    : rows.filter((r) => r.job === scope.job);
});

/** The containers of the current scope (all, one node's, one job's). */
export function scopedContainerRows(state: TuiState): ContainerRow[] {
  return scopeContainers(allContainerRows(state), state.scope);
}

// ---------------------------------------------------------------------------------------------
// Columns and cells

type ContainerCol =
  | 'node'
  | 'name'
  | 'state'
  | 'health'
  | 'cpu'
  | 'cpuSpark'
  | 'mem'
  | 'memSpark'
  | 'ports'
  | 'uptime'
  | 'version';

const COLUMNS: ColumnDef<ContainerCol>[] = [
  { id: 'node', title: 'NODE', min: 6, max: 10, priority: 0 },
  { id: 'name', title: 'NAME', min: 14, max: 42, priority: 0 },
  { id: 'state', title: 'STATE', min: 7, max: 10, priority: 0 },
  { id: 'health', title: 'HEALTH', min: 7, max: 9, priority: 2 },
  { id: 'cpu', title: 'CPU', min: 6, priority: 1, align: 'right' },
  { id: 'cpuSpark', title: 'CPU 1m', min: 12, max: 20, priority: 4 },
  { id: 'mem', title: 'MEM', min: 7, priority: 1, align: 'right' },
  { id: 'memSpark', title: 'MEM 1m', min: 12, max: 20, priority: 5 },
  { id: 'version', title: 'VERSION', min: 7, priority: 6 },
  { id: 'ports', title: 'PORTS', min: 10, max: 30, priority: 7 },
  { id: 'uptime', title: 'UP', min: 6, priority: 3, align: 'right' },
];

const STATE_TONE: Readonly<Record<string, Tone>> = {
  running: 'ok',
  created: 'warn',
  restarting: 'warn',
  paused: 'warn',
  removing: 'warn',
  exited: 'error',
  dead: 'error',
};
const HEALTH_TONE: Readonly<Record<string, Tone>> = {
  healthy: 'ok',
  starting: 'warn',
  unhealthy: 'error',
  none: 'dim',
};

function cellOf(row: ContainerRow, column: FittedColumn, usage: ContainerUsage): Cell {
  switch (column.id as ContainerCol) {
    case 'node':
      return { text: row.node };
    case 'name':
      return { text: row.name };
    case 'state':
      return { text: row.state, tone: STATE_TONE[row.state] ?? 'normal' };
    case 'health':
      return { text: row.health === 'none' ? '-' : row.health, tone: HEALTH_TONE[row.health] ?? 'normal' };
    case 'cpu':
      return { text: formatPercent(usage.cpu) };
    case 'cpuSpark':
      return {
        text: sparkline(usage.cpuHistory, column.width, Math.max(5, ...usage.cpuHistory)),
        tone: 'accent',
      };
    case 'mem':
      return { text: formatBinaryBytes(usage.mem) };
    case 'memSpark':
      return {
        text: sparkline(usage.memHistory, column.width, usage.memLimit ?? Math.max(1, ...usage.memHistory)),
        tone: 'accent',
      };
    case 'version':
      return { text: row.version };
    case 'ports':
      return { text: row.ports };
    case 'uptime':
      return { text: usage.uptime };
  }
}

function scopeTitle(scope: ContainerScope): string {
  if (scope.kind === 'node') return `Containers ‹ node ${scope.node}`;
  if (scope.kind === 'job') return `Containers ‹ job ${scope.job}`;
  return 'Containers';
}

function infoLines(c: ContainerRow, state: TuiState): string[] {
  const u = containerUsage(state, c);
  return [
    `Container   ${c.name}`,
    `ID          ${c.id.slice(0, 12)}`,
    `Node        ${c.node}`,
    `Job         ${c.job}  version ${c.version}`,
    `Image       ${c.image}`,
    `State       ${c.state}${c.health === 'none' ? '' : ` (${c.health})`} — ${c.status}`,
    `Ports       ${c.ports}`,
    `Uptime      ${u.uptime}`,
    `CPU         ${formatPercent(u.cpu)}   ${sparkline(u.cpuHistory, 30, Math.max(5, ...u.cpuHistory))}`,
    `Memory      ${formatBinaryBytes(u.mem)}${u.memLimit ? ` of ${formatBinaryBytes(u.memLimit)}` : ''}   ${sparkline(u.memHistory, 30)}`,
  ];
}

export const containersPanel: PanelSpec<ContainerRow> = {
  id: 'containers',
  number: 3,
  columns: COLUMNS,
  empty: 'no containers',
  title: (state) => scopeTitle(state.scope),
  rows: scopedContainerRows,
  cells(row, columns, state) {
    const usage = containerUsage(state, row);
    return columns.map((c) => cellOf(row, c, usage));
  },
  drill: () => ({ kind: 'detail' }),
  info: infoLines,
  stats: (row) => ({ title: `${row.node}/${row.name}`, containers: [row.key] }),
  logs: (row) => ({ kind: 'container', node: row.node, id: row.id, name: row.name, job: row.job }),
  // Inside a job's containers, the keys act on that job whichever replica is selected.
  job: (row, state) => (state.scope.kind === 'job' ? state.scope.job : (row?.job ?? null)),
};
