/**
 * The three tables, generically: filter, selection, scrolling and the table as text (only the
 * visible rows are built), each through the panel registry. Also what is selected: the row of
 * the panel focused last, which the detail pane and the operation keys act on.
 */
import { terminalText } from '../../../src/core/terminal-text.js';
import { COLUMN_GAP, type FittedColumn, fitColumns } from '../columns.js';
import { compileFilter } from '../filter.js';
import { fitText } from '../format.js';
import { innerSize, layoutOf, tableBodyHeight } from '../layout.js';
import { memo } from '../memo.js';
import { PANEL_SPECS, type RowBase, type RowOf, specOf } from '../panels/index.js';
import type { Cell } from '../segments.js';
import { type LogTarget, PANELS, type PanelId, type TuiState } from '../state.js';

/**
 * Whether each row matched the filter last asked: rows are cached (per node), so while typing
 * over ten thousand nodes only the rows that changed since the last key are tested again.
 */
const matched = new WeakMap<RowBase, { filter: string; match: boolean }>();

const applyFilter = <R extends RowBase>(rows: R[], filter: string): R[] => {
  const compiled = compileFilter(filter);
  if (!compiled) return rows;
  return rows.filter((r) => {
    const seen = matched.get(r);
    if (seen && seen.filter === filter) return seen.match;
    const match = compiled.testLower(r.search);
    matched.set(r, { filter, match });
    return match;
  });
};

// One memo per table, so the three do not evict each other's cache.
const filtered = Object.fromEntries(PANELS.map((p) => [p, memo(applyFilter)])) as Record<
  PanelId,
  typeof applyFilter
>;

/** The panel's rows after scope and filter, in display order. */
export function visibleRows<P extends PanelId>(state: TuiState, panel: P): RowOf[P][] {
  return filtered[panel](PANEL_SPECS[panel].rows(state), state.tables[panel].filter);
}

/** Index of the selected row among the visible ones; -1 when there are none. */
export function selectedIndex(state: TuiState, panel: PanelId): number {
  const rows = visibleRows(state, panel);
  if (rows.length === 0) return -1;
  const key = state.tables[panel].selected;
  const index = key === null ? 0 : rows.findIndex((r) => r.key === key);
  return Math.max(0, index);
}

export function selectedRow<P extends PanelId>(state: TuiState, panel: P): RowOf[P] | null {
  const index = selectedIndex(state, panel);
  return index < 0 ? null : (visibleRows(state, panel)[index] ?? null);
}

/** The panel the detail pane and the operation keys look at: the focused one, or the last. */
export function activePanel(state: TuiState): PanelId {
  return state.focus === 'detail' ? state.lastPanel : state.focus;
}

/** What the detail pane shows: the selected row of the panel focused last. */
export type Selection = { [P in PanelId]: { panel: P; row: RowOf[P] } }[PanelId];

export function selection(state: TuiState): Selection | null {
  const panel = activePanel(state);
  const row = selectedRow(state, panel);
  return row ? ({ panel, row } as Selection) : null;
}

/** The job the operation keys (s, r, x, p) act on: the selected job, or the selected container's job. */
export function selectedJob(state: TuiState): string | null {
  const panel = activePanel(state);
  return specOf(panel).job(selectedRow(state, panel), state);
}

/** The log target `l` opens for the current selection. */
export function logTargetFor(state: TuiState): LogTarget | null {
  const sel = selection(state);
  return sel ? specOf(sel.panel).logs(sel.row) : null;
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

function headerLine(cols: readonly FittedColumn[]): string {
  return cols.map((c) => fitText(c.title, c.width, c.align)).join(' '.repeat(COLUMN_GAP));
}

export function tableView(state: TuiState, panel: PanelId): TableView | null {
  const rect = layoutOf(state)[panel];
  if (!rect) return null;
  const spec = specOf(panel);
  const height = tableBodyHeight(rect);
  const rows = visibleRows(state, panel);
  const table = state.tables[panel];
  const index = selectedIndex(state, panel);
  const top = scrollTop(table.top, index, rows.length, height);
  const columns = fitColumns(spec.columns, innerSize(rect).width);
  const lines = rows.slice(top, top + height).map(
    (r, i): TableLine => ({
      key: r.key,
      // What agents send (names, images, states) is shown, never obeyed, and measured as shown.
      cells: spec.cells(r, columns, state).map((c) => ({ ...c, text: terminalText(c.text) })),
      selected: top + i === index,
      dim: r.dim,
    }),
  );
  const total = spec.rows(state).length;
  const counter = rows.length === total ? `${total}` : `${rows.length}/${total}`;
  const filter = table.filter ? ` /${table.filter}` : '';
  const empty = rows.length > 0 ? null : table.filter ? `no match for /${table.filter}` : spec.empty;
  return {
    panel,
    title: `[${spec.number}] ${spec.title(state)} (${counter})${filter}`,
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
