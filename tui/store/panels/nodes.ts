/**
 * The nodes panel: one row per inventory node, in inventory order, with its connection, versions,
 * round-trip time and the usage summed over its containers. Enter narrows the containers table to
 * the node.
 */
import type { ColumnDef, FittedColumn } from '../columns.js';
import { fitText, formatBytes, formatLatency, formatPercent } from '../format.js';
import { memo } from '../memo.js';
import type { Cell, Tone } from '../segments.js';
import type { ContainerUsageHistory, NodeConn, NodeEntry, TuiState } from '../state.js';
import { allContainerRows, freshStats } from './containers.js';
import type { PanelSpec, RowBase } from './spec.js';

export interface NodeRow extends RowBase {
  name: string;
  location: string;
  conn: NodeConn;
  agentVersion: string;
  dockerVersion: string;
  latency: string;
  containers: string;
  cpu: string;
  mem: string;
  /** Sums of fresh samples (0 when none), for the header totals. */
  cpuTotal: number;
  memTotal: number;
  error: string | null;
  /** The node answers but its last refresh failed (e.g. Docker is down). */
  problem: string | null;
}

export const CONN_LABEL: Readonly<Record<NodeConn, string>> = {
  connecting: 'CONNECTING',
  online: 'ONLINE',
  reconnecting: 'RECONNECTING',
  offline: 'OFFLINE',
  unauthorized: 'UNAUTHORIZED',
};

/** Distinct shapes, so the status reads without colour too. */
export const CONN_PIP: Readonly<Record<NodeConn, string>> = {
  connecting: '◌',
  online: '●',
  reconnecting: '◐',
  offline: '○',
  unauthorized: '✖',
};

export const CONN_TONE: Readonly<Record<NodeConn, Tone>> = {
  connecting: 'warn',
  online: 'ok',
  reconnecting: 'warn',
  offline: 'dim',
  unauthorized: 'error',
};

function nodeUsage(
  node: NodeEntry,
  stats: Record<string, ContainerUsageHistory> | undefined,
  now: number,
): { cpu: number; mem: number; seen: boolean; running: number; total: number } {
  let cpu = 0;
  let mem = 0;
  let seen = false;
  let running = 0;
  let total = 0;
  for (const job of Object.values(node.jobs)) {
    for (const c of job.containers) {
      total++;
      if (c.state === 'running') running++;
      const s = freshStats(stats?.[c.id], now);
      if (s && node.conn === 'online') {
        cpu += s.latest.cpuPercent;
        mem += s.latest.memoryUsage;
        seen = true;
      }
    }
  }
  return { cpu, mem, seen, running, total };
}

const buildNodeRows = memo(
  (nodeOrder: string[], nodes: TuiState['nodes'], stats: TuiState['stats'], now: number): NodeRow[] =>
    nodeOrder.map((name) => {
      const node = nodes[name]!;
      const usage = nodeUsage(node, stats[name], now);
      const online = node.conn === 'online';
      const row: NodeRow = {
        key: name,
        search: '',
        dim: !online,
        name,
        location: node.location,
        conn: node.conn,
        agentVersion: node.info?.agentVersion ?? '-',
        dockerVersion: node.info?.dockerVersion ?? '-',
        latency: online ? formatLatency(node.latencyMs) : '-',
        containers: node.jobsAt === null ? '-' : `${usage.running}/${usage.total}`,
        cpu: usage.seen ? formatPercent(usage.cpu) : '-',
        mem: usage.seen ? formatBytes(usage.mem) : '-',
        cpuTotal: usage.cpu,
        memTotal: usage.mem,
        error: node.error,
        problem: node.problem,
      };
      row.search = [name, node.location, CONN_LABEL[node.conn], row.agentVersion, row.dockerVersion].join(
        ' ',
      );
      return row;
    }),
);

export function nodeRows(state: TuiState): NodeRow[] {
  return buildNodeRows(state.nodeOrder, state.nodes, state.stats, state.now);
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

function cellOf(row: NodeRow, column: FittedColumn): Cell {
  switch (column.id as NodeCol) {
    case 'pip':
      return { text: CONN_PIP[row.conn], tone: CONN_TONE[row.conn] };
    case 'name':
      return { text: row.name };
    case 'status':
      if (row.conn === 'online' && row.problem) return { text: 'ERROR', tone: 'error' };
      return { text: CONN_LABEL[row.conn], tone: CONN_TONE[row.conn] };
    case 'agent':
      return { text: row.agentVersion };
    case 'docker':
      return { text: row.dockerVersion };
    case 'latency':
      return { text: row.latency };
    case 'containers':
      return { text: row.containers };
    case 'cpu':
      return { text: row.cpu };
    case 'mem':
      return { text: row.mem };
  }
}

function infoLines(row: NodeRow, state: TuiState): string[] {
  const n = state.nodes[row.name]!;
  const i = n.info;
  const lines = [
    `Node        ${n.name}`,
    `Location    ${n.location}`,
    `Status      ${CONN_LABEL[n.conn]}${n.error ? ` — ${n.error}` : ''}`,
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
  title: () => 'Nodes',
  rows: nodeRows,
  cells: (row, columns) => columns.map((c) => cellOf(row, c)),
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
