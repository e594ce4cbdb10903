/**
 * The original's tables: left-aligned columns separated by five spaces, header first, no
 * trailing spaces. The implementation is shared with the TUI in `src/core/summary.ts`.
 */
export {
  SUMMARY_COLUMN_GAP as COLUMN_GAP,
  type SummaryStyler as CellStyler,
  summaryTable as renderTable,
  summaryWidth as displayWidth,
} from '../../core/summary.js';
