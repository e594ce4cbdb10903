/**
 * The detail pane's Events, Info and Stats tabs (the Logs tab is `select/logs.ts`). Info and
 * Stats ask the selected row's panel (`PanelSpec.info`, `.stats`).
 */

import { memo } from '../memo.js';
import { allContainerRows, type ContainerRow, containerStats } from '../panels/containers.js';
import { specOf } from '../panels/index.js';
import type { Segment, Tone } from '../segments.js';
import { historyPoints, SPARK_MAX_POINTS, type TuiState } from '../state.js';
import { selection } from './table.js';

export const TAB_TITLES = { logs: 'Logs', stats: 'Stats', events: 'Events', info: 'Info' } as const;

function clock(at: number): string {
  const d = new Date(at);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The fleet's events, newest first, from the scroll position. */
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
  return sel ? specOf(sel.panel).info(sel.row, state) : ['Nothing selected.'];
}

const rowsByKey = memo((rows: ContainerRow[]) => new Map(rows.map((r) => [r.key, r])));

export interface StatsSeries {
  title: string;
  x: string[];
  cpu: number[];
  memMiB: number[];
}

/** Line-graph data for the Stats tab: the selected container, or a node's / job's sum. */
export function statsSeries(state: TuiState): StatsSeries | null {
  const sel = selection(state);
  if (!sel) return null;
  const { title, containers } = specOf(sel.panel).stats(sel.row, state);
  // Bucket by sample index from the end: series are aligned on their newest samples.
  const cpu: number[] = new Array(SPARK_MAX_POINTS).fill(0);
  const mem: number[] = new Array(SPARK_MAX_POINTS).fill(0);
  let longest = 0;
  const byKey = rowsByKey(allContainerRows(state));
  for (const key of containers) {
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
