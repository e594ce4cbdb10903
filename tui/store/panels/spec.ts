/**
 * What a table panel is, k9s-style: one `PanelSpec` per resource (nodes, jobs, containers) says
 * how its rows are built, which columns it has and how a row draws, what enter does on it, and
 * what the detail pane and the operation keys make of its selected row. Everything generic
 * (filtering, selection, scrolling, the table as text, drilling, the detail pane) goes through the
 * registry (`panels/index.ts`) instead of branching on the panel.
 */
import type { ColumnDef, FittedColumn } from '../columns.js';
import type { Cell } from '../segments.js';
import type { ContainerScope, LogTarget, PanelId, TuiState } from '../state.js';

/** What every row has. */
export interface RowBase {
  /** Stable across re-sorting: the selection follows it. */
  key: string;
  /** What a filter matches against. */
  search: string;
  /** Greyed out: its node is not online. */
  dim: boolean;
}

/** What enter does on a row: narrow the containers table to a scope, or open the detail pane. */
export type DrillTarget = { kind: 'scope'; scope: ContainerScope } | { kind: 'detail' };

/** The containers a selected row stands for in the Stats tab, and the graph's title. */
export interface StatsScope {
  title: string;
  /** Container keys (`containerKey`) whose usage is summed. */
  containers: readonly string[];
}

/**
 * One table panel. Methods (not function properties) on purpose: a `PanelSpec<NodeRow>` is then
 * usable where a `PanelSpec` of any row is expected, which is what the registry holds.
 */
export interface PanelSpec<R extends RowBase = RowBase> {
  readonly id: PanelId;
  /** The key that focuses it, shown in its title (`[1] Nodes`). */
  readonly number: number;
  readonly columns: readonly ColumnDef[];
  /** Shown when the panel has no rows and no filter. */
  readonly empty: string;
  /** Title without number and counter (`Containers ‹ node lab1`). */
  title(state: TuiState): string;
  /** Rows in display order, scope applied, filter not. Memoised: same state parts, same array. */
  rows(state: TuiState): R[];
  /** The row's cells for the fitted columns, in their order. */
  cells(row: R, columns: readonly FittedColumn[], state: TuiState): Cell[];
  drill(row: R): DrillTarget;
  /** The Info tab for the row. */
  info(row: R, state: TuiState): string[];
  /** The Stats tab for the row. */
  stats(row: R, state: TuiState): StatsScope;
  /** The logs `l` opens for the row; null: none. */
  logs(row: R): LogTarget | null;
  /** The job the operation keys (s, r, x, p) act on; `row` is the selected one, null if none. */
  job(row: R | null, state: TuiState): string | null;
}
