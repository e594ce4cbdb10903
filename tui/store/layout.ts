/**
 * Where each panel goes for a terminal size. Pure, so the reducer (page sizes, scrolling) and the
 * views agree on the same rectangles.
 *
 * Wide terminals dock the detail pane under the tables. Small ones (80×24 is the floor we design
 * for) collapse it into a tab: it takes the whole body while open, and the tables come back on esc.
 */
import type { TuiState } from './state.js';

export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface Layout {
  compact: boolean;
  header: Rect;
  nodes: Rect | null;
  jobs: Rect | null;
  containers: Rect | null;
  detail: Rect | null;
  /** One line for the flash message, prompts and filters. */
  status: Rect;
  footer: Rect;
}

export const WIDE_MIN_WIDTH = 120;
export const WIDE_MIN_HEIGHT = 36;

/** Panels have a one-cell border on every side. */
export const BORDER = 1;

function clamp(value: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, value));
}

export function computeLayout(
  width: number,
  height: number,
  counts: { nodes: number; jobs: number },
  detailOpen: boolean,
): Layout {
  const w = Math.max(20, width);
  const h = Math.max(10, height);
  const compact = w < WIDE_MIN_WIDTH || h < WIDE_MIN_HEIGHT;
  const header: Rect = { left: 0, top: 0, width: w, height: 1 };
  const status: Rect = { left: 0, top: h - 2, width: w, height: 1 };
  const footer: Rect = { left: 0, top: h - 1, width: w, height: 1 };
  const bodyTop = 1;
  const bodyHeight = h - 3;
  if (compact && detailOpen) {
    return {
      compact,
      header,
      nodes: null,
      jobs: null,
      containers: null,
      detail: { left: 0, top: bodyTop, width: w, height: bodyHeight },
      status,
      footer,
    };
  }
  const wanted = Math.max(counts.nodes, counts.jobs, 1) + 2 * BORDER + 1;
  const topHeight = compact
    ? clamp(wanted, 4, Math.floor(bodyHeight * 0.4))
    : clamp(wanted, 5, Math.floor(bodyHeight * 0.3));
  const leftWidth = Math.floor(w / 2);
  const nodes: Rect = { left: 0, top: bodyTop, width: leftWidth, height: topHeight };
  const jobs: Rect = { left: leftWidth, top: bodyTop, width: w - leftWidth, height: topHeight };
  const rest = bodyHeight - topHeight;
  const detailHeight = compact ? 0 : clamp(Math.floor(rest * 0.45), 8, rest - 5);
  const containers: Rect = { left: 0, top: bodyTop + topHeight, width: w, height: rest - detailHeight };
  const detail: Rect | null = compact
    ? null
    : { left: 0, top: bodyTop + topHeight + containers.height, width: w, height: detailHeight };
  return { compact, header, nodes, jobs, containers, detail, status, footer };
}

/** Count of jobs across nodes, for sizing the top band (counted once per version of the nodes). */
const jobCounts = new WeakMap<TuiState['nodes'], number>();

function jobCount(state: TuiState): number {
  // The band is sized for the longer list: with more nodes than a screen has lines, jobs do not matter.
  if (state.nodeOrder.length > 200) return 0;
  const known = jobCounts.get(state.nodes);
  if (known !== undefined) return known;
  const names = new Set<string>();
  for (const node of Object.values(state.nodes)) for (const job in node.jobs) names.add(job);
  jobCounts.set(state.nodes, names.size);
  return names.size;
}

let lastKey = '';
let lastLayout: Layout | null = null;

export function layoutOf(state: TuiState): Layout {
  const jobs = jobCount(state);
  const open = state.detail.open || state.focus === 'detail';
  const key = `${state.screen.width}x${state.screen.height}:${state.nodeOrder.length}:${jobs}:${open}`;
  if (lastLayout && key === lastKey) return lastLayout;
  lastKey = key;
  lastLayout = computeLayout(
    state.screen.width,
    state.screen.height,
    { nodes: state.nodeOrder.length, jobs },
    open,
  );
  return lastLayout;
}

/** Rows of data a table panel can show (border and header row excluded). */
export function tableBodyHeight(rect: Rect | null): number {
  return rect ? Math.max(1, rect.height - 2 * BORDER - 1) : 1;
}

/** Inner size of a bordered panel. */
export function innerSize(rect: Rect | null): { width: number; height: number } {
  return rect
    ? { width: Math.max(1, rect.width - 2 * BORDER), height: Math.max(1, rect.height - 2 * BORDER) }
    : { width: 1, height: 1 };
}

/** Size of the text area of the detail pane (tab bar and status line excluded). */
export function detailContentSize(state: TuiState): { width: number; height: number } {
  const inner = innerSize(layoutOf(state).detail);
  return { width: inner.width, height: Math.max(1, inner.height - 2) };
}
