/**
 * Every table the CLI prints, built from plain data so each can be tested as exact text.
 * Titles, headers and cell formats follow the original dokkup README.
 */

import { formatLatency } from '../../core/format.js';
import {
  type NodeLabel,
  type Outcome,
  outcomeLabel,
  outcomeTone,
  type Tone,
  toneOfLabel,
} from '../../core/outcome.js';
import {
  deploymentSummaryLines,
  type JobSummary,
  nodeStatusLines,
  type SummaryOperation,
  stopSummaryLines,
} from '../../core/summary.js';
import type {
  AgentInfo,
  ContainerInfo,
  JobHistory,
  JobStatus,
  Plan,
  PublishedPort,
  RouteStatus,
} from '../../protocol/api.js';
import { CliOutcomeSchema } from '../../protocol/cli-json.js';
import { plainStyle, type Style } from '../io.js';
import { type CellStyler, renderTable } from './table.js';

export type { NodeLabel, Outcome };

const UNKNOWN = '-';

/** A tone of the outcome kernel as a terminal colour. */
export function styleTone(tone: Tone, text: string, style: Style): string {
  switch (tone) {
    case 'good':
      return style.green(text);
    case 'warn':
      return style.yellow(text);
    case 'bad':
      return style.red(text);
    case 'muted':
      return style.dim(text);
  }
}

export function styleNodeLabel(label: string, style: Style): string {
  return styleTone(toneOfLabel(label), label, style);
}

/** Colours the STATUS column (wherever it is) and the header. */
function statusStyler(header: readonly string[], style: Style): CellStyler | undefined {
  if (!style.enabled) return undefined;
  const statusColumn = header.indexOf('STATUS');
  return (column, text, row) => {
    if (row === -1) return style.bold(text);
    return column === statusColumn ? styleNodeLabel(text, style) : text;
  };
}

// ---------------------------------------------------------------------------------------------
// Job summary and node statuses before an operation: shared with the TUI (src/core/summary.ts)

export { containersCell, type JobSummary, jobSummaryOf, versionCell } from '../../core/summary.js';

export type OperationKind = SummaryOperation;

export interface PlannedNode {
  name: string;
  label: NodeLabel;
  /** Absent when the node could not be planned (offline, unauthorized, error). */
  plan?: Plan;
}

/** `Deployment summary:` and its table (run, rollback, plan). */
export function renderDeploymentSummary(job: JobSummary, style: Style = plainStyle): string[] {
  return deploymentSummaryLines(job, statusStyler(['NAME'], style));
}

/** `Stop job summary:` and its table. */
export function renderStopSummary(job: JobSummary, style: Style = plainStyle): string[] {
  return stopSummaryLines(job, statusStyler(['NAME'], style));
}

/**
 * `Node statuses:` and its table. run: NAME STATUS CONTAINERS UPDATE VERSION (with `lab1*` for
 * a fresh deploy); rollback: … ROLLBACK VERSION; stop: NAME STATUS CONTAINERS PURGE.
 */
export function renderNodeStatuses(
  kind: OperationKind,
  nodes: readonly PlannedNode[],
  options: { purge?: boolean; style?: Style } = {},
): string[] {
  const style = options.style ?? plainStyle;
  return nodeStatusLines(kind, nodes, {
    purge: options.purge,
    style: (header) => statusStyler(header, style),
  });
}

// ---------------------------------------------------------------------------------------------
// show job

export interface ShownJobNode {
  name: string;
  location: string;
  label: NodeLabel;
  job: string;
  /** Absent when the node could not be asked. */
  status?: JobStatus;
}

/** `0.0.0.0:32773->8000/tcp`, `8000/tcp` when not published; IPv6 twins of IPv4 bindings dropped. */
export function portsCell(ports: readonly PublishedPort[]): string {
  const seen = new Set<string>();
  const cells: string[] = [];
  const ordered = [...ports].sort((a, b) => Number(isIpv6(a.ip)) - Number(isIpv6(b.ip)));
  for (const port of ordered) {
    const key = `${port.publicPort}:${port.privatePort}/${port.protocol}`;
    if (seen.has(key)) continue;
    seen.add(key);
    cells.push(
      port.publicPort === null
        ? `${port.privatePort}/${port.protocol}`
        : `${formatIp(port.ip)}:${port.publicPort}->${port.privatePort}/${port.protocol}`,
    );
  }
  return cells.join(', ');
}

function isIpv6(ip: string | null): boolean {
  return ip?.includes(':') ?? false;
}

function formatIp(ip: string | null): string {
  if (ip === null || ip === '') return '0.0.0.0';
  return isIpv6(ip) ? `[${ip}]` : ip;
}

export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** CONTAINER ID, NAME, STATUS, PORTS; an ENTRY column when some container runs a named entry. */
export function renderContainers(containers: readonly ContainerInfo[], style: Style = plainStyle): string[] {
  const entries = containers.some((c) => c.entry !== undefined);
  const header = ['CONTAINER ID', ...(entries ? ['ENTRY'] : []), 'NAME', 'STATUS', 'PORTS'];
  const rows = containers.map((c) => [
    shortId(c.id),
    ...(entries ? [c.entry ?? UNKNOWN] : []),
    c.name,
    c.status,
    portsCell(c.ports),
  ]);
  return renderTable(
    header,
    rows,
    style.enabled ? (_c, text, row) => (row === -1 ? style.bold(text) : text) : undefined,
  );
}

/**
 * Per node: the NODE table, then its containers; blocks separated by two blank lines. A job
 * with named entries gets an ENTRY column and one row per entry (its image and containers).
 */
export function renderShowJob(nodes: readonly ShownJobNode[], style: Style = plainStyle): string[] {
  const blocks = nodes.map((node) => {
    const status = node.status;
    const entries = status?.entries;
    const header = entries
      ? ['NODE', 'LOCATION', 'STATUS', 'JOB', 'ENTRY', 'IMAGE', 'CONTAINERS', 'VERSION']
      : ['NODE', 'LOCATION', 'STATUS', 'JOB', 'IMAGE', 'CONTAINERS', 'VERSION'];
    const head = [node.name, node.location, node.label, node.job];
    // A canary that was not promoted yet: another operator sees it here too.
    const version = status?.version
      ? `${status.version}${status.canary?.version === status.version ? ' (canary)' : ''}`
      : UNKNOWN;
    const rows = !status
      ? [[...head, UNKNOWN, UNKNOWN, UNKNOWN]]
      : entries
        ? entries.map((e) => [...head, e.name, e.image ?? UNKNOWN, `${e.running}/${e.total}`, version])
        : [
            [
              ...head,
              status.image ?? status.containers[0]?.image ?? UNKNOWN,
              `${status.running}/${status.total}`,
              version,
            ],
          ];
    const lines = renderTable(header, rows, statusStyler(header, style));
    if (status && status.containers.length > 0) lines.push('', ...renderContainers(status.containers, style));
    if (status?.route) lines.push('', ...renderRoute(status.route, style));
    return lines;
  });
  return blocks.flatMap((lines, index) => (index === 0 ? lines : ['', '', ...lines]));
}

/**
 * ROUTE, CONTAINER, ADDRESS, PROXY HEALTH: the job's route on the node's proxy, one row per
 * container it sends requests to, with the proxy's own view of it (`-`: the proxy did not say).
 */
export function renderRoute(route: RouteStatus, style: Style = plainStyle): string[] {
  const header = ['ROUTE', 'CONTAINER', 'ADDRESS', 'PROXY HEALTH'];
  const health = (h: boolean | null) => (h === null ? UNKNOWN : h ? 'healthy' : 'unhealthy');
  const rows =
    route.upstreams.length === 0
      ? [[route.route, UNKNOWN, UNKNOWN, UNKNOWN]]
      : route.upstreams.map((u, i) => [
          i === 0 ? route.route : '',
          u.container,
          u.address,
          health(u.healthy),
        ]);
  return renderTable(
    header,
    rows,
    style.enabled
      ? (column, text, row) =>
          row === -1
            ? style.bold(text)
            : column === 3 && text !== UNKNOWN
              ? styleTone(text === 'healthy' ? 'good' : 'bad', text, style)
              : text
      : undefined,
  );
}

// ---------------------------------------------------------------------------------------------
// show nodes

export interface ShownNode {
  name: string;
  location: string;
  label: NodeLabel;
  info?: AgentInfo;
  latencyMs?: number;
}

export function latencyCell(ms: number | undefined): string {
  if (ms === undefined) return UNKNOWN;
  return ms < 10 ? `${ms.toFixed(1)}ms` : `${Math.round(ms)}ms`;
}

/** `2 on :80,:8080`, `stopped` when the proxy container does not run, `-` without a proxy. */
export function proxyCell(proxy: AgentInfo['proxy']): string {
  if (!proxy) return UNKNOWN;
  if (proxy.state !== 'running') return `proxy ${proxy.state}`;
  return `${proxy.routes} on ${proxy.ports.map((p) => `:${p}`).join(',') || '-'}`;
}

export function renderShowNodes(nodes: readonly ShownNode[], style: Style = plainStyle): string[] {
  // ROUTES only when some node runs a proxy: other fleets keep the table they had.
  const proxied = nodes.some((n) => n.info?.proxy !== undefined);
  const header = [
    'NAME',
    'LOCATION',
    'STATUS',
    'AGENT',
    'DOCKER',
    'JOBS',
    'CONTAINERS',
    ...(proxied ? ['ROUTES'] : []),
    'LATENCY',
  ];
  const rows = nodes.map(({ name, location, label, info, latencyMs }) =>
    info
      ? [
          name,
          location,
          label,
          info.agentVersion,
          info.dockerVersion,
          String(info.jobs),
          `${info.containers.running}/${info.containers.total}`,
          ...(proxied ? [proxyCell(info.proxy)] : []),
          latencyCell(latencyMs),
        ]
      : [name, location, label, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, ...(proxied ? [UNKNOWN] : []), UNKNOWN],
  );
  return renderTable(header, rows, statusStyler(header, style));
}

// ---------------------------------------------------------------------------------------------
// history job

export interface NodeHistory {
  name: string;
  label: NodeLabel;
  history?: JobHistory;
}

/** `2025-03-01T10:31:42Z`: the agent's ISO time, to the second. */
export function timeCell(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * One row per node and version, newest first; CURRENT marks the version that is running, and
 * `true (canary)` a canary that was not promoted yet.
 */
export function renderHistory(nodes: readonly NodeHistory[], style: Style = plainStyle): string[] {
  const header = ['NODE', 'STATUS', 'VERSION', 'IMAGE', 'COUNT', 'DEPLOYED', 'CURRENT'];
  const rows: string[][] = [];
  for (const { name, label, history } of nodes) {
    if (!history || history.entries.length === 0) {
      rows.push([name, label, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN]);
      continue;
    }
    const newestFirst = [...history.entries].sort((a, b) => b.deployedAt.localeCompare(a.deployedAt));
    for (const entry of newestFirst) {
      rows.push([
        name,
        label,
        entry.version,
        entry.entries ? entry.entries.map((e) => `${e.name}=${e.image}`).join(', ') : entry.image,
        String(entry.count),
        timeCell(entry.deployedAt),
        entry.current && history.canary?.version === entry.version ? 'true (canary)' : String(entry.current),
      ]);
    }
  }
  return renderTable(header, rows, statusStyler(header, style));
}

// ---------------------------------------------------------------------------------------------
// Outcome summary (end of every command)

export interface NodeOutcome {
  name: string;
  outcome: Outcome;
  /** `Deployment successful`, `Already up to date`, the error, ... */
  message: string;
  /** From the node's operation result: time to the new version healthy, and the whole operation. */
  cutoverMs?: number;
  totalMs?: number;
}

/**
 * `Summary:`, one row per node, and the tally. When an operation ran on some node, its
 * CUTOVER (new version healthy and committed: what serves from then on) and TOTAL (stop phases
 * included) times are shown, `-` where there is none.
 */
export function renderOutcomes(outcomes: readonly NodeOutcome[], style: Style = plainStyle): string[] {
  const timed = outcomes.some((o) => o.totalMs !== undefined);
  const header = timed ? ['NAME', 'RESULT', 'CUTOVER', 'TOTAL', 'MESSAGE'] : ['NAME', 'RESULT', 'MESSAGE'];
  const rows = outcomes.map((o) =>
    timed
      ? [o.name, outcomeLabel(o.outcome), formatLatency(o.cutoverMs), formatLatency(o.totalMs), o.message]
      : [o.name, outcomeLabel(o.outcome), o.message],
  );
  const styler: CellStyler | undefined = style.enabled
    ? (column, text, row) => {
        if (row === -1) return style.bold(text);
        if (column !== 1) return text;
        return styleTone(outcomeTone(outcomes[row]!.outcome), text, style);
      }
    : undefined;
  return ['Summary:', '', ...renderTable(header, rows, styler), '', tally(outcomes)];
}

/** `3 nodes: 1 succeeded, 1 unchanged, 1 offline` (zero counts left out; in the schema's order). */
export function tally(outcomes: readonly NodeOutcome[]): string {
  const counts = new Map<Outcome, number>();
  for (const { outcome } of outcomes) counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  const parts = CliOutcomeSchema.options.filter((o) => counts.has(o)).map((o) => `${counts.get(o)} ${o}`);
  const total = `${outcomes.length} node${outcomes.length === 1 ? '' : 's'}`;
  return parts.length ? `${total}: ${parts.join(', ')}` : total;
}
