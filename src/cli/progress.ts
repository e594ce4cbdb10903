/**
 * Progress of a long operation across nodes.
 *
 * On a terminal: one live line per node in flight (`lab1: Starting container (2/5)`), redrawn
 * in place at most ~15 times a second, with the time spent in the node's current phase once it
 * passes a second (`lab1: Stopping old containers (0/20, grace 10s) · 4s`: the clock keeps
 * ticking while nothing else changes, so a wait never looks like a hang); a node's last line is printed for good when it finishes,
 * so the scrollback keeps every node's outcome. Only as many live lines as fit the terminal are
 * drawn (the rest are counted), which keeps ten thousand nodes cheap to watch.
 * Without a terminal: plain lines, `lab1: Starting container (2/5)`, as they come.
 */
import type { OutputStream, Style } from './io.js';

export interface ProgressReporter {
  /** A node's operation was sent (live view only: plain output waits for real progress). */
  begin(node: string): void;
  /**
   * A node's latest message. `phase` (e.g. `stop`) starts the node's phase clock again when it
   * changes; without it the message up to its first ` (` names the phase.
   */
  update(node: string, message: string, phase?: string): void;
  /** A node is done; its final message stays on screen. */
  finish(node: string, message: string, ok: boolean): void;
  /** A line of its own that stays (`Wave 2/3: lab2`), printed in order with the nodes' lines. */
  note(line: string): void;
  /** Flushes and removes the live lines. */
  close(): void;
}

export function createProgressReporter(
  out: OutputStream,
  style: Style,
  options: { live?: boolean } = {},
): ProgressReporter {
  const live = options.live ?? out.isTTY === true;
  return live ? new LiveProgress(out, style) : new PlainProgress(out, style);
}

/**
 * Plain lines, written in batches: thousands of nodes each reporting a handful of steps would
 * otherwise mean one write (a system call on files and pipes) per line.
 */
class PlainProgress implements ProgressReporter {
  private pending = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly out: OutputStream,
    private readonly style: Style,
  ) {}
  begin(): void {}
  update(node: string, message: string): void {
    this.push(`${node}: ${message}\n`);
  }
  finish(node: string, message: string, ok: boolean): void {
    this.push(`${node}: ${ok ? message : this.style.red(message)}\n`);
  }
  note(line: string): void {
    this.push(`${line}\n`);
  }
  close(): void {
    this.flush();
  }

  private push(line: string): void {
    this.pending += line;
    if (this.pending.length >= PLAIN_BATCH_BYTES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), PLAIN_BATCH_MS);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending) return;
    const text = this.pending;
    this.pending = '';
    this.out.write(text);
  }
}

const PLAIN_BATCH_BYTES = 64 * 1024;
const PLAIN_BATCH_MS = 50;

const REDRAW_INTERVAL_MS = 66;

/** The phase clock is shown once a phase has lasted this long. */
const CLOCK_FROM_MS = 1000;

interface ActiveLine {
  message: string;
  phase: string;
  /** Date.now() when the node entered this phase. */
  since: number;
}

/** `4s`, `1m05s`. */
function elapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

export class LiveProgress implements ProgressReporter {
  private readonly active = new Map<string, ActiveLine>();
  private finished: string[] = [];
  private drawnLines = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Redraws every second while a node is in flight, so phase clocks tick. */
  private ticker: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly out: OutputStream,
    private readonly style: Style,
  ) {}

  begin(node: string): void {
    this.update(node, this.style.dim('waiting for the agent…'), 'begin');
  }

  update(node: string, message: string, phase?: string): void {
    if (this.closed) return;
    const key = phase ?? message.split(' (')[0]!;
    const before = this.active.get(node);
    const since = before && before.phase === key ? before.since : Date.now();
    this.active.set(node, { message, phase: key, since });
    this.ticker ??= setInterval(() => this.schedule(), 1000);
    this.ticker.unref?.();
    this.schedule();
  }

  finish(node: string, message: string, ok: boolean): void {
    if (this.closed) return;
    this.active.delete(node);
    this.finished.push(`${node}: ${ok ? this.style.green(message) : this.style.red(message)}`);
    if (this.active.size === 0) this.stopTicking();
    this.schedule();
  }

  private stopTicking(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
  }

  note(line: string): void {
    if (this.closed) return;
    this.finished.push(line);
    this.schedule();
  }

  close(): void {
    if (this.closed) return;
    this.stopTicking();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.active.clear();
    this.render();
    this.closed = true;
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.render();
    }, REDRAW_INTERVAL_MS);
  }

  /** Erases the live lines, prints finished ones for good, then draws the live ones again. */
  private render(): void {
    // A terminal that reports no size (0, e.g. a pty nobody sized) gets the classic 80x24.
    const columns = Math.max(20, this.out.columns || 80);
    const rows = Math.max(4, this.out.rows || 24);
    let frame = '';
    if (this.drawnLines > 0) frame += `\x1b[${this.drawnLines}F\x1b[J`;
    for (const line of this.finished) frame += `${line}\n`;
    this.finished = [];
    const room = rows - 2;
    const entries = [...this.active];
    const shown = entries.length > room ? entries.slice(0, room - 1) : entries;
    const now = Date.now();
    const lines = shown.map(([node, { message, since }]) => {
      const clock = now - since >= CLOCK_FROM_MS ? this.style.dim(` · ${elapsed(now - since)}`) : '';
      return fitWidth(`${node}: ${message}${clock}`, columns - 1);
    });
    if (shown.length < entries.length) {
      lines.push(
        this.style.dim(
          fitWidth(`… and ${entries.length - shown.length} more nodes in progress`, columns - 1),
        ),
      );
    }
    for (const line of lines) frame += `${line}\n`;
    this.drawnLines = lines.length;
    if (frame) this.out.write(frame);
  }
}

/** Cuts a line to the terminal width so it never wraps (which would break the redraw). */
function fitWidth(line: string, width: number): string {
  const chars = [...line];
  return chars.length <= width ? line : `${chars.slice(0, width - 1).join('')}…`;
}
