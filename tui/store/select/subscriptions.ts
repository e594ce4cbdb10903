/**
 * Which live feeds the screen needs (Elm's `subscriptions`). Only what is watched is streamed:
 * - per-container stats of the nodes whose containers are on screen (the visible rows of the
 *   containers table, not the whole fleet), and of what the Stats/Info tab shows: the selected
 *   container's or node's node, or every node of the selected job (that job's containers only,
 *   less often the more nodes it spans);
 * - for nodes whose agent predates summaries, a slow stats feed while their row is on screen
 *   (their CPU and MEM columns come from it);
 * - the logs the Logs tab shows while it is visible.
 * Node summaries and events are not here: every session keeps those (they are what the nodes
 * table and the Events tab are made of, at a low rate). The feeds controller keeps the open
 * subscriptions equal to this after every change.
 */
import { layoutOf, tableBodyHeight } from '../layout.js';
import { scrollTop, selectedIndex, selection, visibleRows } from '../select/table.js';
import type { LogTarget, TuiState } from '../state.js';

/** Per-container stats of what is on screen: every couple of seconds, like `docker stats`. */
export const STATS_INTERVAL_MS = 2_000;
/** Nodes without summaries, for their row's usage. */
export const ROW_STATS_INTERVAL_MS = 10_000;

/**
 * A job's stats from every node it runs on: the more nodes, the less often, so that the batches
 * arriving stay near 250 a second (2 s up to 500 nodes, 40 s at 10,000), at most once a minute.
 */
export function jobStatsIntervalMs(nodes: number): number {
  return Math.min(60_000, Math.max(STATS_INTERVAL_MS, nodes * 4));
}

export interface StatsWant {
  node: string;
  /** Only this job's containers; absent: every container of the node. */
  job?: string;
  intervalMs: number;
}

export interface Subscriptions {
  stats: StatsWant[];
  logs: LogTarget | null;
}

/** The rows of a table that are on screen (the same window the table draws). */
function onScreen<P extends 'nodes' | 'containers'>(state: TuiState, panel: P) {
  const rect = layoutOf(state)[panel];
  if (!rect) return [];
  const rows = visibleRows(state, panel);
  const height = tableBodyHeight(rect);
  const top = scrollTop(state.tables[panel].top, selectedIndex(state, panel), rows.length, height);
  return rows.slice(top, top + height);
}

/** The last list handed out: the same wants give the same array (the controller skips work on it). */
let lastWants: { key: string; list: StatsWant[] } = { key: '', list: [] };

function sameWants(key: string, list: StatsWant[]): StatsWant[] {
  if (key !== lastWants.key) lastWants = { key, list };
  return lastWants.list;
}

export function subscriptions(state: TuiState): Subscriptions {
  const layout = layoutOf(state);
  const wants = new Map<string, StatsWant>();
  const online = (node: string) => state.nodes[node]?.conn === 'online';
  const whole = (node: string, intervalMs = STATS_INTERVAL_MS) => {
    const had = wants.get(node);
    // A node's whole feed covers any job of it; the more frequent interval wins.
    if (!had || had.job !== undefined || had.intervalMs > intervalMs) wants.set(node, { node, intervalMs });
  };
  const ofJob = (node: string, job: string, intervalMs: number) => {
    if (!wants.has(node)) wants.set(node, { node, job, intervalMs });
  };

  for (const row of onScreen(state, 'containers')) if (!row.dim) whole(row.node);
  const statsTab = layout.detail !== null && (state.detail.tab === 'stats' || state.detail.tab === 'info');
  if (statsTab) {
    const sel = selection(state);
    if (sel?.panel === 'containers' && !sel.row.dim) whole(sel.row.node);
    else if (sel?.panel === 'nodes' && online(sel.row.name)) whole(sel.row.name);
    else if (sel?.panel === 'jobs') {
      const nodes = sel.row.perNode.filter((p) => p.online).map((p) => p.node);
      const interval = jobStatsIntervalMs(nodes.length);
      for (const node of nodes) ofJob(node, sel.row.job, interval);
    }
  }
  for (const row of onScreen(state, 'nodes')) {
    if (state.nodes[row.name]?.summary === 'unsupported' && online(row.name))
      whole(row.name, ROW_STATS_INTERVAL_MS);
  }

  const list = [...wants.values()];
  const key = list.map((w) => `${w.node}/${w.job ?? ''}/${w.intervalMs}`).join(',');
  const logsVisible = layout.detail !== null && state.detail.tab === 'logs';
  return { stats: sameWants(key, list), logs: logsVisible ? state.logs.target : null };
}

/** What identifies a stats subscription: a want with the same key needs no new one. */
export function statsWantKey(want: StatsWant): string {
  return `${want.job ?? ''}/${want.intervalMs}`;
}
