/**
 * The original's tables: left-aligned columns separated by five spaces, header first, no
 * trailing spaces. Widths are measured on the plain text; colour is applied after padding so
 * escape codes never shift a column.
 */

export const COLUMN_GAP = 5;

export type CellStyler = (column: number, text: string, row: number) => string;

/** Display width of a string: code points, escape codes excluded. */
export function displayWidth(text: string): number {
  return [...text.replace(/\x1b\[[0-9;]*m/g, '')].length;
}

/**
 * Renders rows under a header. `style` may colour a cell (`row` is 0-based over the data rows;
 * the header is row -1). Returns lines without trailing newlines.
 */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  style?: CellStyler,
): string[] {
  const widths = header.map((title, column) =>
    Math.max(displayWidth(title), ...rows.map((row) => displayWidth(row[column] ?? ''))),
  );
  const line = (cells: readonly string[], row: number) => {
    let out = '';
    cells.forEach((cell, column) => {
      const isLast = column === cells.length - 1;
      const text = style ? style(column, cell, row) : cell;
      out += isLast ? text : text + ' '.repeat(widths[column]! - displayWidth(cell) + COLUMN_GAP);
    });
    return out.replace(/\s+$/, '');
  };
  return [line(header, -1), ...rows.map((row, index) => line(row, index))];
}
