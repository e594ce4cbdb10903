/**
 * The TUI's whole state as plain data. The reducer (`reducer.ts`) is the only thing that makes
 * a new one; the panels (`panels/`) and selectors (`select/`) derive what the views draw. Time only enters through
 * actions (`at`, `now`), so every transition is reproducible in a unit test.
 */
import type { FeedConnectionState } from '../../src/client/feeds/session.js';
import { type NodeStatus, OUTCOMES, type Outcome } from '../../src/core/outcome.js';
import type { ContainerStats } from '../../src/protocol/feeds.js';
import type { AgentInfo, ContainerInfo, JobStatus, Phase, Plan } from '../../src/protocol/index.js';

export type PanelId = 'nodes' | 'jobs' | 'containers';
export type FocusId = PanelId | 'detail';
export type DetailTab = 'logs' | 'stats' | 'events' | 'info';
export const PANELS: readonly PanelId[] = ['nodes', 'jobs', 'containers'];
export const DETAIL_TABS: readonly DetailTab[] = ['logs', 'stats', 'events', 'info'];

/**
 * A node's connection as the feeds and requests see it (`deriveConn` decides it): the kernel's
 * node statuses that a connection can be in, and the two passing states of a live feed.
 */
export type NodeConn =
  | Extract<NodeStatus, 'online' | 'offline' | 'unauthorized' | 'untrusted'>
  | 'connecting'
  | 'reconnecting';

export interface NodeEntry {
  name: string;
  /** As written in the inventory. */
  location: string;
  conn: NodeConn;
  /** The node's feed session as it last reported itself (a fact `conn` is derived from). */
  feed: FeedConnectionState;
  info: AgentInfo | null;
  /** Round-trip time of the last info request. */
  latencyMs: number | null;
  /** Why the node is offline / unauthorized / untrusted, or the last request's error. */
  error: string | null;
  /** Jobs as the node last listed them, by job name. */
  jobs: Record<string, JobStatus>;
  /** When `jobs` was last replaced (ms since epoch); null: never listed. */
  jobsAt: number | null;
  /** Containers on the node that dokkup does not manage (shown so a newcomer sees their own). */
  others: ContainerInfo[];
  /**
   * Why the last refresh of a reachable node failed (e.g. its Docker engine is down); cleared by
   * the next successful one. Shown as status ERROR, since the node answers but cannot work.
   */
  problem: string | null;
  /**
   * The node's usage as its feed's summary last said it (every dokkup container's CPU and memory
   * summed by the agent); null until one came, or from an agent without summaries.
   */
  usage: NodeUsage | null;
  /**
   * Whether the node's feed sends summaries (info, job list, usage at a low rate): `unknown` until
   * the agent answered the subscription, `live` once it did, `unsupported` when an older agent
   * refused the topic (its job list and usage then come over HTTP and the stats feed).
   */
  summary: 'unknown' | 'live' | 'unsupported';
}

/** A node's usage from its summary. */
export interface NodeUsage {
  cpuPercent: number;
  memoryUsage: number;
  /** When the summary arrived, by our clock. */
  at: number;
}

/** How the nodes table is ordered: inventory order, or by a column (`S`, `C`, `M`, `L`, `N`). */
export type NodeSort = 'inventory' | 'status' | 'cpu' | 'mem' | 'latency' | 'name';

export interface NodeView {
  sort: NodeSort;
  /** Reversed from the sort's natural direction (problems first, busiest first, slowest first, A–Z). */
  reversed: boolean;
  /** Only the nodes of this inventory group; null: every node. */
  group: string | null;
}

export interface StatPoint {
  at: number;
  cpu: number;
  mem: number;
}

/**
 * Samples of the last `SPARK_WINDOW_MS`, oldest first, at most `SPARK_MAX_POINTS`: the window
 * `points[start, end)`. Appending reuses the array when this version owns its tail (nothing was
 * appended after `end` by another version), so a stats batch does not copy every history; a
 * version that does not own the tail copies its window first. Read it with `historyPoints`.
 */
export interface StatHistory {
  readonly points: readonly StatPoint[];
  readonly start: number;
  readonly end: number;
}

/** One container's usage: the latest sample as the agent sent it, and the sparkline history. */
export interface ContainerUsageHistory {
  latest: ContainerStats;
  /** When the sample arrived, by our clock (staleness is judged against it). */
  at: number;
  history: StatHistory;
}

export const EMPTY_HISTORY: StatHistory = { points: [], start: 0, end: 0 };

export function historyPoints(history: StatHistory): StatPoint[] {
  return history.points.slice(history.start, history.end);
}

/** The history with `point` appended and points older than `since` (or over the bound) dropped. */
export function appendHistory(history: StatHistory, point: StatPoint, since: number): StatHistory {
  let points = history.points as StatPoint[];
  let { start, end } = history;
  if (points.length !== end) {
    // Another version appended after ours: work on a copy of our window.
    points = points.slice(start, end);
    end -= start;
    start = 0;
  }
  points.push(point);
  end++;
  while (start < end && (points[start]!.at <= since || end - start > SPARK_MAX_POINTS)) start++;
  if (start >= 2 * SPARK_MAX_POINTS) {
    // Let go of the dropped points now and then.
    points = points.slice(start, end);
    end -= start;
    start = 0;
  }
  return { points, start, end };
}

export type ContainerScope = { kind: 'all' } | { kind: 'node'; node: string } | { kind: 'job'; job: string };

export interface TableState {
  /** Key of the selected row (stable across re-sorting), null: the first row. */
  selected: string | null;
  /** Index of the first visible row. */
  top: number;
  /** Filter as typed (regex, `!` inverse); '' = none. */
  filter: string;
}

export interface NavFrame {
  focus: FocusId;
  scope: ContainerScope;
}

export type LogTarget =
  | { kind: 'container'; node: string; id: string; name: string; job: string }
  | { kind: 'job'; job: string };

export interface LogLine {
  /** Increases by one per line received for the current target. */
  seq: number;
  node: string;
  /** Short container name (for merged job logs). */
  container: string;
  stream: 'stdout' | 'stderr';
  /** Docker's RFC 3339 timestamp, when known. */
  ts: string | null;
  text: string;
}

export interface LogState {
  target: LogTarget | null;
  lines: LogLine[];
  nextSeq: number;
  /** Lines dropped by the agent (slow reader) or by our own bound. */
  dropped: number;
  /** Following the end; scrolling up pauses it. */
  follow: boolean;
  /** While paused: the seq of the first line on screen. */
  anchor: number | null;
  /** Active search ('' none): highlighted, `n`/`N` jump. */
  search: string;
  timestamps: boolean;
  wrap: boolean;
}

export type FleetEventKind = 'container' | 'operation' | 'connection' | 'audit';

export interface FleetEvent {
  seq: number;
  at: number;
  node: string;
  kind: FleetEventKind;
  job: string | null;
  text: string;
  level: 'info' | 'warn' | 'error';
}

export interface AuditState {
  /** When the audit logs were last asked for (0: ask at the next chance). */
  readAt: number;
  /** Per node, when the newest operation seen ended: the next read starts there. */
  since: Record<string, string>;
  /** Keys of the entries already in the Events list at those times (no entry twice). */
  seen: string[];
}

export type OperationKind = 'deploy' | 'scale' | 'promote' | 'rollback' | 'stop' | 'purge';

/**
 * A target node's answer to a plan request, as the rollout (`src/client/rollout.ts`) judged it:
 * carried out once confirmed when its plan changes something, else already settled.
 */
export interface NodePlan {
  node: string;
  /** How the plan request found the node (ONLINE, OFFLINE, UNAUTHORIZED, ERROR). */
  status: NodeStatus;
  plan: Plan | null;
  error: string | null;
  /** The rollout carries the operation out on this node once confirmed (in wave `wave`). */
  changes: boolean;
  /** The wave (1-based) it goes in; null when it is not carried out. */
  wave: number | null;
  /** One of the canaries this rollout puts out. */
  canary: boolean;
  /** Otherwise what it comes to, in the CLI's words (`Already up to date`, the error, …). */
  outcome: Outcome;
  message: string;
}

/** An operation asked for: what the panes show of it (the planned rollout itself stays with the actions controller). */
export interface OperationRequest {
  /** Distinguishes a request from a cancelled earlier one whose answers arrive late. */
  id: number;
  op: OperationKind;
  job: string;
  nodes: string[];
  /** The job file it came from, when known (for the CLI command). */
  file: string | null;
  /** scale: the new count. */
  count: number | null;
}

export type Modal =
  | { kind: 'help'; scroll: number }
  | {
      kind: 'prompt';
      purpose: 'filter' | 'command' | 'logSearch' | 'scale';
      input: string;
      /** filter: the table being filtered; its filter is restored on esc. */
      panel: PanelId | null;
      previousFilter: string;
      /** scale: the job. */
      job: string | null;
      error: string | null;
    }
  | { kind: 'chooseFile'; files: string[]; selected: number; error: string | null }
  | { kind: 'planning'; request: OperationRequest; title: string }
  | {
      kind: 'confirm';
      request: OperationRequest;
      title: string;
      /** The tables the CLI prints, line by line. */
      summary: string[];
      nodes: NodePlan[];
      /** The equivalent CLI command. */
      command: string;
      focus: 'cancel' | 'confirm';
      /** Purge: the job name must be typed. */
      typeToConfirm: string | null;
      typed: string;
      error: string | null;
      scroll: number;
    };

/** Waiting for its turn, running, or done with one of the kernel's outcomes. */
export type RolloutNodeStatus = 'waiting' | 'running' | Outcome;

/** Done, and nothing needs a look (it succeeded, or had nothing to change). */
export function rolloutNodeOk(status: RolloutNodeStatus): boolean {
  return status !== 'waiting' && status !== 'running' && OUTCOMES[status].severity === 'ok';
}

export interface RolloutNode {
  node: string;
  status: RolloutNodeStatus;
  /** The wave (1-based) it is carried out in; null when it is not. */
  wave: number | null;
  canary: boolean;
  /** Running its revert (auto_revert after a failure elsewhere). */
  reverting: boolean;
  /** The phase of its last progress line (pull, create, start, health, …), while it runs. */
  phase: Phase | null;
  /** Last progress lines, newest last (bounded). */
  lines: string[];
  current: number | null;
  total: number | null;
  /** Final message (`Update successful`, the error, …). */
  message: string | null;
}

/** The wave a rollout is in (0-based index), and whether it rolls out or reverts. */
export interface RolloutWave {
  index: number;
  count: number;
  phase: 'rollout' | 'revert';
}

export interface RolloutBoard {
  request: OperationRequest;
  title: string;
  startedAt: number;
  finishedAt: number | null;
  /** Per node, its progress and outcome (the wave it is in, whether it is a canary): the board's data. */
  nodes: RolloutNode[];
  /** How many waves the rollout has. */
  waves: number;
  /** The wave under way (null before the first and after the last). */
  wave: RolloutWave | null;
  /** What the rollout came to, after the outcomes: where the fleet stands, how to go on. */
  after: string[];
  scroll: number;
}

export interface Flash {
  text: string;
  level: 'info' | 'ok' | 'error';
  until: number;
}

export interface TuiOptions {
  /** Inventory file name for the header, or `embedded`. */
  inventoryName: string;
  /** Path given with -i, null in embedded mode (no CLI equivalent). */
  inventoryPath: string | null;
  color: boolean;
  /** Bound of the log buffer (lines). */
  logCap: number;
  /** Bound of the event list. */
  eventCap: number;
  /** How often nodes send their summary (usage shown older than three of these is stale). */
  summaryIntervalMs: number;
}

export interface TuiState {
  options: TuiOptions;
  now: number;
  screen: { width: number; height: number };
  /** Nodes in inventory order. */
  nodeOrder: string[];
  nodes: Record<string, NodeEntry>;
  /** The inventory's groups (name → its nodes), for the group filter. */
  groups: Readonly<Record<string, readonly string[]>>;
  /** Order and group of the nodes table. */
  nodeView: NodeView;
  /**
   * Per node, per container ID. Nested so that one node's stats batch copies only that
   * node's entries, and rows of the other nodes stay cached.
   */
  stats: Record<string, Record<string, ContainerUsageHistory>>;
  /** Start times seen on the event feed, per node, per container ID (ms). */
  startedAt: Record<string, Record<string, number>>;
  /** Which nodes changed lately (for selectors that update only those rows: see `FleetLog`). */
  fleetLog: FleetLog;
  focus: FocusId;
  /** Panel focused before the detail pane took focus (esc returns there). */
  lastPanel: PanelId;
  scope: ContainerScope;
  navStack: NavFrame[];
  tables: Record<PanelId, TableState>;
  detail: { tab: DetailTab; open: boolean; scroll: number };
  logs: LogState;
  events: FleetEvent[];
  nextEventSeq: number;
  /** The nodes' audit logs, as merged into the Events list (`reduce/audit.ts`). */
  audit: AuditState;
  modal: Modal | null;
  rollout: RolloutBoard | null;
  flash: Flash | null;
  quitting: boolean;
}

/**
 * The nodes whose entry, stats or start times changed lately: with ten thousand nodes, a selector
 * that remembers the change it built its rows at (`fleetMark`) rebuilds only the rows of the
 * nodes changed since (`changedSince`), instead of all of them.
 *
 * The changes are a chain, newest first, that each state shares with the states it came from, so
 * two states grown from one never mistake each other's changes. A chain is at most FLEET_LOG_MAX
 * long (a new one starts after that) and holds no records, so it keeps nothing old alive. The
 * records are the ones after the last change: a change made without logging it (there is none
 * today) shows as records that differ, and the selectors then build everything again.
 */
export interface FleetChange {
  readonly prev: FleetChange | null;
  /** The node the change was about ('' for the start of a chain). */
  readonly name: string;
  /** Changes in the chain up to this one. */
  readonly depth: number;
}

export interface FleetLog {
  last: FleetChange;
  nodes: TuiState['nodes'];
  stats: TuiState['stats'];
  startedAt: TuiState['startedAt'];
}

/**
 * The longest chain of changes; a selector that looked longer ago builds everything again, and so
 * does every selector when a chain starts again. Ten thousand idle nodes make about 300 changes a
 * second (events, summaries, round trips), so a short chain meant a full rebuild every few seconds;
 * a link is a few dozen bytes (about 3 MB at the most).
 */
export const FLEET_LOG_MAX = 65_536;

/** The change a selector builds on now, or null when the log does not describe the state's records. */
export function fleetMark(state: TuiState): FleetChange | null {
  const log = state.fleetLog;
  return log.nodes === state.nodes && log.stats === state.stats && log.startedAt === state.startedAt
    ? log.last
    : null;
}

/**
 * The nodes changed since `mark` (repeats possible), or null when the log cannot say (another
 * chain, too long ago, or the records changed without it): then everything is built again.
 */
export function changedSince(state: TuiState, mark: FleetChange | null): readonly string[] | null {
  const last = fleetMark(state);
  if (!last || !mark) return null;
  const names: string[] = [];
  for (let change: FleetChange | null = last; change; change = change.prev) {
    if (change === mark) return names;
    names.push(change.name);
  }
  return null;
}

/** How long a container's sparkline looks back. */
export const SPARK_WINDOW_MS = 60_000;
/** Upper bound of stored points per container, whatever the stats interval. */
export const SPARK_MAX_POINTS = 60;
/** Progress lines kept per node on the rollout board. */
export const ROLLOUT_LINES = 4;
export const FLASH_MS = 6_000;

export function containerKey(node: string, id: string): string {
  return `${node}/${id}`;
}

export function emptyLogs(timestamps = false, wrap = false): LogState {
  return {
    target: null,
    lines: [],
    nextSeq: 0,
    dropped: 0,
    follow: true,
    anchor: null,
    search: '',
    timestamps,
    wrap,
  };
}

export interface InitialNode {
  name: string;
  location: string;
}

export function initialState(
  nodes: readonly InitialNode[],
  options: Partial<TuiOptions> & { inventoryName: string },
  now: number,
  screen = { width: 160, height: 48 },
  groups: Readonly<Record<string, readonly string[]>> = {},
): TuiState {
  const entries: Record<string, NodeEntry> = {};
  for (const n of nodes) {
    entries[n.name] = {
      name: n.name,
      location: n.location,
      conn: 'connecting',
      feed: 'connecting',
      info: null,
      latencyMs: null,
      error: null,
      jobs: {},
      jobsAt: null,
      others: [],
      problem: null,
      usage: null,
      summary: 'unknown',
    };
  }
  const table = (): TableState => ({ selected: null, top: 0, filter: '' });
  const stats: TuiState['stats'] = {};
  const startedAt: TuiState['startedAt'] = {};
  return {
    options: {
      inventoryPath: null,
      color: true,
      logCap: 5_000,
      eventCap: 500,
      summaryIntervalMs: 10_000,
      ...options,
    },
    now,
    screen,
    nodeOrder: nodes.map((n) => n.name),
    nodes: entries,
    fleetLog: { last: { prev: null, name: '', depth: 0 }, nodes: entries, stats, startedAt },
    groups,
    nodeView: { sort: 'inventory', reversed: false, group: null },
    stats,
    startedAt,
    focus: 'nodes',
    lastPanel: 'nodes',
    scope: { kind: 'all' },
    navStack: [],
    tables: { nodes: table(), jobs: table(), containers: table() },
    detail: { tab: 'info', open: false, scroll: 0 },
    logs: emptyLogs(),
    events: [],
    nextEventSeq: 0,
    audit: { readAt: 0, since: {}, seen: [] },
    modal: null,
    rollout: null,
    flash: null,
    quitting: false,
  };
}
