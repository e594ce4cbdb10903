/**
 * Plain-text renderings of feed data shared by the CLI and the TUI: event descriptions, byte
 * sizes and percentages the way `docker stats` prints them, short container IDs.
 */
import type { ContainerStats, FeedEvent } from '../../protocol/feeds.js';

/** The 12-character ID `docker ps` shows. */
export function shortId(id: string): string {
  return id.slice(0, 12);
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
  // Three significant digits, as Docker's go-units does (`1.23MB`, `12.3MB`, `123MB`).
  const text = value >= 100 || unit === 0 ? String(Math.round(value)) : value.toPrecision(3);
  return `${Number(text)}${units[unit]}`;
}

/** `12.3MB` (powers of 1000): network and block I/O, as `docker stats` shows them. */
export function formatDecimalBytes(bytes: number): string {
  return humanSize(bytes, 1000, DECIMAL_UNITS);
}

/** `1.5MiB` (powers of 1024): memory, as `docker stats` shows it. */
export function formatBinaryBytes(bytes: number): string {
  return humanSize(bytes, 1024, BINARY_UNITS);
}

export function formatPercent(value: number): string {
  return `${value.toFixed(2)}%`;
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

/** One line saying what happened, without time or node: `start web-1f0c… (3f2a9c1e4b5d)`. */
export function describeFeedEvent(event: FeedEvent): string {
  switch (event.type) {
    case 'container': {
      const details: string[] = [];
      if (event.exitCode !== undefined) details.push(`exit code ${event.exitCode}`);
      if (event.signal !== undefined) details.push(`signal ${event.signal}`);
      if (event.health !== undefined) details.push(event.health);
      if (event.version !== null) details.push(`version ${event.version}`);
      const action = event.action === 'health_status' ? 'health' : event.action;
      const what = `${action} ${event.containerName} (${shortId(event.containerId)})`;
      return details.length ? `${what}: ${details.join(', ')}` : what;
    }
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

/** `container` or `deploy` / `rollback` / `stop` (what kind of event it is, for a column). */
export function feedEventKind(event: FeedEvent): string {
  return event.type === 'container' ? 'container' : 'operation';
}

/** ISO-8601 UTC with milliseconds. */
export function formatEventTime(atMs: number): string {
  return new Date(Math.floor(atMs)).toISOString();
}
