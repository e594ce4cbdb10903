/**
 * The nodes panel: one row per inventory node, in inventory order, with its connection, versions,
 * round-trip time and the usage summed over its containers. Enter narrows the containers table to
 * the node.
 */

import { formatBinaryBytes, formatLatency, formatPercent } from '../../../src/core/format.js';
import { nodeLabel, nodeTone } from '../../../src/core/outcome.js';
import type { ColumnDef, FittedColumn } from '../columns.js';
import { fitText } from '../format.js';
import { memo } from '../memo.js';
import { type Cell, type Tone, toneOf } from '../segments.js';
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

/** The live feed's two passing states; every other connection is one of the kernel's node statuses. */
const LIVE: Readonly<Record<'connecting' | 'reconnecting', { label: string; tone: Tone }>> = {
  connecting: { label: 'CONNECTING', tone: 'warn' },
  reconnecting: { label: 'RECONNECTING', tone: 'warn' },
};

/** What the STATUS column says: ONLINE, OFFLINE, UNAUTHORIZED, UNTRUSTED as the CLI says them, or a live state. */
export function connLabel(conn: NodeConn): string {
  return conn === 'connecting' || conn === 'reconnecting' ? LIVE[conn].label : nodeLabel(conn);
}

function connTone(conn: NodeConn): Tone {
  return conn === 'connecting' || conn === 'reconnecting' ? LIVE[conn].tone : toneOf(nodeTone(conn));
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
        mem: usage.seen ? formatBinaryBytes(usage.mem) : '-',
        cpuTotal: usage.cpu,
        memTotal: usage.mem,
        error: node.error,
        problem: node.problem,
      };
      row.search = [name, node.location, connLabel(node.conn), row.agentVersion, row.dockerVersion].join(' ');
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
      return { text: CONN_PIP[row.conn], tone: connTone(row.conn) };
    case 'name':
      return { text: row.name };
    case 'status':
      // The node answers but cannot work (e.g. its Docker engine is down).
      if (row.conn === 'online' && row.problem)
        return { text: nodeLabel('error'), tone: toneOf(nodeTone('error')) };
      return { text: connLabel(row.conn), tone: connTone(row.conn) };
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
    `Status      ${connLabel(n.conn)}${n.error ? ` — ${n.error}` : ''}`,
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
