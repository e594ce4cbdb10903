/**
 * The plan tables every front end shows before a change, as plain text lines: the
 * `Deployment summary:` / `Stop job summary:` table of the job and the `Node statuses:` table of
 * what each node would do (`lab1*` fresh, CONTAINERS `2 -> 5`, VERSION `a -> b`, OFFLINE /
 * UNAUTHORIZED). Titles, headers and cell formats follow the original dokkup README: columns
 * left-aligned, five spaces apart, no trailing spaces.
 *
 * Pure, so the CLI and the TUI print the very same tables. Colour is the caller's business: a
 * `CellStyler` may wrap cells after padding, so escape codes never shift a column.
 */
import type { Plan } from '../protocol/api.js';
import type { JobSpec } from '../protocol/job.js';
import type { NodeLabel } from './outcome.js';
import { terminalText } from './terminal-text.js';

export const SUMMARY_COLUMN_GAP = 5;

/** Styles one cell; `row` is 0-based over the data rows, -1 for the header. */
export type SummaryStyler = (column: number, text: string, row: number) => string;

/** Display width: code points, ANSI colour codes excluded. */
export function summaryWidth(text: string): number {
  return [...text.replace(/\x1b\[[0-9;]*m/g, '')].length;
}

export function summaryTable(
  header: readonly string[],
  given: readonly (readonly string[])[],
  style?: SummaryStyler,
): string[] {
  // Cells hold what agents and containers say (names, images, messages): never raw escapes.
  const rows = given.map((row) => row.map((cell) => terminalText(cell)));
  const widths = header.map((title, column) =>
    Math.max(summaryWidth(title), ...rows.map((row) => summaryWidth(row[column] ?? ''))),
  );
  const line = (cells: readonly string[], row: number) => {
    let out = '';
    cells.forEach((cell, column) => {
      const isLast = column === cells.length - 1;
      const text = style ? style(column, cell, row) : cell;
      out += isLast ? text : text + ' '.repeat(widths[column]! - summaryWidth(cell) + SUMMARY_COLUMN_GAP);
    });
    return out.replace(/\s+$/, '');
  };
  return [line(header, -1), ...rows.map((row, index) => line(row, index))];
}

const UNKNOWN = '-';

export interface JobSummary {
  name: string;
  image: string;
  restart: string;
  count: number;
  /** The group name, or the node names when the job targets nodes directly. */
  group: string;
  network: string;
}

export function jobSummaryOf(spec: JobSpec): JobSummary {
  return {
    name: spec.name,
    image: spec.container.image,
    restart: spec.container.restart,
    count: spec.count,
    group: spec.target.kind === 'group' ? spec.target.group : spec.target.nodes.join(','),
    network: spec.container.networks.join(','),
  };
}

/** `Deployment summary:` and its table (run, rollback, plan). */
export function deploymentSummaryLines(job: JobSummary, style?: SummaryStyler): string[] {
  const header = ['NAME', 'IMAGE', 'RESTART', 'COUNT', 'GROUP', 'NETWORK'];
  return [
    'Deployment summary:',
    '',
    ...summaryTable(
      header,
      [[job.name, job.image, job.restart, String(job.count), job.group, job.network]],
      style,
    ),
  ];
}

/** `Stop job summary:` and its table. */
export function stopSummaryLines(
  job: Pick<JobSummary, 'name' | 'image' | 'group'>,
  style?: SummaryStyler,
): string[] {
  const header = ['NAME', 'IMAGE', 'GROUP'];
  return ['Stop job summary:', '', ...summaryTable(header, [[job.name, job.image, job.group]], style)];
}

export interface SummaryNode {
  name: string;
  /** The STATUS column (`nodeLabel()` of the node's status). */
  label: NodeLabel;
  /** Absent when the node could not be planned (offline, unauthorized, error). */
  plan?: Plan;
}

/** `0 -> 2` when the number of running containers changes, else `running/total` (`2/2`). */
export function containersCell(plan: Pick<Plan, 'running' | 'total' | 'desired'>): string {
  return plan.running !== plan.desired
    ? `${plan.running} -> ${plan.desired}`
    : `${plan.running}/${plan.total}`;
}

/** `55dab35`, or `55dab35 -> 9470cdc` when the version changes. */
export function versionCell(from: string | null, to: string | null): string {
  if (from && to && from !== to) return `${from} -> ${to}`;
  return to ?? from ?? UNKNOWN;
}

export type SummaryOperation = 'run' | 'rollback' | 'stop';

/**
 * `Node statuses:` and its table. run: NAME STATUS CONTAINERS UPDATE VERSION (with `lab1*` for
 * a fresh deploy); rollback: … ROLLBACK VERSION; stop: NAME STATUS CONTAINERS PURGE.
 */
export function nodeStatusLines(
  kind: SummaryOperation,
  nodes: readonly SummaryNode[],
  options: { purge?: boolean; style?: (header: readonly string[]) => SummaryStyler | undefined } = {},
): string[] {
  let header: string[];
  let rows: string[][];
  if (kind === 'stop') {
    header = ['NAME', 'STATUS', 'CONTAINERS', 'PURGE'];
    rows = nodes.map(({ name, label, plan }) =>
      plan
        ? [name, label, containersCell(plan), String(options.purge ?? false)]
        : [name, label, UNKNOWN, UNKNOWN],
    );
  } else {
    header = ['NAME', 'STATUS', 'CONTAINERS', kind === 'run' ? 'UPDATE' : 'ROLLBACK', 'VERSION'];
    rows = nodes.map(({ name, label, plan }) => {
      if (!plan) return [name, label, UNKNOWN, UNKNOWN, UNKNOWN];
      const shownName = kind === 'run' && plan.fresh ? `${name}*` : name;
      return [
        shownName,
        label,
        containersCell(plan),
        String(plan.changes),
        versionCell(plan.versionFrom, plan.versionTo),
      ];
    });
  }
  return ['Node statuses:', '', ...summaryTable(header, rows, options.style?.(header))];
}
