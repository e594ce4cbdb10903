/**
 * What every selector hands the views: text with a tone, never markup. The views (`tui/views/`)
 * turn tones into colours, or into nothing under NO_COLOR.
 */
import type { Tone as KernelTone } from '../../src/core/outcome.js';

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

const FROM_KERNEL: Readonly<Record<KernelTone, Tone>> = {
  good: 'ok',
  warn: 'warn',
  bad: 'error',
  muted: 'dim',
};

/** The TUI's tone for the colour the kernel gives a status or an outcome (as the CLI shows it). */
export function toneOf(tone: KernelTone): Tone {
  return FROM_KERNEL[tone];
}
