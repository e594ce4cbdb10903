/**
 * How figures and events read, the same in `dokkup top` / `dokkup events` and in the TUI: byte
 * sizes, percentages, elapsed times and latencies, short container IDs, the `docker stats`
 * columns of one container, and one line describing a feed event. Pure: times are passed in.
 *
 * Precision: sizes have three significant digits, like Docker's go-units (`1.23MiB`, `12.3MB`,
 * `123MiB`); percentages one decimal below 100 and whole numbers from 100 (`0.3%`, `42.5%`,
 * `250%`), which stays readable and fits a narrow TUI column.
 */
import type { ContainerDiff, Plan, SpecDiff } from '../protocol/api.js';
import type { AuditEntry } from '../protocol/audit.js';
import type { ContainerStats, FeedEvent } from '../protocol/feeds.js';
import { terminalText } from './terminal-text.js';

/** The 12-character ID `docker ps` shows (an image's `sha256:` prefix dropped). */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

function humanSize(bytes: number, base: number, units: string[]): string {
  let value = Math.max(bytes, 0);
  let unit = 0;
  while (value >= base && unit < units.length - 1) {
    value /= base;
    unit++;
  }
  const text = value >= 100 || unit === 0 ? String(Math.round(value)) : value.toPrecision(3);
  return `${Number(text)}${units[unit]}`;
}

function known(value: number | null | undefined): value is number {
  return value !== null && value !== undefined && Number.isFinite(value);
}

/** `12.3MB` (powers of 1000): network and block I/O, as `docker stats` shows them. `-` when unknown. */
export function formatDecimalBytes(bytes: number | null | undefined): string {
  return known(bytes) && bytes >= 0 ? humanSize(bytes, 1000, DECIMAL_UNITS) : '-';
}

/** `1.5MiB` (powers of 1024): memory, as `docker stats` shows it. `-` when unknown. */
export function formatBinaryBytes(bytes: number | null | undefined): string {
  return known(bytes) && bytes >= 0 ? humanSize(bytes, 1024, BINARY_UNITS) : '-';
}

/** `0.3%`, `42.5%`, `250%` (CPU over several cores). `-` when unknown. */
export function formatPercent(percent: number | null | undefined): string {
  if (!known(percent)) return '-';
  return Math.abs(percent) >= 100 ? `${Math.round(percent)}%` : `${percent.toFixed(1)}%`;
}

/** Compact age, uptime or time taken: `42s`, `5m`, `3h12m`, `4d2h`. `-` when unknown. */
export function formatElapsed(ms: number | null | undefined): string {
  if (!known(ms) || ms < 0) return '-';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${m % 60 ? `${m % 60}m` : ''}`;
  const d = Math.floor(h / 24);
  return `${d}d${h % 24 ? `${h % 24}h` : ''}`;
}

/** A round trip: `3.2ms` (one decimal below 10 ms), `42ms`, `1.2s`. `-` when unknown. */
export function formatLatency(ms: number | null | undefined): string {
  if (!known(ms) || ms < 0) return '-';
  if (ms < 10) return `${ms.toFixed(1)}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  return `${(ms / 1000).toFixed(1)}s`;
}

/** The columns of `docker stats`, for one container. */
export function statsColumns(stats: ContainerStats): {
  cpu: string;
  memory: string;
  memoryPercent: string;
  network: string;
  block: string;
  pids: string;
} {
  return {
    cpu: formatPercent(stats.cpuPercent),
    memory: `${formatBinaryBytes(stats.memoryUsage)} / ${formatBinaryBytes(stats.memoryLimit)}`,
    memoryPercent: formatPercent(stats.memoryPercent),
    network: `${formatDecimalBytes(stats.networkRx)} / ${formatDecimalBytes(stats.networkTx)}`,
    block: `${formatDecimalBytes(stats.blockRead)} / ${formatDecimalBytes(stats.blockWrite)}`,
    pids: stats.pids === null ? '-' : String(stats.pids),
  };
}

type ContainerFeedEvent = Extract<FeedEvent, { type: 'container' }>;

/** What a container event says, for faces that hold its fields rather than the event. */
export type ContainerEventFacts = Pick<ContainerFeedEvent, 'action' | 'containerName' | 'containerId'> &
  Partial<Pick<ContainerFeedEvent, 'exitCode' | 'signal' | 'health' | 'version'>>;

/** `die web-1 (3f2a9c1e4b5d): exit code 137, version abc1234` */
export function describeContainerEvent(event: ContainerEventFacts): string {
  const details: string[] = [];
  if (event.exitCode !== undefined && event.exitCode !== null) details.push(`exit code ${event.exitCode}`);
  if (event.signal !== undefined) details.push(`signal ${event.signal}`);
  if (event.health !== undefined && event.health !== null) details.push(event.health);
  if (event.version !== undefined && event.version !== null) details.push(`version ${event.version}`);
  const action = event.action === 'health_status' ? 'health' : event.action;
  const what = `${action} ${event.containerName} (${shortId(event.containerId)})`;
  return details.length ? `${what}: ${details.join(', ')}` : what;
}

/**
 * One line saying what happened, without time or node: `start web-1 (3f2a9c1e4b5d)`,
 * `deploy started`, `done: Update successful (a -> b, 2/2 running)`. With `job`, prefixed with
 * the job's name for lists that have no job column (`web: deploy started`).
 */
/** One line for the event; what came from the agent (names, messages) is made terminal-safe. */
export function describeFeedEvent(event: FeedEvent, options: { job?: boolean } = {}): string {
  const text = describeEvent(event);
  return terminalText(options.job && event.job ? `${event.job}: ${text}` : text);
}

function describeEvent(event: FeedEvent): string {
  switch (event.type) {
    case 'container':
      return describeContainerEvent(event);
    case 'operation-start':
      return `${event.operation} started`;
    case 'operation-progress':
      return event.line.message;
    case 'operation-done': {
      const r = event.result;
      const versions =
        r.versionFrom && r.versionTo && r.versionFrom !== r.versionTo
          ? `${r.versionFrom} -> ${r.versionTo}`
          : (r.versionTo ?? r.versionFrom ?? '');
      const tail = [versions, `${r.running}/${r.total} running`].filter(Boolean).join(', ');
      const error = r.ok || !r.error ? '' : `: ${r.error.message}`;
      return `${r.ok ? 'done' : 'failed'}: ${r.message}${error} (${tail})`;
    }
  }
}

/** How an event should stand out: a crash or failure is bad news, a finished operation good. */
export type EventLevel = 'info' | 'ok' | 'warn' | 'error';

/** The level of a container event from its facts (see `feedEventLevel`). */
export function containerEventLevel(
  event: Pick<ContainerEventFacts, 'action' | 'exitCode' | 'health'>,
): EventLevel {
  if (event.action === 'oom') return 'error';
  if (
    event.action === 'die' &&
    event.exitCode !== undefined &&
    event.exitCode !== null &&
    event.exitCode !== 0
  )
    return 'warn';
  if (event.health === 'unhealthy') return 'warn';
  return 'info';
}

export function feedEventLevel(event: FeedEvent): EventLevel {
  switch (event.type) {
    case 'container':
      return containerEventLevel(event);
    case 'operation-done':
      return event.result.ok ? 'ok' : 'error';
    default:
      return 'info';
  }
}

/** `container` or `operation` (what kind of event it is, for a column). */
export function feedEventKind(event: FeedEvent): string {
  return event.type === 'container' ? 'container' : 'operation';
}

/** ISO-8601 UTC with milliseconds. */
export function formatEventTime(atMs: number): string {
  return new Date(Math.floor(atMs)).toISOString();
}

// ---------------------------------------------------------------------------------------------
// Plans: what a node would do and change, as text lines (the CLI colours them, the TUI shows
// them in its confirmation pane). Environment and label values are never shown (the agent sends
// keys only: they may be secrets), nor fields built from `${VAR}`s (`maskedFields`).

/** The first line: what the node would do. */
export function describeAction(plan: Plan): string {
  const versions = plan.versionFrom && plan.versionTo && plan.versionFrom !== plan.versionTo;
  const move = versions
    ? `${plan.versionFrom} -> ${plan.versionTo}`
    : (plan.versionTo ?? plan.versionFrom ?? '');
  const count = plan.running !== plan.desired ? `, containers ${plan.running} -> ${plan.desired}` : '';
  const strategy = plan.strategy ? `, ${plan.strategy}` : '';
  switch (plan.action) {
    case 'fresh':
      return `fresh deploy of ${plan.versionTo ?? '?'}: create ${plan.desired} container${plural(plan.desired)}`;
    case 'update':
      return `update ${move}${count}${strategy}`;
    case 'scale':
      return `scale ${move}: containers ${plan.running} -> ${plan.desired}`;
    case 'start':
      return `start ${plan.desired - plan.running} stopped container${plural(plan.desired - plan.running)} of ${move}`;
    case 'rollback':
      return plan.changes ? `rollback ${move}${count}${strategy}` : 'nothing to roll back';
    case 'stop':
      return plan.changes ? `stop ${plan.running} container${plural(plan.running)}` : 'nothing to stop';
    case 'purge':
      return plan.changes
        ? `stop and remove ${plan.total} container${plural(plan.total)} and the job's history`
        : 'nothing to purge';
    default:
      return 'no changes';
  }
}

function plural(n: number): string {
  return n === 1 ? '' : 's';
}

function keys(marker: string, what: string, list: readonly string[]): string[] {
  return list.length ? [`${marker} ${what}: ${[...list].sort().join(', ')}`] : [];
}

function change(what: string, from: string | null, to: string | null, none: string): string {
  return `~ ${what}: ${from ?? none} -> ${to ?? none}`;
}

/**
 * The field lines of a diff (without the action line). A job with named entries: the count, then
 * one line per added or removed entry and the field lines of each changed one, named after it
 * (`~ web: image: a -> b`, `~ web: environment: DB_PASSWORD`, `~ web: command`: keys and masked
 * field names, never their values).
 */
export function describeDiff(diff: SpecDiff): string[] {
  const lines: string[] = [];
  if (diff.image) lines.push(change('image', diff.image.from, diff.image.to, '(none)'));
  if (diff.imageIdChanged) lines.push('~ image: the tag now points at a different image (re-pulled)');
  if (diff.count) lines.push(`~ count: ${diff.count.from ?? 0} -> ${diff.count.to}`);
  if (diff.route) lines.push(change('route', diff.route.from, diff.route.to, '(none)'));
  lines.push(...describeContainerDiff(diff));
  for (const entry of diff.entries ?? []) {
    if (entry.change === 'added') lines.push(`+ ${entry.name}: new container (${entry.image})`);
    else if (entry.change === 'removed') lines.push(`- ${entry.name}: removed (${entry.image})`);
    else if (entry.diff) {
      for (const line of describeContainerDiff(entry.diff, true)) {
        // `~ image: a -> b` → `~ web: image: a -> b`
        lines.push(`${line.slice(0, 2)}${entry.name}: ${line.slice(2)}`);
      }
    }
  }
  return lines;
}

/** The lines of one container's changes (`withImage`: its image change too). */
function describeContainerDiff(diff: ContainerDiff, withImage = false): string[] {
  const lines: string[] = [];
  if (withImage && diff.image) lines.push(change('image', diff.image.from, diff.image.to, '(none)'));
  if (diff.name) lines.push(change('name', diff.name.from, diff.name.to, '(none)'));
  lines.push(...keys('+', 'environment', diff.environment.added));
  lines.push(...keys('-', 'environment', diff.environment.removed));
  lines.push(...keys('~', 'environment', diff.environment.changed));
  lines.push(...keys('+', 'labels', diff.labels.added));
  lines.push(...keys('-', 'labels', diff.labels.removed));
  lines.push(...keys('~', 'labels', diff.labels.changed));
  if (diff.ports) lines.push(change('ports', diff.ports.from, diff.ports.to, '(none)'));
  if (diff.command) lines.push(change('command', diff.command.from, diff.command.to, '(image default)'));
  if (diff.entrypoint)
    lines.push(change('entrypoint', diff.entrypoint.from, diff.entrypoint.to, '(image default)'));
  if (diff.stop_grace_period)
    lines.push(
      change('stop_grace_period', diff.stop_grace_period.from, diff.stop_grace_period.to, '(default 10s)'),
    );
  if (diff.stop_signal)
    lines.push(change('stop_signal', diff.stop_signal.from, diff.stop_signal.to, '(image default)'));
  if (diff.init) lines.push(change('init', diff.init.from, diff.init.to, '(engine default)'));
  if (diff.other.length) lines.push(`~ ${[...diff.other].sort().join(', ')}`);
  return lines;
}

/** Action line, field lines and warnings of one node's plan. */
export function describePlan(plan: Plan): string[] {
  return [
    describeAction(plan),
    ...(plan.diff ? describeDiff(plan.diff) : []).map((line) => `  ${line}`),
    ...plan.warnings.map((warning) => `  ! ${warning}`),
  ].map((line) => terminalText(line));
}

/** `lab1, lab2, lab3` or, for long lists, `lab1, lab2, … and 998 more`. */
export function nodeList(names: readonly string[], max = 8): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

export interface NodePlan {
  name: string;
  plan: Plan;
}

/** Nodes with the same plan, once: their names (`lab1, lab2 and 3 more`) and the plan's lines. */
export function changeGroups(nodes: readonly NodePlan[]): { names: string; lines: string[] }[] {
  const groups = new Map<string, { names: string[]; lines: string[] }>();
  for (const { name, plan } of nodes) {
    const lines = describePlan(plan);
    const key = lines.join('\n');
    const group = groups.get(key);
    if (group) group.names.push(name);
    else groups.set(key, { names: [name], lines });
  }
  return [...groups.values()].map(({ names, lines }) => ({ names: nodeList(names), lines }));
}

/** `Changes:` and the plans' lines, uncoloured (the TUI's confirmation pane). */
export function changeLines(nodes: readonly NodePlan[]): string[] {
  const groups = changeGroups(nodes);
  const out = ['Changes:', ''];
  for (const { names, lines } of groups) {
    const [action, ...details] = lines;
    out.push(`${names}: ${action}`, ...details);
  }
  if (groups.length === 0) out.push('(no node could be planned)');
  return out;
}

/**
 * One line for an audit entry (the TUI's Events tab): `audit: deploy web (update a -> b, 2 -> 3)
 * failed: create_failed: … — key a1b2c3d4e5f6 from 10.0.0.5, 1.2s`. Terminal-safe.
 */
export function describeAuditEntry(entry: AuditEntry): string {
  const change = (from: string | number | null, to: string | number | null) =>
    from === null && to === null ? null : from === to ? String(to) : `${from ?? '-'} -> ${to ?? '-'}`;
  const details = [
    entry.action && entry.action !== entry.operation ? entry.action : null,
    change(entry.versionFrom, entry.versionTo),
    change(entry.countFrom, entry.countTo),
  ].filter((d): d is string => d !== null);
  const what = [entry.operation, entry.job].filter(Boolean).join(' ');
  const outcome = entry.error ? `${entry.result}: ${entry.error.code}: ${entry.error.message}` : entry.result;
  const took =
    entry.durationMs < 1000
      ? `${Math.round(entry.durationMs)}ms`
      : `${(entry.durationMs / 1000).toFixed(1)}s`;
  const who = [entry.keyId ? `key ${entry.keyId}` : null, entry.remote ? `from ${entry.remote}` : null, took]
    .filter(Boolean)
    .join(' ');
  const note = entry.message ? ` (${entry.message})` : '';
  return terminalText(
    `audit: ${what}${details.length ? ` (${details.join(', ')})` : ''} ${outcome}${note} — ${who}`,
  );
}
