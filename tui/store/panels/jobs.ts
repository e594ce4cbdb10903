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
import type { TuiState } from '../state.js';
import { allContainerRows } from './containers.js';
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
  /** A canary is out: its version, on how many of the job's nodes. */
  canary: { version: string; nodes: number; of: number } | null;
  /** Who holds the job's lease (on any node), for what. */
  lease: LeaseInfo | null;
  /** `canary 1/3`, `locked alice@laptop`, both, or ''. */
  rollout: string;
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
        canary: status.canary ?? null,
        lease: status.lease ?? null,
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
    const marked = entry.perNode.filter((p) => p.canary !== null);
    const canary =
      marked.length > 0
        ? { version: marked[0]!.canary!.version, nodes: marked.length, of: entry.perNode.length }
        : null;
    const lease = entry.perNode.find((p) => p.lease !== null)?.lease ?? null;
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
      canary,
      lease,
      rollout: rolloutText(canary, lease),
    };
    row.search = [
      job,
      row.image,
      row.version,
      row.drift,
      row.rollout,
      ...entry.perNode.map((p) => p.node),
    ].join(' ');
    rows.push(row);
  }
  return rows;
});

export function jobRows(state: TuiState): JobRow[] {
  return buildJobRows(state.nodeOrder, state.nodes);
}

type JobCol = 'job' | 'image' | 'version' | 'count' | 'drift' | 'rollout';

const COLUMNS: ColumnDef<JobCol>[] = [
  { id: 'job', title: 'JOB', min: 6, max: 20, priority: 0 },
  { id: 'count', title: 'RUN/DES', min: 7, priority: 0, align: 'right' },
  { id: 'drift', title: 'DRIFT', min: 7, max: 20, priority: 1 },
  { id: 'rollout', title: 'ROLLOUT', min: 16, max: 32, priority: 1 },
  { id: 'version', title: 'VERSION', min: 7, max: 28, priority: 2 },
  { id: 'image', title: 'IMAGE', min: 10, max: 34, priority: 3 },
];

function cellOf(row: JobRow, column: FittedColumn): Cell {
  switch (column.id as JobCol) {
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
    case 'rollout':
      return { text: row.rollout || '-', tone: row.rollout ? 'warn' : 'dim' };
  }
}

function infoLines(j: JobRow, state: TuiState): string[] {
  const lines = [
    `Job         ${j.job}`,
    `Image       ${j.image}`,
    `Version     ${j.version}`,
    `Running     ${j.running} of ${j.desired} desired`,
    `Drift       ${j.drift}`,
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
    containers: allContainerRows(state)
      .filter((c) => c.job === row.job)
      .map((c) => c.key),
  }),
  logs: (row) => ({ kind: 'job', job: row.job }),
  job: (row) => row?.job ?? null,
};
