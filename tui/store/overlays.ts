/**
 * Text of the overlays (help, file chooser, planning, confirmation, rollout board) and of the
 * status line, as rows of segments. Pure, like every selector.
 */

import { formatElapsed } from '../../src/core/format.js';
import { nodeLabel, outcomeLabel, outcomeTone } from '../../src/core/outcome.js';
import { footerHints, helpSections, keyName } from './keymap.js';
import { memo } from './memo.js';
import { type Segment, type Tone, toneOf } from './segments.js';
import {
  type RolloutBoard,
  type RolloutNode,
  type RolloutNodeStatus,
  rolloutNodeOk,
  type TuiState,
} from './state.js';

export interface OverlayView {
  kind: 'help' | 'chooser' | 'planning' | 'confirm' | 'rollout';
  title: string;
  rows: Segment[][];
  /** Preferred size (the view clamps it to the screen). */
  width: number;
  height: number;
}

/** Distinct shapes, so a node's state reads without colour too. */
const STATUS_MARK: Readonly<Record<RolloutNodeStatus, string>> = {
  waiting: '·',
  running: '▶',
  succeeded: '✔',
  unchanged: '✔',
  failed: '✖',
  reverted: '↺',
  untouched: '·',
  offline: '○',
  unauthorized: '✖',
  untrusted: '⚠',
  skipped: '-',
  declined: '-',
};

/** A board node's state: waiting and running are the board's own; outcomes read as in the CLI. */
function statusLabel(status: RolloutNodeStatus): { text: string; tone: Tone } {
  if (status === 'waiting') return { text: 'WAITING', tone: 'dim' };
  if (status === 'running') return { text: 'RUNNING', tone: 'warn' };
  return { text: outcomeLabel(status), tone: toneOf(outcomeTone(status)) };
}

function bar(current: number | null, total: number | null, width: number): string {
  if (current === null || total === null || total <= 0) return '';
  const filled = Math.round((Math.min(current, total) / total) * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${current}/${total}`;
}

const text = (t: string, tone?: Tone): Segment[] => [tone ? { text: t, tone } : { text: t }];

export function overlayView(state: TuiState): OverlayView | null {
  const { width, height } = state.screen;
  const modal = state.modal;
  if (modal?.kind === 'help') {
    const rows: Segment[][] = [];
    for (const section of helpSections()) {
      rows.push(text(section.title, 'accent'));
      for (const r of section.rows) rows.push([{ text: `  ${r.keys.padEnd(22)} ` }, { text: r.label }]);
      rows.push([]);
    }
    return {
      kind: 'help',
      title: ' Help — esc closes, ↑↓ scroll ',
      rows: rows.slice(modal.scroll),
      width: Math.min(90, width - 4),
      height: height - 4,
    };
  }
  if (modal?.kind === 'chooseFile') {
    const rows: Segment[][] = [
      text('Job file to deploy or update (files given on the command line, then *.yaml here):', 'dim'),
      [],
    ];
    modal.files.forEach((file, i) => {
      rows.push([{ text: `${i === modal.selected ? '▶ ' : '  '}${file}`, match: i === modal.selected }]);
    });
    if (modal.error) rows.push([], text(modal.error, 'error'));
    rows.push([], text('enter: plan this file   esc: cancel', 'dim'));
    return {
      kind: 'chooser',
      title: ' Deploy ',
      rows,
      width: Math.min(80, width - 4),
      height: Math.min(height - 4, modal.files.length + 8),
    };
  }
  if (modal?.kind === 'planning') {
    const n = modal.request.nodes.length;
    return {
      kind: 'planning',
      title: ` ${modal.title} `,
      rows: [text(`Asking ${n} node${n === 1 ? '' : 's'} for a plan…`), [], text('esc: cancel', 'dim')],
      width: Math.min(60, width - 4),
      height: 7,
    };
  }
  if (modal?.kind === 'confirm') {
    const rows: Segment[][] = modal.summary.map((line) => text(line));
    const problems = modal.nodes.filter((n) => n.status !== 'online' || (n.plan?.warnings.length ?? 0) > 0);
    if (problems.length > 0) {
      rows.push([]);
      for (const n of problems) {
        if (n.status !== 'online')
          rows.push(text(`${n.node}: ${nodeLabel(n.status)} — ${n.error ?? ''} (skipped)`, 'error'));
        for (const w of n.plan?.warnings ?? []) rows.push(text(`${n.node}: ${w}`, 'warn'));
      }
    }
    rows.push([], text('Equivalent command:', 'dim'), text(`  ${modal.command}`, 'accent'), []);
    const verb = modal.title.split(' ')[0] ?? 'Confirm';
    const confirmLabel = `[ ${verb.charAt(0).toUpperCase()}${verb.slice(1)} ]`;
    if (modal.typeToConfirm !== null) {
      rows.push(
        text(
          `Purge removes every container of ${modal.typeToConfirm} and its history. Type the job name to confirm:`,
          'warn',
        ),
        [{ text: '  > ' }, { text: `${modal.typed}█`, tone: 'accent' }],
      );
      if (modal.error) rows.push(text(modal.error, 'error'));
      rows.push(
        [],
        [{ text: '[ Cancel ]', match: true }, { text: '   ' }, { text: confirmLabel, tone: 'dim' }],
      );
      rows.push(text('enter: purge (when the name matches)   esc: cancel', 'dim'));
    } else {
      rows.push([
        { text: '[ Cancel ]', match: modal.focus === 'cancel' },
        { text: '   ' },
        { text: confirmLabel, match: modal.focus === 'confirm' },
      ]);
      rows.push(
        text('y: confirm   n/esc: cancel   tab: switch button   enter: press the focused one', 'dim'),
      );
    }
    const visible = rows.slice(Math.min(modal.scroll, Math.max(0, rows.length - 1)));
    const longest = Math.max(...rows.map((r) => r.reduce((s, seg) => s + Array.from(seg.text).length, 0)));
    return {
      kind: 'confirm',
      title: ` ${modal.title} — nothing changes until you confirm `,
      rows: visible,
      width: Math.min(width - 2, Math.max(70, longest + 4)),
      height: Math.min(height - 2, rows.length + 2),
    };
  }
  const board = state.rollout;
  if (board && !modal && board.nodes.length > boardLinesFor(height)) {
    const rows = aggregateBoard(board, state.now, height);
    return {
      kind: 'rollout',
      title: ` Rollout: ${board.title} — ${board.nodes.length} nodes `,
      rows,
      width: Math.min(width - 2, 110),
      height: Math.min(height - 2, rows.length + 2),
    };
  }
  if (board && !modal) {
    const rows: Segment[][] = [];
    const detailed = board.nodes.length <= 8;
    const waved = board.waves > 1 || board.nodes.some((n) => n.canary);
    if (waved) {
      const wave = board.wave;
      const where = wave
        ? wave.phase === 'revert'
          ? `reverting: wave ${wave.index + 1}/${wave.count}`
          : `wave ${wave.index + 1}/${board.waves}`
        : board.finishedAt === null
          ? 'starting'
          : 'done';
      const canaries = board.nodes.filter((n) => n.canary).length;
      rows.push(
        text(
          `${board.waves} wave${board.waves === 1 ? '' : 's'}${canaries > 0 ? ` · canary: ${canaries} node${canaries === 1 ? '' : 's'}` : ''} · ${where}`,
          wave?.phase === 'revert' ? 'warn' : 'accent',
        ),
        [],
      );
    }
    for (const n of board.nodes.slice(board.scroll)) {
      const last = n.message ?? n.lines[n.lines.length - 1] ?? (n.status === 'waiting' ? 'waiting' : '');
      const label = n.reverting ? { text: 'REVERTING', tone: 'warn' as const } : statusLabel(n.status);
      const settled = n.status !== 'waiting' && n.status !== 'running';
      // The wave column only when there is more than one wave (`*`: a canary).
      const wave = !waved || n.wave === null ? '' : `w${n.wave}${n.canary ? '*' : ''}`;
      rows.push([
        { text: `${STATUS_MARK[n.status]} `, tone: label.tone },
        { text: `${n.node.padEnd(14)} ` },
        ...(waved ? [{ text: `${wave.padEnd(5)}`, tone: 'dim' as const }] : []),
        { text: `${label.text.padEnd(13)}`, tone: label.tone },
        { text: `${bar(n.current, n.total, 10).padEnd(20)} ` },
        // A node that needs a look says why in its status's colour.
        settled && !rolloutNodeOk(n.status) ? { text: last, tone: label.tone } : { text: last },
      ]);
      if (detailed && n.message !== null) {
        for (const line of n.lines.slice(-3)) rows.push(text(`      ${line}`, 'dim'));
      } else if (detailed) {
        for (const line of n.lines.slice(0, -1).slice(-3)) rows.push(text(`      ${line}`, 'dim'));
      }
    }
    const done = board.nodes.filter((n) => n.status !== 'waiting' && n.status !== 'running').length;
    rows.push([]);
    if (board.finishedAt === null) {
      rows.push(
        text(
          `Running… ${done}/${board.nodes.length} nodes done (${formatElapsed(state.now - board.startedAt)})`,
          'warn',
        ),
      );
    } else {
      const ok = board.nodes.filter((n) => rolloutNodeOk(n.status)).length;
      rows.push(
        text(
          `Finished in ${formatElapsed(board.finishedAt - board.startedAt)}: ${ok} ok, ${board.nodes.length - ok} not — esc/enter to dismiss`,
          ok === board.nodes.length ? 'ok' : 'error',
        ),
      );
      for (const line of board.after) rows.push(text(line, 'accent'));
    }
    return {
      kind: 'rollout',
      title: ` Rollout: ${board.title} `,
      rows,
      width: Math.min(width - 2, 110),
      height: Math.min(height - 2, rows.length + 2),
    };
  }
  return null;
}

/** How many nodes the board lists one per line on a screen this high; more are aggregated. */
export function boardLinesFor(height: number): number {
  return Math.max(8, height - 12);
}

const WAITING_RUNNING: readonly RolloutNodeStatus[] = ['waiting', 'running'];

/** The board's nodes counted by state, running ones by phase (counted again only when a node changed). */
export const boardCounts = memo((nodes: readonly RolloutNode[]) => {
  const byStatus = new Map<RolloutNodeStatus, number>();
  const byPhase = new Map<string, number>();
  const failures: RolloutNode[] = [];
  for (const n of nodes) {
    byStatus.set(n.status, (byStatus.get(n.status) ?? 0) + 1);
    if (n.status === 'running') {
      const phase = n.phase ?? 'starting';
      byPhase.set(phase, (byPhase.get(phase) ?? 0) + 1);
    } else if (n.status !== 'waiting' && !rolloutNodeOk(n.status)) failures.push(n);
  }
  return { byStatus, byPhase, failures };
});

/**
 * A rollout over more nodes than the screen has lines: counts per state and phase with one
 * progress bar, then the nodes that need a look (failed, offline, …) with their message; the
 * arrows scroll that list. A thousand nodes are a dozen lines, not a thousand.
 */
function aggregateBoard(board: RolloutBoard, now: number, height: number): Segment[][] {
  const total = board.nodes.length;
  const { byStatus, byPhase, failures } = boardCounts(board.nodes);
  const count = (s: RolloutNodeStatus) => byStatus.get(s) ?? 0;
  const done = total - count('waiting') - count('running');
  const rows: Segment[][] = [];
  const width = 40;
  const filled = Math.round((done / Math.max(1, total)) * width);
  rows.push([
    { text: `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ` },
    { text: `${done}/${total} nodes done`, tone: done === total ? 'ok' : 'warn' },
  ]);
  rows.push([]);
  const line = (mark: string, label: string, n: number, tone: Tone, detail = ''): Segment[] => [
    { text: `${mark} `, tone },
    { text: label.padEnd(14), tone },
    { text: String(n).padStart(6) },
    ...(detail ? [{ text: `   ${detail}`, tone: 'dim' as const }] : []),
  ];
  rows.push(line(STATUS_MARK.waiting, 'WAITING', count('waiting'), 'dim'));
  const phases = [...byPhase].map(([phase, n]) => `${phase} ${n}`).join(' · ');
  rows.push(line(STATUS_MARK.running, 'RUNNING', count('running'), 'warn', phases));
  for (const [status, n] of byStatus) {
    if (WAITING_RUNNING.includes(status)) continue;
    const label = statusLabel(status);
    // Two outcomes can share a label (OK: succeeded, unchanged): say which.
    const detail = status === 'unchanged' ? 'nothing to change' : status === 'succeeded' ? 'changed' : '';
    rows.push(line(STATUS_MARK[status], label.text, n, label.tone, detail));
  }
  rows.push([]);
  if (board.finishedAt === null) {
    rows.push(text(`Running… ${formatElapsed(now - board.startedAt)}`, 'warn'));
  } else {
    const ok = total - failures.length;
    rows.push(
      text(
        `Finished in ${formatElapsed(board.finishedAt - board.startedAt)}: ${ok} ok, ${failures.length} not — esc/enter to dismiss`,
        failures.length === 0 ? 'ok' : 'error',
      ),
    );
  }
  if (failures.length > 0) {
    rows.push([], text(`Nodes that need a look (${failures.length}) — ↑↓ scroll:`, 'error'));
    const room = Math.max(1, height - 4 - rows.length);
    const from = Math.min(board.scroll, Math.max(0, failures.length - room));
    for (const n of failures.slice(from, from + room)) {
      const label = statusLabel(n.status);
      rows.push([
        { text: `${STATUS_MARK[n.status]} `, tone: label.tone },
        { text: `${n.node.padEnd(14)} ` },
        { text: label.text.padEnd(13), tone: label.tone },
        { text: n.message ?? n.lines[n.lines.length - 1] ?? '', tone: label.tone },
      ]);
    }
  }
  return rows;
}

/** The flash message, while it lasts. */
export function flashText(state: TuiState): { text: string; level: 'info' | 'ok' | 'error' } | null {
  return state.flash && state.flash.until > state.now ? state.flash : null;
}

/** The line above the footer: an active prompt, else the flash message, else where we are. */
export function statusLine(state: TuiState): Segment[] {
  const modal = state.modal;
  if (modal?.kind === 'prompt') {
    const prefix =
      modal.purpose === 'filter'
        ? `Filter ${modal.panel ?? ''} (regex, !inverse): /`
        : modal.purpose === 'command'
          ? ':'
          : modal.purpose === 'logSearch'
            ? 'Search logs: /'
            : `Scale ${modal.job} to how many containers per node? `;
    const segs: Segment[] = [{ text: prefix, tone: 'accent' }, { text: `${modal.input}█` }];
    if (modal.error) segs.push({ text: `  ${modal.error}`, tone: 'error' });
    return segs;
  }
  const flash = flashText(state);
  if (flash)
    return [
      { text: flash.text, tone: flash.level === 'error' ? 'error' : flash.level === 'ok' ? 'ok' : 'accent' },
    ];
  const crumbs = ['dokkup', ...state.navStack.map((f) => f.focus)];
  if (state.scope.kind !== 'all')
    crumbs.push(`${state.scope.kind} ${state.scope.kind === 'node' ? state.scope.node : state.scope.job}`);
  return [{ text: crumbs.length > 1 ? crumbs.join(' › ') : '', tone: 'dim' }];
}

export function footerLine(state: TuiState): Segment[] {
  const segs: Segment[] = [];
  for (const h of footerHints(state)) {
    segs.push({ text: ` ${h.keys} `, tone: 'accent' }, { text: `${h.label} ` });
  }
  return segs;
}

export { keyName };
