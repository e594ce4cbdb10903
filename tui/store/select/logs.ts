/**
 * The Logs tab as rows of segments: prefixes (timestamps, `node/container` for a job's merged
 * logs), search highlighting, wrapping or cutting to the pane, following the end or anchored at a
 * line while paused; and the search jumps (`n` / `N`).
 */
import type { Segment } from '../segments.js';
import type { LogLine, LogTarget, TuiState } from '../state.js';

export function logTargetKey(target: LogTarget | null): string {
  if (!target) return '';
  return target.kind === 'container' ? `c:${target.node}/${target.id}` : `j:${target.job}`;
}

export function logTargetTitle(target: LogTarget | null): string {
  if (!target) return 'no selection';
  return target.kind === 'container' ? `${target.node}/${target.name}` : `job ${target.job} (all replicas)`;
}

export interface LogView {
  title: string;
  status: string;
  rows: Segment[][];
  /** seq of the first line shown (for scrolling from a paused position). */
  firstSeq: number | null;
  atEnd: boolean;
  matches: number;
}

function formatLogPrefix(line: LogLine, target: LogTarget | null, timestamps: boolean): string {
  const parts: string[] = [];
  if (timestamps) parts.push(line.ts ? line.ts.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');
  if (target?.kind === 'job') parts.push(`${line.node}/${line.container}`);
  return parts.length > 0 ? `${parts.join(' ')} ` : '';
}

function searchRegex(search: string): RegExp | null {
  if (!search) return null;
  try {
    return new RegExp(search, 'gi');
  } catch {
    return new RegExp(search.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi');
  }
}

/** Splits text into plain and matching segments. */
export function highlight(text: string, regex: RegExp | null): Segment[] {
  if (!regex) return [{ text }];
  const out: Segment[] = [];
  let last = 0;
  regex.lastIndex = 0;
  for (let m = regex.exec(text); m !== null; m = regex.exec(text)) {
    if (m[0] === '') {
      regex.lastIndex++;
      continue;
    }
    if (m.index > last) out.push({ text: text.slice(last, m.index) });
    out.push({ text: m[0], match: true });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push({ text: text.slice(last) });
  return out.length > 0 ? out : [{ text }];
}

/** Cuts segments into rows of `width` cells (wrap) or one cut row. */
function layoutSegments(segments: Segment[], width: number, wrap: boolean): Segment[][] {
  const rows: Segment[][] = [];
  let row: Segment[] = [];
  let used = 0;
  for (const seg of segments) {
    let chars = Array.from(seg.text);
    while (chars.length > 0) {
      const room = width - used;
      if (room <= 0) {
        if (!wrap) return [...rows, row];
        rows.push(row);
        row = [];
        used = 0;
        continue;
      }
      const piece = chars.slice(0, room);
      row.push({ ...seg, text: piece.join('') });
      used += piece.length;
      chars = chars.slice(room);
    }
  }
  rows.push(row);
  return rows;
}

function lineSegments(line: LogLine, state: TuiState, regex: RegExp | null): Segment[] {
  const prefix = formatLogPrefix(line, state.logs.target, state.logs.timestamps);
  const body = highlight(line.text, regex);
  const segs: Segment[] = prefix ? [{ text: prefix, tone: 'dim' }] : [];
  if (line.stream === 'stderr') for (const s of body) segs.push({ ...s, tone: s.match ? undefined : 'warn' });
  else segs.push(...body);
  return segs;
}

export function logView(state: TuiState, width: number, height: number): LogView {
  const logs = state.logs;
  const regex = searchRegex(logs.search);
  const lines = logs.lines;
  let matches = 0;
  if (regex) {
    for (const l of lines) {
      regex.lastIndex = 0;
      if (regex.test(l.text)) matches++;
    }
  }
  const rows: Segment[][] = [];
  let firstSeq: number | null = null;
  let atEnd = true;
  const firstIdx = lines.length > 0 ? lines[0]!.seq : 0;
  if (logs.follow || logs.anchor === null) {
    // From the end backwards until the pane is full.
    for (let i = lines.length - 1; i >= 0 && rows.length < height; i--) {
      const wrapped = layoutSegments(lineSegments(lines[i]!, state, regex), width, logs.wrap);
      const take = wrapped.slice(Math.max(0, wrapped.length - (height - rows.length)));
      rows.unshift(...take);
      firstSeq = lines[i]!.seq;
    }
  } else {
    const start = Math.max(0, logs.anchor - firstIdx);
    let i = start;
    for (; i < lines.length && rows.length < height; i++) {
      if (firstSeq === null) firstSeq = lines[i]!.seq;
      const wrapped = layoutSegments(lineSegments(lines[i]!, state, regex), width, logs.wrap);
      rows.push(...wrapped.slice(0, height - rows.length));
    }
    atEnd = i >= lines.length;
  }
  const flags = [
    logs.follow ? 'follow' : 'paused (F resumes)',
    logs.timestamps ? 'timestamps' : null,
    logs.wrap ? 'wrap' : null,
    logs.search ? `/${logs.search} ${matches} match${matches === 1 ? '' : 'es'}` : null,
    logs.dropped > 0 ? `${logs.dropped} dropped` : null,
  ].filter(Boolean);
  return {
    title: logTargetTitle(logs.target),
    status: `${lines.length} lines · ${flags.join(' · ')}`,
    rows,
    firstSeq,
    atEnd,
    matches,
  };
}

/** seq of the next (dir 1) / previous (dir -1) line matching the search, from `fromSeq`. */
export function findMatch(state: TuiState, fromSeq: number, dir: 1 | -1): number | null {
  const regex = searchRegex(state.logs.search);
  if (!regex) return null;
  const lines = state.logs.lines;
  const ordered = dir === 1 ? lines : [...lines].reverse();
  for (const l of ordered) {
    if (dir === 1 ? l.seq <= fromSeq : l.seq >= fromSeq) continue;
    regex.lastIndex = 0;
    if (regex.test(l.text)) return l.seq;
  }
  return null;
}
