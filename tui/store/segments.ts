/**
 * What every selector hands the views: text with a tone, never markup. The views (`tui/views/`)
 * turn tones into colours, or into nothing under NO_COLOR.
 */
export type Tone = 'normal' | 'dim' | 'ok' | 'warn' | 'error' | 'accent';

/** One table cell. */
export interface Cell {
  text: string;
  tone?: Tone;
}

/** A piece of a line of text (logs, events, overlays); `match` is highlighted (search, focus). */
export interface Segment {
  text: string;
  match?: boolean;
  tone?: Tone;
}
