/**
 * The nodes panel: one row per inventory node, in inventory order, with its connection, versions,
 * round-trip time and the usage summed over its containers. Enter narrows the containers table to
 * the node.
 */

import { formatBinaryBytes, formatLatency, formatPercent } from '../../../src/core/format.js';
import {
  type Tone as KernelTone,
  NODE_STATUSES,
  type NodeStatus,
  nodeLabel,
  nodeTone,
} from '../../../src/core/outcome.js';
import type { ColumnDef, FittedColumn } from '../columns.js';
import { fitText } from '../format.js';
import { memo } from '../memo.js';
import { type Cell, type Tone, toneOf } from '../segments.js';
import {
  type ContainerUsageHistory,
  changedSince,
  type FleetChange,
  fleetMark,
  type NodeConn,
  type NodeEntry,
  type NodeSort,
  type TuiState,
} from '../state.js';
import { allContainerRows, STATS_STALE_MS } from './containers.js';
import type { PanelSpec, RowBase } from './spec.js';

export interface NodeRow extends RowBase {
  name: string;
  location: string;
  conn: NodeConn;
  /** What the STATUS column says, as a kernel status where there is one (`error`: answers, cannot work). */
  status: NodeRowStatus;
  agentVersion: string;
  dockerVersion: string;
  latency: string;
  latencyMs: number | null;
  containers: string;
  cpu: string;
  mem: string;
  /** Usage summed over the node's containers (its summary, else its stats), null when unknown. */
  cpuTotal: number | null;
  memTotal: number | null;
  /** When that usage was seen (our clock), for staleness at draw time. */
  usageAt: number | null;
  error: string | null;
  /** The node answers but its last refresh failed (e.g. Docker is down). */
  problem: string | null;
}

/** A row's status: one of the kernel's node statuses, or a live feed's passing state. */
export type NodeRowStatus = Exclude<NodeStatus, 'skipped'> | 'connecting' | 'reconnecting';

/** The live feed's two passing states; every other connection is one of the kernel's node statuses. */
const LIVE: Readonly<Record<'connecting' | 'reconnecting', { label: string; tone: Tone }>> = {
  connecting: { label: 'CONNECTING', tone: 'warn' },
  reconnecting: { label: 'RECONNECTING', tone: 'warn' },
};

function isLive(status: NodeRowStatus): status is 'connecting' | 'reconnecting' {
  return status === 'connecting' || status === 'reconnecting';
}

/** What the STATUS column says: ONLINE, OFFLINE, UNAUTHORIZED, UNTRUSTED as the CLI says them, or a live state. */
export function connLabel(conn: NodeConn | NodeRowStatus): string {
  return isLive(conn) ? LIVE[conn].label : nodeLabel(conn);
}

export function statusTone(status: NodeRowStatus): Tone {
  return isLive(status) ? LIVE[status].tone : toneOf(nodeTone(status));
}

/** A node's status as its row shows it: a reachable node whose refresh failed is ERROR. */
export function nodeRowStatus(node: Pick<NodeEntry, 'conn' | 'problem'>): NodeRowStatus {
  return node.conn === 'online' && node.problem ? 'error' : node.conn;
}

/**
 * The order of statuses when sorting by status, problems first: the kernel's statuses by tone
 * (red, then yellow), then the passing states of a feed, then the good ones; within a tone, in
 * the kernel's order. A status the kernel gains sorts by its tone without a change here (UNTRUSTED,
 * red: after OFFLINE, before ERROR).
 */
const TONE_RANK: Readonly<Record<KernelTone, number>> = { bad: 0, warn: 1, good: 3, muted: 4 };
const KERNEL_ORDER = Object.keys(NODE_STATUSES) as NodeStatus[];

export function statusRank(status: NodeRowStatus): number {
  if (isLive(status)) return 2 * 100 + (status === 'reconnecting' ? 0 : 1);
  return TONE_RANK[nodeTone(status)] * 100 + KERNEL_ORDER.indexOf(status);
}

/** A node that needs a look: anything but online (or still connecting for the first time). */
export function isProblem(status: NodeRowStatus): boolean {
  return status !== 'online' && status !== 'connecting';
}

/** Distinct shapes, so the status reads without colour too. */
const CONN_PIP: Readonly<Record<NodeConn, string>> = {
  connecting: '◌',
  online: '●',
  reconnecting: '◐',
  offline: '○',
  unauthorized: '✖',
  untrusted: '⚠',
};

/** Containers (running/total) and the usage of the containers' latest stats samples. */
function nodeCounts(
  node: NodeEntry,
  stats: Record<string, ContainerUsageHistory> | undefined,
): { cpu: number; mem: number; at: number | null; running: number; total: number } {
  let cpu = 0;
  let mem = 0;
  let at: number | null = null;
  let running = 0;
  let total = 0;
  for (const job of Object.values(node.jobs)) {
    for (const c of job.containers) {
      total++;
      if (c.state === 'running') running++;
      const s = stats?.[c.id];
      if (s) {
        cpu += s.latest.cpuPercent;
        mem += s.latest.memoryUsage;
        at = at === null ? s.at : Math.min(at, s.at);
      }
    }
  }
  return { cpu, mem, at, running, total };
}

/**
 * One node's row, built again only when its entry (or, for an agent without summaries, its
 * stats) changed: with ten thousand nodes, a fact about one node rebuilds one row. Rows do not
 * depend on the clock; staleness is judged when a visible row is drawn.
 */
const rowCache = new WeakMap<NodeEntry, { stats: unknown; row: NodeRow }>();

function nodeRow(node: NodeEntry, stats: Record<string, ContainerUsageHistory> | undefined): NodeRow {
  // The summary's usage wins; the stats only count for agents without summaries.
  const statsKey = node.usage ? null : stats;
  const cached = rowCache.get(node);
  if (cached && cached.stats === statsKey) return cached.row;
  const counts = nodeCounts(node, statsKey ?? undefined);
  const online = node.conn === 'online';
  const usage = node.usage
    ? { cpu: node.usage.cpuPercent, mem: node.usage.memoryUsage, at: node.usage.at }
    : counts.at === null
      ? null
      : { cpu: counts.cpu, mem: counts.mem, at: counts.at };
  const status = nodeRowStatus(node);
  const row: NodeRow = {
    key: node.name,
    search: '',
    dim: !online,
    name: node.name,
    location: node.location,
    conn: node.conn,
    status,
    agentVersion: node.info?.agentVersion ?? '-',
    dockerVersion: node.info?.dockerVersion ?? '-',
    latency: online ? formatLatency(node.latencyMs) : '-',
    latencyMs: online ? node.latencyMs : null,
    containers: node.jobsAt === null ? '-' : `${counts.running}/${counts.total}`,
    cpu: usage && online ? formatPercent(usage.cpu) : '-',
    mem: usage && online ? formatBinaryBytes(usage.mem) : '-',
    cpuTotal: usage && online ? usage.cpu : null,
    memTotal: usage && online ? usage.mem : null,
    usageAt: usage && online ? usage.at : null,
    error: node.error,
    problem: node.problem,
  };
  row.search = [node.name, node.location, connLabel(status), row.agentVersion, row.dockerVersion]
    .join(' ')
    .toLowerCase();
  rowCache.set(node, { stats: statsKey, row });
  return row;
}

interface NodeRowsBuilt {
  nodeOrder: string[];
  nodes: TuiState['nodes'];
  stats: TuiState['stats'];
  /** The fleet log's change they were built at. */
  mark: FleetChange | null;
  rows: NodeRow[];
  index: Map<string, number>;
}
let built: NodeRowsBuilt | null = null;

/**
 * Every node's row, in inventory order (no group, no sort). Built once, then only the rows of the
 * nodes the fleet log names since are made again: a frame over ten thousand nodes costs what
 * changed, not ten thousand rows.
 */
export function allNodeRows(state: TuiState): NodeRow[] {
  const { nodeOrder, nodes, stats } = state;
  if (built && built.nodeOrder === nodeOrder && built.nodes === nodes && built.stats === stats)
    return built.rows;
  const changed = built && built.nodeOrder === nodeOrder ? changedSince(state, built.mark) : null;
  if (built && changed) {
    const rows = built.rows.slice();
    for (const name of changed) {
      const i = built.index.get(name);
      if (i !== undefined) rows[i] = nodeRow(nodes[name]!, stats[name]);
    }
    built = { ...built, nodes, stats, mark: fleetMark(state), rows };
    return rows;
  }
  const rows = nodeOrder.map((name) => nodeRow(nodes[name]!, stats[name]));
  const index = new Map(nodeOrder.map((name, i) => [name, i]));
  built = { nodeOrder, nodes, stats, mark: fleetMark(state), rows, index };
  return rows;
}

const inGroup = memo((rows: NodeRow[], group: string | null, groups: TuiState['groups']): NodeRow[] => {
  if (group === null) return rows;
  const members = new Set(groups[group] ?? []);
  return rows.filter((r) => members.has(r.name));
});

const byName = new Intl.Collator('en', { numeric: true });

const SORTERS: Readonly<Record<Exclude<NodeSort, 'inventory'>, (a: NodeRow, b: NodeRow) => number>> = {
  status: (a, b) => statusRank(a.status) - statusRank(b.status),
  // Busiest (slowest) first; unknown figures last.
  cpu: (a, b) => (b.cpuTotal ?? -1) - (a.cpuTotal ?? -1),
  mem: (a, b) => (b.memTotal ?? -1) - (a.memTotal ?? -1),
  latency: (a, b) => (b.latencyMs ?? -1) - (a.latencyMs ?? -1),
  name: (a, b) => byName.compare(a.name, b.name),
};

const sorted = memo((rows: NodeRow[], sort: NodeSort, reversed: boolean): NodeRow[] => {
  if (sort === 'inventory') return reversed ? [...rows].reverse() : rows;
  const compare = SORTERS[sort];
  // Stable: equal rows keep inventory order, whichever the direction.
  const indexed = rows.map((row, index) => ({ row, index }));
  indexed.sort((a, b) => (reversed ? -1 : 1) * compare(a.row, b.row) || a.index - b.index);
  return indexed.map((x) => x.row);
});

/** The nodes table's rows: the group's nodes (every node without one), in the chosen order. */
export function nodeRows(state: TuiState): NodeRow[] {
  const view = state.nodeView;
  return sorted(inGroup(allNodeRows(state), view.group, state.groups), view.sort, view.reversed);
}

/** How old a node's usage may be and still show as current. */
export function nodeUsageStaleMs(state: TuiState): number {
  return Math.max(STATS_STALE_MS, 3 * state.options.summaryIntervalMs);
}

export const SORT_TITLES: Readonly<Record<NodeSort, string>> = {
  inventory: 'inventory order',
  status: 'status',
  cpu: 'CPU',
  mem: 'MEM',
  latency: 'RTT',
  name: 'name',
};

function nodesTitle(state: TuiState): string {
  const { group, sort, reversed } = state.nodeView;
  const parts: string[] = [];
  if (group !== null) parts.push(`group ${group}`);
  if (sort !== 'inventory' || reversed) parts.push(`by ${SORT_TITLES[sort]}${reversed ? ' ↑' : ''}`);
  return parts.length > 0 ? `Nodes ‹ ${parts.join(' · ')}` : 'Nodes';
}

type NodeCol = 'pip' | 'name' | 'status' | 'agent' | 'docker' | 'latency' | 'containers' | 'cpu' | 'mem';

const COLUMNS: ColumnDef<NodeCol>[] = [
  { id: 'pip', title: '', min: 1, priority: 0 },
  { id: 'name', title: 'NODE', min: 6, max: 18, priority: 0 },
  { id: 'status', title: 'STATUS', min: 12, priority: 0 },
  { id: 'containers', title: 'CTRS', min: 5, max: 7, priority: 1, align: 'right' },
  { id: 'cpu', title: 'CPU', min: 6, priority: 2, align: 'right' },
  { id: 'mem', title: 'MEM', min: 7, priority: 2, align: 'right' },
  { id: 'latency', title: 'RTT', min: 5, priority: 3, align: 'right' },
  { id: 'agent', title: 'AGENT', min: 6, max: 10, priority: 4 },
  { id: 'docker', title: 'DOCKER', min: 7, max: 10, priority: 5 },
];

function cellOf(row: NodeRow, column: FittedColumn, stale: boolean): Cell {
  switch (column.id as NodeCol) {
    case 'pip':
      return { text: CONN_PIP[row.conn], tone: statusTone(row.status) };
    case 'name':
      return { text: row.name };
    case 'status':
      // ERROR: the node answers but cannot work (e.g. its Docker engine is down).
      return { text: connLabel(row.status), tone: statusTone(row.status) };
    case 'agent':
      return { text: row.agentVersion };
    case 'docker':
      return { text: row.dockerVersion };
    case 'latency':
      return { text: row.latency };
    case 'containers':
      return { text: row.containers };
    case 'cpu':
      return { text: stale ? '-' : row.cpu };
    case 'mem':
      return { text: stale ? '-' : row.mem };
  }
}

function infoLines(row: NodeRow, state: TuiState): string[] {
  const n = state.nodes[row.name]!;
  const i = n.info;
  const lines = [
    `Node        ${n.name}`,
    `Location    ${n.location}`,
    `Status      ${connLabel(nodeRowStatus(n))}${n.error ? ` — ${n.error}` : ''}`,
    ...(n.problem ? [`Problem     ${n.problem}`] : []),
    `Latency     ${formatLatency(n.latencyMs)}`,
  ];
  if (i) {
    lines.push(
      `Hostname    ${i.hostname}`,
      `Agent       ${i.agentVersion}`,
      `Docker      ${i.dockerVersion} (API ${i.dockerApiVersion})`,
      `Platform    ${i.os}/${i.arch}`,
      `Containers  ${i.containers.running} running of ${i.containers.total} (all on the engine)`,
      `Jobs        ${i.jobs}`,
    );
  }
  const jobs = Object.values(n.jobs);
  if (jobs.length > 0) {
    lines.push('', 'JOB                  VERSION   RUNNING/DESIRED');
    for (const j of jobs)
      lines.push(`${fitText(j.name, 20)} ${fitText(j.version ?? '-', 9)} ${j.running}/${j.desired ?? 0}`);
  }
  return lines;
}

export const nodesPanel: PanelSpec<NodeRow> = {
  id: 'nodes',
  number: 1,
  columns: COLUMNS,
  empty: 'no nodes',
  title: nodesTitle,
  rows: nodeRows,
  cells: (row, columns, state) => {
    const stale = row.usageAt !== null && state.now - row.usageAt > nodeUsageStaleMs(state);
    return columns.map((c) => cellOf(row, c, stale));
  },
  drill: (row) => ({ kind: 'scope', scope: { kind: 'node', node: row.key } }),
  info: infoLines,
  stats: (row, state) => ({
    title: `node ${row.name} (sum)`,
    containers: allContainerRows(state)
      .filter((c) => c.node === row.name)
      .map((c) => c.key),
  }),
  logs: () => null,
  job: () => null,
};
