/**
 * Turns the selectors' plain cells and segments into blessed tag markup. Colour is optional
 * (`NO_COLOR`, `--no-color`): without it only inverse/bold/underline are used, which NO_COLOR
 * allows and which keep the selection and matches visible.
 */
import { terminalText } from '../../src/core/terminal-text.js';
import { COLUMN_GAP, type FittedColumn } from '../store/columns.js';
import { fitText } from '../store/format.js';
import type { Cell, Segment, Tone } from '../store/segments.js';
import type { TableLine } from '../store/select/table.js';

/**
 * Makes text safe inside tagged content: `{` and `}` are tag delimiters, and a control character
 * or escape sequence (from an agent, a container) is shown as visible text, never passed to the
 * terminal. The last barrier: the selectors already neutralise what they measure.
 */
export function escapeTags(text: string): string {
  return terminalText(text).replace(/[{}]/g, (ch) => (ch === '{' ? '{open}' : '{close}'));
}

const TONE_COLOR: Readonly<Record<Tone, string | null>> = {
  normal: null,
  dim: 'gray',
  ok: 'green',
  warn: 'yellow',
  error: 'red',
  accent: 'cyan',
};

export interface Markup {
  color: boolean;
  tone(text: string, tone: Tone | undefined): string;
  bold(text: string): string;
  inverse(text: string): string;
  underline(text: string): string;
}

export function markup(color: boolean): Markup {
  return {
    color,
    tone(text, tone) {
      const c = color && tone ? TONE_COLOR[tone] : null;
      return c ? `{${c}-fg}${escapeTags(text)}{/${c}-fg}` : escapeTags(text);
    },
    bold: (text) => `{bold}${text}{/bold}`,
    inverse: (text) => `{inverse}${text}{/inverse}`,
    underline: (text) => `{underline}${text}{/underline}`,
  };
}

/** One table row, cells padded to their columns, selection and greying applied. */
export function tableRow(
  m: Markup,
  line: TableLine,
  columns: readonly FittedColumn[],
  focused: boolean,
): string {
  const gap = ' '.repeat(COLUMN_GAP);
  if (line.selected) {
    // The selected row is one inverse bar: per-cell colours inside it would be unreadable.
    const text = line.cells.map((c, i) => fitText(c.text, columns[i]!.width, columns[i]!.align)).join(gap);
    return focused ? m.inverse(escapeTags(text)) : m.underline(escapeTags(text));
  }
  const parts = line.cells.map((c, i) => {
    const text = fitText(c.text, columns[i]!.width, columns[i]!.align);
    return m.tone(text, line.dim ? 'dim' : c.tone);
  });
  return parts.join(gap);
}

export function cells(m: Markup, list: readonly Cell[]): string {
  return list.map((c) => m.tone(c.text, c.tone)).join('');
}

/** Segments of a log/event row; search matches are inverse, with or without colour. */
export function segments(m: Markup, list: readonly Segment[]): string {
  return list
    .map((s) => (s.match ? m.inverse(m.tone(s.text, color(m) ? 'warn' : undefined)) : m.tone(s.text, s.tone)))
    .join('');
}

function color(m: Markup): boolean {
  return m.color;
}
