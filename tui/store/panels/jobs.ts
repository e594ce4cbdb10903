/**
 * The jobs panel: one row per job across every node, with running/desired summed, the version
 * (and where nodes disagree) and the drift per node. Enter narrows the containers table to the
 * job on every node.
 */
import { leaseHolder } from '../../../src/core/lease.js';
import type { CanaryMark, LeaseInfo } from '../../../src/protocol/api.js';
import type { ColumnDef, FittedColumn } from '../columns.js';
import { fitText } from '../format.js';
import { memo } from '../memo.js';
import type { Cell } from '../segments.js';
import { changedSince, type FleetChange, fleetMark, type NodeEntry, type TuiState } from '../state.js';
import { allContainerRows, type ContainerRow } from './containers.js';
import { connLabel } from './nodes.js';
import type { PanelSpec, RowBase } from './spec.js';

export interface JobNodeState {
  node: string;
  version: string | null;
  running: number;
  desired: number;
  online: boolean;
  /** The node runs an unpromoted canary of the job. */
  canary: CanaryMark | null;
  /** Who holds the job's lease on the node (a rollout in progress). */
  lease: LeaseInfo | null;
  /** The job's route on the node's proxy (absent: none, or an agent without a proxy). */
  route?: { label: string; upstreams: number } | null;
}

/** One entry of a job with named entries, summed over the nodes. */
export interface JobEntryRow {
  name: string;
  image: string;
  running: number;
  desired: number;
}

export interface JobRow extends RowBase {
  job: string;
  image: string;
  /** Jobs with named entries: each entry (in the job file's order); empty otherwise. */
  entries: JobEntryRow[];
  version: string;
  running: number;
  desired: number;
  drift: string;
  healthy: boolean;
  perNode: JobNodeState[];
  /** A canary is out: its version, on how many of the job's nodes. */
  canary: { version: string; nodes: number; of: number } | null;
  /** Who holds the job's lease (on any node), for what. */
  lease: LeaseInfo | null;
  /** `canary 1/3`, `locked alice@laptop`, both, or ''. */
  rollout: string;
  /** The route on the nodes' proxies (`:80 shop.example.com → 8000`), '-' without one. */
  route: string;
  /** Containers the routes send requests to, summed over the nodes. */
  upstreams: number;
}

/** The ROLLOUT cell: a canary out (`canary 1/3`) and a lease held (`locked alice@laptop`). */
export function rolloutText(canary: JobRow['canary'], lease: LeaseInfo | null): string {
  const parts: string[] = [];
  if (canary) parts.push(`canary ${canary.nodes}/${canary.of}`);
  if (lease) parts.push(`locked ${leaseHolder(lease)}`);
  return parts.join(' · ');
}

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
/** A node's share of a job row, without its canary and lease (what drift and version need). */
export type JobNodeCounts = Omit<JobNodeState, 'canary' | 'lease'>;

export function versionText(perNode: readonly JobNodeCounts[]): string {
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
export function driftText(perNode: readonly JobNodeCounts[]): string {
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

/** One named entry of a job on one node. */
interface NodeEntryState {
  name: string;
  image: string | undefined;
  running: number;
  desired: number;
}

/** What one node contributes to the jobs table: per job, its state there, image and entries. */
interface NodeJobs {
  jobs: NodeEntry['jobs'];
  conn: NodeEntry['conn'];
  states: Map<string, { state: JobNodeState; image: string | undefined; entries: NodeEntryState[] }>;
}

function readNode(name: string, node: NodeEntry): NodeJobs {
  const states: NodeJobs['states'] = new Map();
  for (const status of Object.values(node.jobs)) {
    states.set(status.name, {
      state: {
        node: name,
        version: status.version,
        running: status.running,
        desired: status.desired ?? 0,
        online: node.conn === 'online',
        canary: status.canary ?? null,
        lease: status.lease ?? null,
        route: status.route ? { label: status.route.route, upstreams: status.route.upstreams.length } : null,
      },
      image: status.image ?? status.containers[0]?.image,
      entries: (status.entries ?? []).map((e) => ({
        name: e.name,
        image: e.image ?? undefined,
        running: e.running,
        desired: e.desired ?? 0,
      })),
    });
  }
  return { jobs: node.jobs, conn: node.conn, states };
}

/** A job's states, images and named entries per node, by the node's inventory index. */
interface JobEntry {
  states: (JobNodeState | undefined)[];
  images: (string | undefined)[];
  entries: (NodeEntryState[] | undefined)[];
}

/** Each named entry summed over the nodes, in the order the nodes list them. */
function entryRows(job: JobEntry): JobEntryRow[] {
  const sums = new Map<string, { running: number; desired: number; images: string[] }>();
  for (const list of job.entries) {
    for (const e of list ?? []) {
      const sum = sums.get(e.name) ?? { running: 0, desired: 0, images: [] };
      sum.running += e.running;
      sum.desired += e.desired;
      if (e.image) sum.images.push(e.image);
      sums.set(e.name, sum);
    }
  }
  return [...sums].map(([name, { running, desired, images }]) => ({
    name,
    image: majority(images) ?? '-',
    running,
    desired,
  }));
}

/** Above this many nodes, a job's search text leaves out its nodes' names (a filter is for jobs). */
const SEARCH_NODES_UP_TO = 100;

function jobRow(job: string, entry: JobEntry): JobRow | null {
  const perNode: JobNodeState[] = [];
  const images: string[] = [];
  for (let i = 0; i < entry.states.length; i++) {
    const state = entry.states[i];
    if (!state) continue;
    perNode.push(state);
    const image = entry.images[i];
    if (image) images.push(image);
  }
  if (perNode.length === 0) return null;
  let running = 0;
  let desired = 0;
  let healthy = true;
  let anyOnline = false;
  let canaries = 0;
  let canaryVersion: string | null = null;
  let lease: LeaseInfo | null = null;
  const versions = new Set<string | null>();
  const routes: string[] = [];
  let upstreams = 0;
  for (const p of perNode) {
    if (p.route) {
      routes.push(p.route.label);
      upstreams += p.route.upstreams;
    }
    if (p.canary) {
      canaries++;
      canaryVersion ??= p.canary.version;
    }
    lease ??= p.lease;
    running += p.running;
    desired += p.desired;
    versions.add(p.version);
    if (p.online) anyOnline = true;
    if (!(p.online && p.running === p.desired && p.desired > 0)) healthy = false;
  }
  const row: JobRow = {
    key: job,
    search: '',
    dim: !anyOnline,
    job,
    image: majority(images) ?? '-',
    entries: entryRows(entry),
    version: versionText(perNode),
    running,
    desired,
    drift: driftText(perNode),
    healthy: healthy && versions.size === 1,
    perNode,
    canary: canaryVersion !== null ? { version: canaryVersion, nodes: canaries, of: perNode.length } : null,
    lease,
    rollout: '',
    route: majority(routes) ?? '-',
    upstreams,
  };
  row.rollout = rolloutText(row.canary, lease);
  const names = perNode.length <= SEARCH_NODES_UP_TO ? perNode.map((p) => p.node) : [];
  row.search = [
    job,
    row.image,
    ...row.entries.map((e) => e.name),
    row.version,
    row.drift,
    row.rollout,
    row.route,
    ...names,
  ]
    .join(' ')
    .toLowerCase();
  return row;
}

interface JobsBuilt {
  nodeOrder: string[];
  nodes: TuiState['nodes'];
  mark: FleetChange | null;
  index: Map<string, number>;
  perNode: NodeJobs[];
  byJob: Map<string, JobEntry>;
  rows: Map<string, JobRow>;
  list: JobRow[];
}
let builtJobs: JobsBuilt | null = null;

/** Puts node `i`'s contribution in (or takes it out); the jobs it touched are added to `dirty`. */
function contribute(built: JobsBuilt, i: number, node: NodeJobs, sign: 1 | -1, dirty: Set<string>): void {
  for (const [job, { state, image, entries }] of node.states) {
    let entry = built.byJob.get(job);
    if (!entry) {
      entry = { states: [], images: [], entries: [] };
      built.byJob.set(job, entry);
    }
    entry.states[i] = sign === 1 ? state : undefined;
    entry.images[i] = sign === 1 ? image : undefined;
    entry.entries[i] = sign === 1 ? entries : undefined;
    dirty.add(job);
  }
}

function finish(built: JobsBuilt, dirty: Set<string>): JobRow[] {
  for (const job of dirty) {
    const entry = built.byJob.get(job);
    const row = entry ? jobRow(job, entry) : null;
    if (row) built.rows.set(job, row);
    else {
      built.rows.delete(job);
      built.byJob.delete(job);
    }
  }
  built.list = [...built.rows.values()].sort((a, b) => a.job.localeCompare(b.job));
  return built.list;
}

/**
 * The jobs table, built once, then kept up to date node by node: the fleet log says which nodes
 * changed, and only the jobs those nodes run are summed again (a summary's usage or a stats batch
 * changes no job at all).
 */
function buildJobRows(state: TuiState): JobRow[] {
  const { nodeOrder, nodes } = state;
  const built = builtJobs;
  if (built && built.nodeOrder === nodeOrder && built.nodes === nodes) return built.list;
  const changed = built && built.nodeOrder === nodeOrder ? changedSince(state, built.mark) : null;
  if (built && changed) {
    const dirty = new Set<string>();
    for (const name of new Set(changed)) {
      const i = built.index.get(name);
      const node = nodes[name];
      if (i === undefined || !node) continue;
      const old = built.perNode[i]!;
      if (old.jobs === node.jobs && old.conn === node.conn) continue;
      contribute(built, i, old, -1, dirty);
      const fresh = readNode(name, node);
      built.perNode[i] = fresh;
      contribute(built, i, fresh, 1, dirty);
    }
    built.nodes = nodes;
    built.mark = fleetMark(state);
    return dirty.size === 0 ? built.list : finish(built, dirty);
  }
  const fresh: JobsBuilt = {
    nodeOrder,
    nodes,
    mark: fleetMark(state),
    index: new Map(nodeOrder.map((name, i) => [name, i])),
    perNode: nodeOrder.map((name) => readNode(name, nodes[name]!)),
    byJob: new Map(),
    rows: new Map(),
    list: [],
  };
  const dirty = new Set<string>();
  fresh.perNode.forEach((node, i) => {
    contribute(fresh, i, node, 1, dirty);
  });
  builtJobs = fresh;
  return finish(fresh, dirty);
}

export function jobRows(state: TuiState): JobRow[] {
  return buildJobRows(state);
}

const containersOfJob = memo((rows: ContainerRow[], job: string): string[] =>
  rows.filter((c) => c.job === job).map((c) => c.key),
);

type JobCol = 'job' | 'entry' | 'image' | 'version' | 'count' | 'drift' | 'rollout' | 'route';

const COLUMNS: ColumnDef<JobCol>[] = [
  { id: 'job', title: 'JOB', min: 6, max: 20, priority: 0 },
  { id: 'entry', title: 'ENTRY', min: 5, max: 24, priority: 3 },
  { id: 'count', title: 'RUN/DES', min: 7, priority: 0, align: 'right' },
  { id: 'drift', title: 'DRIFT', min: 7, max: 20, priority: 1 },
  { id: 'rollout', title: 'ROLLOUT', min: 16, max: 32, priority: 1 },
  { id: 'version', title: 'VERSION', min: 7, max: 28, priority: 2 },
  { id: 'image', title: 'IMAGE', min: 10, max: 34, priority: 3 },
  { id: 'route', title: 'ROUTE', min: 5, max: 36, priority: 4 },
];

function cellOf(row: JobRow, column: FittedColumn): Cell {
  switch (column.id as JobCol) {
    case 'job':
      return { text: row.job || '-' };
    case 'entry':
      return row.entries.length === 0
        ? { text: '-', tone: 'dim' }
        : { text: row.entries.map((e) => e.name).join(',') };
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
    case 'rollout':
      return { text: row.rollout || '-', tone: row.rollout ? 'warn' : 'dim' };
    case 'route':
      return row.route === '-' ? { text: '-', tone: 'dim' } : { text: row.route };
  }
}

function infoLines(j: JobRow, state: TuiState): string[] {
  const lines = [
    `Job         ${j.job}`,
    `Image       ${j.image}`,
    `Version     ${j.version}`,
    `Running     ${j.running} of ${j.desired} desired`,
    `Drift       ${j.drift}`,
    ...(j.route === '-'
      ? []
      : [
          `Route       ${j.route} (${j.upstreams} container${j.upstreams === 1 ? '' : 's'} behind the proxies)`,
        ]),
    ...j.entries.map(
      (e) => `Entry       ${fitText(e.name, 14)} ${fitText(e.image, 34)} ${e.running}/${e.desired}`,
    ),
    ...(j.canary
      ? [
          `Canary      ${j.canary.version} on ${j.canary.nodes} of ${j.canary.nodes === 1 ? j.canary.of : j.canary.of} nodes (P promotes, r takes it back)`,
        ]
      : []),
    ...(j.lease
      ? [`Lease       ${leaseHolder(j.lease)} (${j.lease.command}) until ${j.lease.expiresAt}`]
      : []),
    '',
    'NODE           STATUS        VERSION   RUNNING/DESIRED',
  ];
  for (const p of j.perNode) {
    const conn = state.nodes[p.node]?.conn ?? 'offline';
    lines.push(
      `${fitText(p.node, 14)} ${fitText(connLabel(conn), 13)} ${fitText(p.version ?? '-', 9)} ${p.running}/${p.desired}`,
    );
  }
  return lines;
}

export const jobsPanel: PanelSpec<JobRow> = {
  id: 'jobs',
  number: 2,
  columns: COLUMNS,
  empty: 'no jobs yet — press d to deploy a job file',
  title: () => 'Jobs',
  rows: jobRows,
  cells: (row, columns) => columns.map((c) => cellOf(row, c)),
  drill: (row) => ({ kind: 'scope', scope: { kind: 'job', job: row.key } }),
  info: infoLines,
  stats: (row, state) => ({
    title: `job ${row.job} (sum)`,
    containers: containersOfJob(allContainerRows(state), row.job),
  }),
  logs: (row) => ({ kind: 'job', job: row.job }),
  job: (row) => row?.job ?? null,
};
