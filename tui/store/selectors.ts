/**
 * Everything the views draw, derived from the state. Pure; the row builders are memoised on
 * the identity of their inputs (the reducer keeps untouched parts of the state identical), so a
 * frame that changed nothing costs almost nothing.
 */
import type { ContainerInfo } from '../../src/protocol/index.js';
import { COLUMN_GAP, type ColumnDef, type FittedColumn, fitColumns } from './columns.js';
import { compileFilter } from './filter.js';
import {
  cellLength,
  fitText,
  formatBytes,
  formatDuration,
  formatLatency,
  formatPercent,
  formatPorts,
  sparkline,
} from './format.js';
import { innerSize, layoutOf, tableBodyHeight } from './layout.js';
import {
  type ContainerScope,
  type ContainerStats,
  containerKey,
  historyPoints,
  type LogLine,
  type LogTarget,
  type NodeConn,
  type NodeEntry,
  type PanelId,
  SPARK_MAX_POINTS,
  type TuiState,
} from './state.js';

/** Stats older than this are not shown as current usage. */
export const STATS_STALE_MS = 15_000;

export type Tone = 'normal' | 'dim' | 'ok' | 'warn' | 'error' | 'accent';

export interface Cell {
  text: string;
  tone?: Tone;
}

interface RowBase {
  key: string;
  /** What a filter matches against. */
  search: string;
  /** Greyed out: the node is not online. */
  dim: boolean;
}

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

export interface JobNodeState {
  node: string;
  version: string | null;
  running: number;
  desired: number;
  online: boolean;
}

export interface JobRow extends RowBase {
  job: string;
  image: string;
  version: string;
  running: number;
  desired: number;
  drift: string;
  healthy: boolean;
  perNode: JobNodeState[];
}

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

/** The last stats of a row's container (maybe stale); null while its node is not online. */
export function containerStats(state: TuiState, row: ContainerRow): ContainerStats | null {
  return row.dim ? null : (state.stats[row.node]?.[row.id] ?? null);
}

export function containerUsage(state: TuiState, row: ContainerRow): ContainerUsage {
  const now = state.now;
  const stats = containerStats(state, row);
  const fresh = freshStats(stats ?? undefined, now);
  const history = stats ? historyPoints(stats.history) : [];
  return {
    cpu: fresh ? fresh.latest.cpuPercent : null,
    mem: fresh ? fresh.latest.memBytes : null,
    memLimit: fresh ? fresh.latest.memLimit : null,
    cpuHistory: history.map((p) => p.cpu),
    memHistory: history.map((p) => p.mem),
    uptime: row.state === 'running' ? formatDuration(now - row.since) : '-',
  };
}

// ---------------------------------------------------------------------------------------------
// Memoisation on argument identity.

function memo<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  let lastArgs: A | null = null;
  let lastResult: R;
  return (...args: A) => {
    if (lastArgs && args.length === lastArgs.length && args.every((a, i) => Object.is(a, lastArgs![i]))) {
      return lastResult;
    }
    lastResult = fn(...args);
    lastArgs = args;
    return lastResult;
  };
}

function freshStats(stats: ContainerStats | undefined, now: number): ContainerStats | null {
  return stats && now - stats.at <= STATS_STALE_MS ? stats : null;
}

// ---------------------------------------------------------------------------------------------
// Nodes

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
  stats: Record<string, ContainerStats> | undefined,
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
        mem += s.latest.memBytes;
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

// ---------------------------------------------------------------------------------------------
// Jobs

function majority<T>(values: readonly T[]): T | undefined {
  const counts = new Map<T, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: T | undefined;
  let bestCount = 0;
  for (const [v, n] of counts) {
    if (n > bestCount) {
      best = v;
      bestCount = n;
    }
  }
  return best;
}

/** `abc1234`, or `abc1234 def5678@lab3` when nodes disagree (the majority first). */
export function versionText(perNode: readonly JobNodeState[]): string {
  const versions = perNode.map((p) => p.version ?? '-');
  const main = majority(versions);
  if (main === undefined) return '-';
  const others = new Map<string, string[]>();
  for (const p of perNode) {
    const v = p.version ?? '-';
    if (v === main) continue;
    others.set(v, [...(others.get(v) ?? []), p.node]);
  }
  const parts = [main];
  for (const [v, nodes] of others)
    parts.push(nodes.length > 2 ? `${v}@${nodes.length} nodes` : `${v}@${nodes.join(',')}`);
  return parts.join(' ');
}

/** Desired vs actual: `in sync`, `-2 lab2`, `+1 lab1`, `-1 lab2 +1 lab3`, `? lab4` (offline). */
export function driftText(perNode: readonly JobNodeState[]): string {
  const short: string[] = [];
  const over: string[] = [];
  const unknown: string[] = [];
  let missing = 0;
  let extra = 0;
  for (const p of perNode) {
    if (!p.online) {
      unknown.push(p.node);
      continue;
    }
    const d = p.running - p.desired;
    if (d < 0) {
      missing += -d;
      short.push(p.node);
    } else if (d > 0) {
      extra += d;
      over.push(p.node);
    }
  }
  const list = (nodes: string[]) => (nodes.length > 2 ? `${nodes.length} nodes` : nodes.join(','));
  const parts: string[] = [];
  if (missing > 0) parts.push(`-${missing} ${list(short)}`);
  if (extra > 0) parts.push(`+${extra} ${list(over)}`);
  if (unknown.length > 0) parts.push(`? ${list(unknown)}`);
  return parts.length === 0 ? 'in sync' : parts.join(' ');
}

const buildJobRows = memo((nodeOrder: string[], nodes: TuiState['nodes']): JobRow[] => {
  const byJob = new Map<string, { perNode: JobNodeState[]; images: string[] }>();
  for (const name of nodeOrder) {
    const node = nodes[name]!;
    for (const status of Object.values(node.jobs)) {
      let entry = byJob.get(status.name);
      if (!entry) {
        entry = { perNode: [], images: [] };
        byJob.set(status.name, entry);
      }
      entry.perNode.push({
        node: name,
        version: status.version,
        running: status.running,
        desired: status.desired ?? 0,
        online: node.conn === 'online',
      });
      const image = status.image ?? status.containers[0]?.image;
      if (image) entry.images.push(image);
    }
  }
  const rows: JobRow[] = [];
  for (const [job, entry] of [...byJob].sort(([a], [b]) => a.localeCompare(b))) {
    const running = entry.perNode.reduce((s, p) => s + p.running, 0);
    const desired = entry.perNode.reduce((s, p) => s + p.desired, 0);
    const versions = new Set(entry.perNode.map((p) => p.version));
    const healthy =
      entry.perNode.every((p) => p.online && p.running === p.desired && p.desired > 0) && versions.size === 1;
    const row: JobRow = {
      key: job,
      search: '',
      dim: entry.perNode.every((p) => !p.online),
      job,
      image: majority(entry.images) ?? '-',
      version: versionText(entry.perNode),
      running,
      desired,
      drift: driftText(entry.perNode),
      healthy,
      perNode: entry.perNode,
    };
    row.search = [job, row.image, row.version, row.drift, ...entry.perNode.map((p) => p.node)].join(' ');
    rows.push(row);
  }
  return rows;
});

export function jobRows(state: TuiState): JobRow[] {
  return buildJobRows(state.nodeOrder, state.nodes);
}

// ---------------------------------------------------------------------------------------------
// Containers

/**
 * One node's rows, rebuilt only when that node's entry or start times change. Usage figures are
 * not part of a row (`containerUsage`), so stats batches never rebuild rows.
 */
interface NodeRowsCache {
  started: Record<string, number> | undefined;
  rows: ContainerRow[];
}
const nodeRowsCache = new WeakMap<NodeEntry, NodeRowsCache>();

function nodeContainerRows(node: NodeEntry, started: Record<string, number> | undefined): ContainerRow[] {
  const cached = nodeRowsCache.get(node);
  if (cached && cached.started === started) return cached.rows;
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
      search: [node.name, c.name, c.id.slice(0, 12), c.job, version, c.state, c.health, c.image].join(' '),
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
  nodeRowsCache.set(node, { started, rows });
  return rows;
}

const buildContainerRows = memo(
  (nodeOrder: string[], nodes: TuiState['nodes'], startedAt: TuiState['startedAt']): ContainerRow[] => {
    const rows: ContainerRow[] = [];
    for (const name of nodeOrder) {
      for (const row of nodeContainerRows(nodes[name]!, startedAt[name])) rows.push(row);
    }
    return rows;
  },
);

export function allContainerRows(state: TuiState): ContainerRow[] {
  return buildContainerRows(state.nodeOrder, state.nodes, state.startedAt);
}

const scopeContainers = memo((rows: ContainerRow[], scope: ContainerScope): ContainerRow[] => {
  if (scope.kind === 'all') return rows;
  return scope.kind === 'node'
    ? rows.filter((r) => r.node === scope.node)
    : rows.filter((r) => r.job === scope.job);
});

export function scopedContainerRows(state: TuiState): ContainerRow[] {
  return scopeContainers(allContainerRows(state), state.scope);
}

// ---------------------------------------------------------------------------------------------
// Filtering and selection (shared by the three tables)

const applyFilter = memo(<R extends RowBase>(rows: R[], filter: string): R[] => {
  const compiled = compileFilter(filter);
  return compiled ? rows.filter((r) => compiled.test(r.search)) : rows;
});

export function visibleRows(state: TuiState, panel: 'nodes'): NodeRow[];
export function visibleRows(state: TuiState, panel: 'jobs'): JobRow[];
export function visibleRows(state: TuiState, panel: 'containers'): ContainerRow[];
export function visibleRows(state: TuiState, panel: PanelId): RowBase[];
export function visibleRows(state: TuiState, panel: PanelId): RowBase[] {
  const filter = state.tables[panel].filter;
  if (panel === 'nodes') return filterNodes(nodeRows(state), filter);
  if (panel === 'jobs') return filterJobs(jobRows(state), filter);
  return filterContainers(scopedContainerRows(state), filter);
}
// One memo per table, so the three do not evict each other's cache.
const filterNodes = memo((rows: NodeRow[], filter: string) => applyFilter(rows, filter));
const filterJobs = memo((rows: JobRow[], filter: string) => applyFilter(rows, filter));
const filterContainers = memo((rows: ContainerRow[], filter: string) => applyFilter(rows, filter));

export function selectedIndex(state: TuiState, panel: PanelId): number {
  const rows = visibleRows(state, panel);
  if (rows.length === 0) return -1;
  const key = state.tables[panel].selected;
  const index = key === null ? 0 : rows.findIndex((r) => r.key === key);
  return Math.max(0, index);
}

export function selectedRow(state: TuiState, panel: 'nodes'): NodeRow | null;
export function selectedRow(state: TuiState, panel: 'jobs'): JobRow | null;
export function selectedRow(state: TuiState, panel: 'containers'): ContainerRow | null;
export function selectedRow(state: TuiState, panel: PanelId): RowBase | null {
  const rows = visibleRows(state, panel);
  const index = selectedIndex(state, panel);
  return index < 0 ? null : (rows[index] ?? null);
}

/** The job the operation keys (s, r, x, p) act on: the selected job, or the selected container's job. */
export function selectedJob(state: TuiState): string | null {
  const panel = state.focus === 'detail' ? state.lastPanel : state.focus;
  if (panel === 'jobs') return selectedRow(state, 'jobs')?.job ?? null;
  if (panel === 'containers') {
    if (state.scope.kind === 'job') return state.scope.job;
    return selectedRow(state, 'containers')?.job ?? null;
  }
  return null;
}

/** First visible row index for a table, keeping the selection on screen. */
export function scrollTop(top: number, selected: number, count: number, height: number): number {
  let t = top;
  if (selected >= 0) {
    if (selected < t) t = selected;
    if (selected >= t + height) t = selected - height + 1;
  }
  return Math.max(0, Math.min(t, Math.max(0, count - height)));
}

// ---------------------------------------------------------------------------------------------
// Header

export interface HeaderSummary {
  inventory: string;
  online: number;
  offline: number;
  unauthorized: number;
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
  let connecting = 0;
  let cpu = 0;
  let mem = 0;
  for (const row of nodeRows(state)) {
    if (row.conn === 'online') online++;
    else if (row.conn === 'offline') offline++;
    else if (row.conn === 'unauthorized') unauthorized++;
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
    connecting,
    jobsHealthy: jobs.filter((j) => j.healthy).length,
    jobsTotal: jobs.length,
    cpu: formatPercent(cpu),
    mem: formatBytes(mem),
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
    {
      text: ` · ${h.unauthorized} ${narrow ? 'unauth' : 'unauthorized'}`,
      tone: h.unauthorized > 0 ? 'error' : 'normal',
    },
  );
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

// ---------------------------------------------------------------------------------------------
// Tables as text: only the visible rows are built.

export interface TableLine {
  key: string;
  cells: Cell[];
  selected: boolean;
  dim: boolean;
}

export interface TableView {
  panel: PanelId;
  title: string;
  focused: boolean;
  columns: FittedColumn[];
  header: string;
  lines: TableLine[];
  /** Rows after scope and filter. */
  count: number;
  /** Rows before the filter. */
  total: number;
  top: number;
  filter: string;
  empty: string | null;
}

type NodeCol = 'pip' | 'name' | 'status' | 'agent' | 'docker' | 'latency' | 'containers' | 'cpu' | 'mem';
const NODE_COLUMNS: ColumnDef<NodeCol>[] = [
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

type JobCol = 'job' | 'image' | 'version' | 'count' | 'drift';
const JOB_COLUMNS: ColumnDef<JobCol>[] = [
  { id: 'job', title: 'JOB', min: 6, max: 20, priority: 0 },
  { id: 'count', title: 'RUN/DES', min: 7, priority: 0, align: 'right' },
  { id: 'drift', title: 'DRIFT', min: 7, max: 20, priority: 1 },
  { id: 'version', title: 'VERSION', min: 7, max: 28, priority: 2 },
  { id: 'image', title: 'IMAGE', min: 10, max: 34, priority: 3 },
];

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
const CONTAINER_COLUMNS: ColumnDef<ContainerCol>[] = [
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

function nodeCells(row: NodeRow, cols: FittedColumn<NodeCol>[]): Cell[] {
  return cols.map((c): Cell => {
    switch (c.id) {
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
    return { text: '' };
  });
}

function jobCells(row: JobRow, cols: FittedColumn<JobCol>[]): Cell[] {
  return cols.map((c): Cell => {
    switch (c.id) {
      case 'job':
        return { text: row.job || '-' };
      case 'image':
        return { text: row.image };
      case 'version':
        return { text: row.version, tone: row.version.includes(' ') ? 'warn' : 'normal' };
      case 'count':
        return {
          text: `${row.running}/${row.desired}`,
          tone: row.running === row.desired ? 'normal' : 'warn',
        };
      case 'drift':
        return { text: row.drift, tone: row.drift === 'in sync' ? 'ok' : 'warn' };
    }
    return { text: '' };
  });
}

function containerCells(state: TuiState, row: ContainerRow, cols: FittedColumn<ContainerCol>[]): Cell[] {
  const usage = containerUsage(state, row);
  return cols.map((c): Cell => {
    switch (c.id) {
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
          text: sparkline(usage.cpuHistory, c.width, Math.max(5, ...usage.cpuHistory)),
          tone: 'accent',
        };
      case 'mem':
        return { text: formatBytes(usage.mem) };
      case 'memSpark':
        return {
          text: sparkline(usage.memHistory, c.width, usage.memLimit ?? Math.max(1, ...usage.memHistory)),
          tone: 'accent',
        };
      case 'version':
        return { text: row.version };
      case 'ports':
        return { text: row.ports };
      case 'uptime':
        return { text: usage.uptime };
    }
    return { text: '' };
  });
}

function headerLine(cols: readonly FittedColumn[]): string {
  return cols.map((c) => fitText(c.title, c.width, c.align)).join(' '.repeat(COLUMN_GAP));
}

function scopeTitle(scope: ContainerScope): string {
  if (scope.kind === 'node') return `Containers ‹ node ${scope.node}`;
  if (scope.kind === 'job') return `Containers ‹ job ${scope.job}`;
  return 'Containers';
}

const PANEL_NUMBER: Readonly<Record<PanelId, number>> = { nodes: 1, jobs: 2, containers: 3 };

export function tableView(state: TuiState, panel: PanelId): TableView | null {
  const layout = layoutOf(state);
  const rect = layout[panel];
  if (!rect) return null;
  const width = innerSize(rect).width;
  const height = tableBodyHeight(rect);
  const rows = visibleRows(state, panel);
  const table = state.tables[panel];
  const index = selectedIndex(state, panel);
  const top = scrollTop(table.top, index, rows.length, height);
  const slice = rows.slice(top, top + height);
  let columns: FittedColumn[];
  let lines: TableLine[];
  let total: number;
  let title: string;
  if (panel === 'nodes') {
    const cols = fitColumns(NODE_COLUMNS, width);
    columns = cols;
    lines = (slice as NodeRow[]).map((r, i) => ({
      key: r.key,
      cells: nodeCells(r, cols),
      selected: top + i === index,
      dim: r.dim,
    }));
    total = state.nodeOrder.length;
    title = 'Nodes';
  } else if (panel === 'jobs') {
    const cols = fitColumns(JOB_COLUMNS, width);
    columns = cols;
    lines = (slice as JobRow[]).map((r, i) => ({
      key: r.key,
      cells: jobCells(r, cols),
      selected: top + i === index,
      dim: r.dim,
    }));
    total = jobRows(state).length;
    title = 'Jobs';
  } else {
    const cols = fitColumns(CONTAINER_COLUMNS, width);
    columns = cols;
    lines = (slice as ContainerRow[]).map((r, i) => ({
      key: r.key,
      cells: containerCells(state, r, cols),
      selected: top + i === index,
      dim: r.dim,
    }));
    total = scopedContainerRows(state).length;
    title = scopeTitle(state.scope);
  }
  const counter = rows.length === total ? `${total}` : `${rows.length}/${total}`;
  const filter = table.filter ? ` /${table.filter}` : '';
  let empty: string | null = null;
  if (rows.length === 0) {
    if (table.filter) empty = `no match for /${table.filter}`;
    else if (panel === 'jobs') empty = 'no jobs yet — press d to deploy a job file';
    else if (panel === 'containers') empty = 'no containers';
    else empty = 'no nodes';
  }
  return {
    panel,
    title: `[${PANEL_NUMBER[panel]}] ${title} (${counter})${filter}`,
    focused: state.focus === panel,
    columns,
    header: headerLine(columns),
    lines,
    count: rows.length,
    total,
    top,
    filter: table.filter,
    empty,
  };
}

/** A table line as plain text of exactly `width` cells (tests, NO_COLOR, the bench). */
export function plainLine(line: TableLine, columns: readonly FittedColumn[]): string {
  return line.cells
    .map((cell, i) => fitText(cell.text, columns[i]!.width, columns[i]!.align))
    .join(' '.repeat(COLUMN_GAP));
}

// ---------------------------------------------------------------------------------------------
// Detail pane

export const TAB_TITLES = { logs: 'Logs', stats: 'Stats', events: 'Events', info: 'Info' } as const;

export function logTargetKey(target: LogTarget | null): string {
  if (!target) return '';
  return target.kind === 'container' ? `c:${target.node}/${target.id}` : `j:${target.job}`;
}

export function logTargetTitle(target: LogTarget | null): string {
  if (!target) return 'no selection';
  return target.kind === 'container' ? `${target.node}/${target.name}` : `job ${target.job} (all replicas)`;
}

/** What the detail pane shows: the selection of the panel focused last. */
export type Selection =
  | { kind: 'node'; node: NodeEntry }
  | { kind: 'job'; job: JobRow }
  | { kind: 'container'; container: ContainerRow }
  | { kind: 'none' };

export function selection(state: TuiState): Selection {
  const panel = state.focus === 'detail' ? state.lastPanel : state.focus;
  if (panel === 'nodes') {
    const row = selectedRow(state, 'nodes');
    return row ? { kind: 'node', node: state.nodes[row.name]! } : { kind: 'none' };
  }
  if (panel === 'jobs') {
    const row = selectedRow(state, 'jobs');
    return row ? { kind: 'job', job: row } : { kind: 'none' };
  }
  const row = selectedRow(state, 'containers');
  return row ? { kind: 'container', container: row } : { kind: 'none' };
}

/** The log target `l` opens for the current selection. */
export function logTargetFor(state: TuiState): LogTarget | null {
  const sel = selection(state);
  if (sel.kind === 'container') {
    const c = sel.container;
    return { kind: 'container', node: c.node, id: c.id, name: c.name, job: c.job };
  }
  if (sel.kind === 'job') return { kind: 'job', job: sel.job.job };
  return null;
}

export interface Segment {
  text: string;
  match?: boolean;
  tone?: Tone;
}

export interface LogView {
  title: string;
  status: string;
  rows: Segment[][];
  /** seq of the first line shown (for scrolling from a paused position). */
  firstSeq: number | null;
  atEnd: boolean;
  matches: number;
}

function formatLogPrefix(line: LogLine, target: LogTarget | null, timestamps: boolean): string {
  const parts: string[] = [];
  if (timestamps) parts.push(line.ts ? line.ts.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');
  if (target?.kind === 'job') parts.push(`${line.node}/${line.container}`);
  return parts.length > 0 ? `${parts.join(' ')} ` : '';
}

function searchRegex(search: string): RegExp | null {
  if (!search) return null;
  try {
    return new RegExp(search, 'gi');
  } catch {
    return new RegExp(search.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi');
  }
}

/** Splits text into plain and matching segments. */
export function highlight(text: string, regex: RegExp | null): Segment[] {
  if (!regex) return [{ text }];
  const out: Segment[] = [];
  let last = 0;
  regex.lastIndex = 0;
  for (let m = regex.exec(text); m !== null; m = regex.exec(text)) {
    if (m[0] === '') {
      regex.lastIndex++;
      continue;
    }
    if (m.index > last) out.push({ text: text.slice(last, m.index) });
    out.push({ text: m[0], match: true });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push({ text: text.slice(last) });
  return out.length > 0 ? out : [{ text }];
}

/** Cuts segments into rows of `width` cells (wrap) or one cut row. */
function layoutSegments(segments: Segment[], width: number, wrap: boolean): Segment[][] {
  const rows: Segment[][] = [];
  let row: Segment[] = [];
  let used = 0;
  for (const seg of segments) {
    let chars = Array.from(seg.text);
    while (chars.length > 0) {
      const room = width - used;
      if (room <= 0) {
        if (!wrap) return [...rows, row];
        rows.push(row);
        row = [];
        used = 0;
        continue;
      }
      const piece = chars.slice(0, room);
      row.push({ ...seg, text: piece.join('') });
      used += piece.length;
      chars = chars.slice(room);
    }
  }
  rows.push(row);
  return rows;
}

function lineSegments(line: LogLine, state: TuiState, regex: RegExp | null): Segment[] {
  const prefix = formatLogPrefix(line, state.logs.target, state.logs.timestamps);
  const body = highlight(line.text, regex);
  const segs: Segment[] = prefix ? [{ text: prefix, tone: 'dim' }] : [];
  if (line.stream === 'stderr') for (const s of body) segs.push({ ...s, tone: s.match ? undefined : 'warn' });
  else segs.push(...body);
  return segs;
}

export function logView(state: TuiState, width: number, height: number): LogView {
  const logs = state.logs;
  const regex = searchRegex(logs.search);
  const lines = logs.lines;
  let matches = 0;
  if (regex) {
    for (const l of lines) {
      regex.lastIndex = 0;
      if (regex.test(l.text)) matches++;
    }
  }
  const rows: Segment[][] = [];
  let firstSeq: number | null = null;
  let atEnd = true;
  const firstIdx = lines.length > 0 ? lines[0]!.seq : 0;
  if (logs.follow || logs.anchor === null) {
    // From the end backwards until the pane is full.
    for (let i = lines.length - 1; i >= 0 && rows.length < height; i--) {
      const wrapped = layoutSegments(lineSegments(lines[i]!, state, regex), width, logs.wrap);
      const take = wrapped.slice(Math.max(0, wrapped.length - (height - rows.length)));
      rows.unshift(...take);
      firstSeq = lines[i]!.seq;
    }
  } else {
    const start = Math.max(0, logs.anchor - firstIdx);
    let i = start;
    for (; i < lines.length && rows.length < height; i++) {
      if (firstSeq === null) firstSeq = lines[i]!.seq;
      const wrapped = layoutSegments(lineSegments(lines[i]!, state, regex), width, logs.wrap);
      rows.push(...wrapped.slice(0, height - rows.length));
    }
    atEnd = i >= lines.length;
  }
  const flags = [
    logs.follow ? 'follow' : 'paused (F resumes)',
    logs.timestamps ? 'timestamps' : null,
    logs.wrap ? 'wrap' : null,
    logs.search ? `/${logs.search} ${matches} match${matches === 1 ? '' : 'es'}` : null,
    logs.dropped > 0 ? `${logs.dropped} dropped` : null,
  ].filter(Boolean);
  return {
    title: logTargetTitle(logs.target),
    status: `${lines.length} lines · ${flags.join(' · ')}`,
    rows,
    firstSeq,
    atEnd,
    matches,
  };
}

/** seq of the next (dir 1) / previous (dir -1) line matching the search, from `fromSeq`. */
export function findMatch(state: TuiState, fromSeq: number, dir: 1 | -1): number | null {
  const regex = searchRegex(state.logs.search);
  if (!regex) return null;
  const lines = state.logs.lines;
  const ordered = dir === 1 ? lines : [...lines].reverse();
  for (const l of ordered) {
    if (dir === 1 ? l.seq <= fromSeq : l.seq >= fromSeq) continue;
    regex.lastIndex = 0;
    if (regex.test(l.text)) return l.seq;
  }
  return null;
}

function clock(at: number): string {
  const d = new Date(at);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function eventLines(state: TuiState, height: number): Segment[][] {
  const events = state.events;
  const start = Math.max(0, events.length - 1 - state.detail.scroll);
  const rows: Segment[][] = [];
  for (let i = start; i >= 0 && rows.length < height; i--) {
    const e = events[i]!;
    const tone: Tone = e.level === 'error' ? 'error' : e.level === 'warn' ? 'warn' : 'normal';
    rows.push([
      { text: `${clock(e.at)} `, tone: 'dim' },
      { text: `${e.node.padEnd(10)} `, tone: 'accent' },
      { text: e.text, tone },
    ]);
  }
  if (rows.length === 0) rows.push([{ text: 'no events yet', tone: 'dim' }]);
  return rows;
}

export function infoLines(state: TuiState): string[] {
  const sel = selection(state);
  if (sel.kind === 'node') {
    const n = sel.node;
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
  if (sel.kind === 'job') {
    const j = sel.job;
    const lines = [
      `Job         ${j.job}`,
      `Image       ${j.image}`,
      `Version     ${j.version}`,
      `Running     ${j.running} of ${j.desired} desired`,
      `Drift       ${j.drift}`,
      '',
      'NODE           STATUS        VERSION   RUNNING/DESIRED',
    ];
    for (const p of j.perNode) {
      const conn = state.nodes[p.node]?.conn ?? 'offline';
      lines.push(
        `${fitText(p.node, 14)} ${fitText(CONN_LABEL[conn], 13)} ${fitText(p.version ?? '-', 9)} ${p.running}/${p.desired}`,
      );
    }
    return lines;
  }
  if (sel.kind === 'container') {
    const c = sel.container;
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
      `Memory      ${formatBytes(u.mem)}${u.memLimit ? ` of ${formatBytes(u.memLimit)}` : ''}   ${sparkline(u.memHistory, 30)}`,
    ];
  }
  return ['Nothing selected.'];
}

export interface StatsSeries {
  title: string;
  x: string[];
  cpu: number[];
  memMiB: number[];
}

/** Line-graph data for the Stats tab: the selected container, or a node's / job's sum. */
export function statsSeries(state: TuiState): StatsSeries | null {
  const sel = selection(state);
  let keys: string[] = [];
  let title = '';
  if (sel.kind === 'container') {
    keys = [sel.container.key];
    title = `${sel.container.node}/${sel.container.name}`;
  } else if (sel.kind === 'job' || sel.kind === 'node') {
    const rows = allContainerRows(state).filter((r) =>
      sel.kind === 'job' ? r.job === sel.job.job : r.node === sel.node.name,
    );
    keys = rows.map((r) => r.key);
    title = sel.kind === 'job' ? `job ${sel.job.job} (sum)` : `node ${sel.node.name} (sum)`;
  } else return null;
  // Bucket by sample index from the end: series are aligned on their newest samples.
  const cpu: number[] = new Array(SPARK_MAX_POINTS).fill(0);
  const mem: number[] = new Array(SPARK_MAX_POINTS).fill(0);
  let longest = 0;
  const byKey = new Map(allContainerRows(state).map((r) => [r.key, r]));
  for (const key of keys) {
    const row = byKey.get(key);
    const stats = row ? containerStats(state, row) : null;
    const history = stats ? historyPoints(stats.history) : [];
    longest = Math.max(longest, history.length);
    for (let i = 0; i < history.length; i++) {
      const slot = SPARK_MAX_POINTS - history.length + i;
      cpu[slot]! += history[i]!.cpu;
      mem[slot]! += history[i]!.mem / (1024 * 1024);
    }
  }
  const n = Math.max(2, longest);
  return {
    title,
    x: Array.from({ length: n }, (_, i) => (i === n - 1 ? 'now' : '')),
    cpu: cpu.slice(-n).map((v) => Math.round(v * 10) / 10),
    memMiB: mem.slice(-n).map((v) => Math.round(v * 10) / 10),
  };
}

// ---------------------------------------------------------------------------------------------
// Subscriptions: only what is visible.

export interface Subscriptions {
  /** Nodes whose stats feed is wanted (containers are on screen). */
  stats: string[];
  logs: LogTarget | null;
}

export function subscriptions(state: TuiState): Subscriptions {
  const layout = layoutOf(state);
  const statsVisible =
    layout.containers !== null ||
    layout.nodes !== null ||
    (layout.detail !== null && (state.detail.tab === 'stats' || state.detail.tab === 'info'));
  const statsNodes = statsVisible ? state.nodeOrder.filter((n) => state.nodes[n]!.conn === 'online') : [];
  const logsVisible = layout.detail !== null && state.detail.tab === 'logs';
  return { stats: statsNodes, logs: logsVisible ? state.logs.target : null };
}

export function flashText(state: TuiState): { text: string; level: 'info' | 'ok' | 'error' } | null {
  return state.flash && state.flash.until > state.now ? state.flash : null;
}

export { cellLength };
