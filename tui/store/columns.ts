/**
 * Column fitting for narrow terminals: columns have a priority; the least important ones are
 * dropped until the rest fit, then the spare width goes to the flexible columns.
 */
export interface ColumnDef<Id extends string = string> {
  id: Id;
  title: string;
  /** Width the column needs to be useful. */
  min: number;
  /** Widest it is worth making it (default: `min`). */
  max?: number;
  /** Lower numbers survive longer; 0 is never dropped. */
  priority: number;
  align?: 'left' | 'right';
}

export interface FittedColumn<Id extends string = string> extends ColumnDef<Id> {
  width: number;
}

/** Space between columns. */
export const COLUMN_GAP = 2;

export function fitColumns<Id extends string>(
  columns: readonly ColumnDef<Id>[],
  width: number,
): FittedColumn<Id>[] {
  let kept = [...columns];
  const needed = (cols: readonly ColumnDef<Id>[]) =>
    cols.reduce((sum, c) => sum + c.min, 0) + COLUMN_GAP * Math.max(0, cols.length - 1);
  while (needed(kept) > width) {
    const droppable = kept.filter((c) => c.priority > 0);
    if (droppable.length === 0) break;
    const worst = droppable.reduce((a, b) => (b.priority >= a.priority ? b : a));
    kept = kept.filter((c) => c !== worst);
  }
  const fitted: FittedColumn<Id>[] = kept.map((c) => ({ ...c, width: c.min }));
  let spare = width - needed(kept);
  // Spare width goes to the most important columns first, each up to its max.
  const order = [...fitted].sort((a, b) => a.priority - b.priority);
  for (const c of order) {
    if (spare <= 0) break;
    const grow = Math.min(spare, (c.max ?? c.min) - c.width);
    c.width += grow;
    spare -= grow;
  }
  // Never wider than the space available, even when nothing could be dropped.
  let over = fitted.reduce((s, c) => s + c.width, 0) + COLUMN_GAP * Math.max(0, fitted.length - 1) - width;
  for (let i = fitted.length - 1; over > 0 && i >= 0; i--) {
    const c = fitted[i]!;
    const cut = Math.min(over, c.width - 1);
    c.width -= cut;
    over -= cut;
  }
  return fitted;
}
