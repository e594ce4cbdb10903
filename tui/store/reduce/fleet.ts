import {
  containerEventLevel,
  describeContainerEvent,
  describeFeedEvent,
  type EventLevel,
  feedEventLevel,
} from '../../../src/core/format.js';
import { terminalLogLine, terminalText } from '../../../src/core/terminal-text.js';
import type { ContainerEvent } from '../../../src/protocol/feeds.js';
import type { ContainerInfo, JobStatus } from '../../../src/protocol/index.js';
import type { Action, FeedFact } from '../actions.js';
import { type Effect, type Step, step, toStep } from '../effects.js';
import { logTargetKey } from '../select/logs.js';
import {
  appendHistory,
  type ContainerUsageHistory,
  EMPTY_HISTORY,
  FLEET_LOG_MAX,
  type FleetChange,
  type FleetEvent,
  type LogLine,
  SPARK_WINDOW_MS,
  type TuiState,
} from '../state.js';
import { type ConnFact, deriveConn } from './conn.js';
import { inDraft, own, setIn, updateNode, withPart } from './draft.js';
import { type CommandTable, flash } from './room.js';

export { type ConnFact, deriveConn } from './conn.js';

/** Applies a fact to a node's connection, recording a change in the Events list. */
function applyConn(state: TuiState, name: string, fact: ConnFact, at: number): TuiState {
  const node = state.nodes[name];
  if (!node) return state;
  const derived = deriveConn(node, fact);
  if (!derived) return state;
  const { conn, error } = derived;
  if (node.conn === conn && node.error === error) return state;
  let next = updateNode(state, name, (n) => ({ ...n, conn, error }));
  if (node.conn !== conn && !(node.conn === 'connecting' && conn === 'online')) {
    const level =
      conn === 'online' ? 'info' : conn === 'reconnecting' || conn === 'connecting' ? 'warn' : 'error';
    next = appendEvent(next, {
      at,
      node: name,
      kind: 'connection',
      job: null,
      text: `node ${conn}${error && conn !== 'online' ? `: ${error}` : ''}`,
      level,
    });
  }
  return next;
}

function feedState(state: TuiState, action: Extract<Action, { type: 'feedState' }>): Step {
  const node = state.nodes[action.node];
  if (!node) return step(state);
  const withFeed =
    node.feed === action.state
      ? state
      : updateNode(state, action.node, (n) => ({ ...n, feed: action.state }));
  const next = applyConn(
    withFeed,
    action.node,
    { source: 'feed', state: action.state, error: action.error },
    action.at,
  );
  // Opened: an agent without summaries is asked over HTTP for what its feed does not carry (one
  // with summaries sends it on the feed). Gave up: ask HTTP whether the node is down.
  const ask = (action.state === 'open' && node.summary === 'unsupported') || action.state === 'offline';
  return ask ? step(next, { kind: 'refresh', node: action.node }) : step(next);
}

/** Whether the node's feed keeps its job list current (else HTTP has to be asked after a change). */
function summaryLive(state: TuiState, name: string): boolean {
  return state.nodes[name]?.summary === 'live';
}

function nodeSummary(state: TuiState, action: Extract<Action, { type: 'nodeSummary' }>): TuiState {
  const node = state.nodes[action.node];
  if (!node) return state;
  const { summary } = action;
  let next = updateNode(state, action.node, (n) => ({
    ...n,
    summary: 'live',
    ...(summary.info ? { info: summary.info, problem: null } : {}),
    usage: summary.usage
      ? { cpuPercent: summary.usage.cpuPercent, memoryUsage: summary.usage.memoryUsage, at: action.at }
      : n.usage,
  }));
  if (summary.jobs || summary.others) {
    const current = next.nodes[action.node]!;
    next = nodeJobs(
      next,
      action.node,
      summary.jobs ?? Object.values(current.jobs),
      action.at,
      summary.others ?? current.others,
    );
  }
  // A summary comes over an open feed: the node is up.
  return applyConn(next, action.node, { source: 'feed', state: 'open', error: null }, action.at);
}

function summaryUnsupported(state: TuiState, action: Extract<Action, { type: 'summaryUnsupported' }>): Step {
  const node = state.nodes[action.node];
  if (!node || node.summary === 'unsupported') return step(state);
  const next = updateNode(state, action.node, (n) => ({ ...n, summary: 'unsupported' }));
  return step(next, { kind: 'refresh', node: action.node });
}

function feedRtt(state: TuiState, action: Extract<Action, { type: 'feedRtt' }>): TuiState {
  return updateNode(state, action.node, (n) =>
    n.latencyMs === action.rttMs ? n : { ...n, latencyMs: action.rttMs },
  );
}

function nodeProbed(state: TuiState, action: Extract<Action, { type: 'nodeProbed' }>): TuiState {
  const node = state.nodes[action.node];
  if (!node) return state;
  const next = nodeJobs(
    updateNode(state, action.node, (n) => ({
      ...n,
      info: action.info,
      latencyMs: action.latencyMs,
      problem: null,
    })),
    action.node,
    action.jobs,
    action.at,
    action.others,
  );
  return applyConn(next, action.node, { source: 'http', status: 'online', error: null }, action.at);
}

function nodeProbeFailed(state: TuiState, action: Extract<Action, { type: 'nodeProbeFailed' }>): TuiState {
  if (!state.nodes[action.node]) return state;
  if (action.failure === 'error') {
    const next = updateNode(state, action.node, (n) =>
      n.problem === action.error ? n : { ...n, problem: action.error },
    );
    return flash(next, `${action.node}: ${action.error}`, 'error');
  }
  return applyConn(
    state,
    action.node,
    { source: 'http', status: action.failure, error: action.error },
    action.at,
  );
}

function nodeJobs(
  state: TuiState,
  name: string,
  list: JobStatus[],
  at: number,
  othersListed?: ContainerInfo[],
): TuiState {
  const node = state.nodes[name];
  if (!node) return state;
  const jobs: Record<string, JobStatus> = {};
  const alive = new Set<string>();
  for (const j of list) {
    jobs[j.name] = j;
    for (const c of j.containers) alive.add(c.id);
  }
  const others = othersListed ? othersListed.filter((c) => c.job === '') : node.others;
  for (const c of others) alive.add(c.id);
  // Forget what belonged to containers that are gone.
  const prune = <T>(record: Record<string, Record<string, T>>): Record<string, Record<string, T>> => {
    const mine = record[name];
    if (!mine) return record;
    const kept = Object.entries(mine).filter(([id]) => alive.has(id));
    return kept.length === Object.keys(mine).length ? record : setIn(record, name, Object.fromEntries(kept));
  };
  let next = updateNode(state, name, (n) => ({ ...n, jobs, jobsAt: at, others }));
  next = withPart(next, 'stats', prune(next.stats));
  return withPart(next, 'startedAt', prune(next.startedAt));
}

// ---------------------------------------------------------------------------------------------
// Events

/** Appends to the Events list (bounded); a scrolled-back view keeps looking at the same events. */
export function appendEvent(state: TuiState, event: Omit<FleetEvent, 'seq'>): TuiState {
  const events = own(state.events, (e) => [...e]);
  events.push({ ...event, seq: state.nextEventSeq });
  const cap = state.options.eventCap;
  if (events.length > cap) events.splice(0, events.length - cap);
  const scroll = state.focus === 'detail' && state.detail.tab === 'events' && state.detail.scroll > 0;
  let next = withPart(state, 'events', events);
  next = withPart(next, 'nextEventSeq', state.nextEventSeq + 1);
  return scroll
    ? withPart(next, 'detail', { ...state.detail, scroll: Math.min(cap - 1, state.detail.scroll + 1) })
    : next;
}

function mapContainers(
  state: TuiState,
  nodeName: string,
  id: string,
  fn: (c: ContainerInfo) => ContainerInfo | null,
): TuiState {
  const node = state.nodes[nodeName];
  if (!node) return state;
  for (const [jobName, job] of Object.entries(node.jobs)) {
    const index = job.containers.findIndex((c) => c.id === id || c.id.startsWith(id) || id.startsWith(c.id));
    if (index < 0) continue;
    const updated = fn(job.containers[index]!);
    const containers = [...job.containers];
    if (updated) containers[index] = updated;
    else containers.splice(index, 1);
    const nextJob: JobStatus = {
      ...job,
      containers,
      running: containers.filter((c) => c.state === 'running').length,
      total: containers.length,
    };
    return updateNode(state, nodeName, (n) => ({ ...n, jobs: { ...n.jobs, [jobName]: nextJob } }));
  }
  return state;
}

/** A container's state, health and start time follow its events until the next job list. */
function containerEvent(state: TuiState, node: string, at: number, e: ContainerEvent): TuiState {
  const id = e.containerId;
  let next = state;
  switch (e.action) {
    case 'start':
    case 'restart':
    case 'unpause':
      next = mapContainers(state, node, id, (c) => ({ ...c, state: 'running' }));
      if (e.action !== 'unpause') {
        next = withPart(
          next,
          'startedAt',
          setIn(next.startedAt, node, { ...next.startedAt[node], [id]: at }),
        );
      }
      break;
    case 'die':
    case 'stop':
      next = mapContainers(state, node, id, (c) => ({ ...c, state: 'exited' }));
      break;
    case 'pause':
      next = mapContainers(state, node, id, (c) => ({ ...c, state: 'paused' }));
      break;
    case 'health_status':
      if (e.health && e.health !== 'none') {
        const health = e.health;
        next = mapContainers(state, node, id, (c) => ({ ...c, health }));
      }
      break;
    case 'destroy': {
      next = mapContainers(state, node, id, () => null);
      const { [id]: _s, ...stats } = next.stats[node] ?? {};
      const { [id]: _t, ...startedAt } = next.startedAt[node] ?? {};
      next = withPart(next, 'stats', setIn(next.stats, node, stats));
      next = withPart(next, 'startedAt', setIn(next.startedAt, node, startedAt));
      break;
    }
  }
  return appendEvent(next, {
    at,
    node,
    kind: 'container',
    job: e.job,
    text: describeContainerEvent(e),
    level: levelOf(containerEventLevel(e)),
  });
}

function feedEvent(state: TuiState, action: Extract<Action, { type: 'feedEvent' }>): Step {
  const { node, at, event } = action;
  if (!state.nodes[node]) return step(state);
  const refresh: Effect = { kind: 'refresh', node };
  if (event.type === 'container') {
    const next = containerEvent(state, node, at, event);
    // What a container event cannot tell (the job list, the desired count) is asked for again.
    // (A node with summaries sends its new job list itself.)
    const listChanged = event.action === 'create' || event.action === 'destroy' || event.action === 'rename';
    return listChanged && !summaryLive(state, node) ? step(next, refresh) : step(next);
  }
  // Byte-level pull progress would flood the list; phases and counts are what matter.
  if (event.type === 'operation-progress') {
    const line = event.line;
    if (line.phase === 'pull' && line.current !== undefined && line.current !== line.total)
      return step(state);
  }
  const next = appendEvent(state, {
    at,
    node,
    kind: 'operation',
    job: event.job,
    text: describeFeedEvent(event, { job: true }),
    level: levelOf(feedEventLevel(event)),
  });
  // An operation ended: the node's jobs changed.
  return event.type === 'operation-done' && !summaryLive(state, node) ? step(next, refresh) : step(next);
}

/** The Events list marks problems only: a finished operation is information like any other. */
function levelOf(level: EventLevel): FleetEvent['level'] {
  return level === 'ok' ? 'info' : level;
}

// ---------------------------------------------------------------------------------------------
// Stats and logs

function statsBatch(state: TuiState, action: Extract<Action, { type: 'statsBatch' }>): TuiState {
  if (action.containers.length === 0 || !state.nodes[action.node]) return state;
  const previous = state.stats[action.node] ?? {};
  const mine: Record<string, ContainerUsageHistory> = {};
  const since = action.at - SPARK_WINDOW_MS;
  for (const sample of action.containers) {
    const id = sample.containerId;
    mine[id] = {
      latest: sample,
      at: action.at,
      history: appendHistory(
        previous[id]?.history ?? EMPTY_HISTORY,
        { at: action.at, cpu: sample.cpuPercent, mem: sample.memoryUsage },
        since,
      ),
    };
  }
  // A batch lists every running container of the node: the others keep their last sample
  // (they show as stale, then `-`), until the job list says they are gone.
  for (const [id, prev] of Object.entries(previous)) if (!(id in mine)) mine[id] = prev;
  return withPart(state, 'stats', setIn(state.stats, action.node, mine));
}

/** `web-1b2c3d4e-…` → `web-1b2c3d4e`: enough to tell replicas apart in merged logs. */
export function shortContainerName(name: string): string {
  const m = /^(.*?-[0-9a-f]{8})-[0-9a-f]{4}-/.exec(name);
  return m ? m[1]! : name;
}

function logLines(state: TuiState, action: Extract<Action, { type: 'logLines' }>): TuiState {
  const logs = state.logs;
  if (logTargetKey(logs.target) !== logTargetKey(action.target)) return state;
  if (action.lines.length === 0 && !action.dropped) return state;
  let seq = logs.nextSeq;
  const added = action.lines.map(
    (l): LogLine => ({
      seq: seq++,
      node: l.node,
      container: terminalText(shortContainerName(l.containerName)),
      stream: l.stream,
      ts: l.ts,
      // Kept as shown: colour codes dropped, every other escape visible (never sent to the terminal).
      text: terminalLogLine(l.truncated ? `${l.text}…` : l.text),
    }),
  );
  let lines = logs.lines.concat(added);
  let dropped = logs.dropped + (action.dropped ?? 0);
  const cap = state.options.logCap;
  if (lines.length > cap) {
    dropped += lines.length - cap;
    lines = lines.slice(lines.length - cap);
  }
  const first = lines[0]?.seq ?? seq;
  const anchor = logs.anchor !== null && logs.anchor < first ? first : logs.anchor;
  return { ...state, logs: { ...logs, lines, nextSeq: seq, dropped, anchor } };
}

// ---------------------------------------------------------------------------------------------

type FleetAction = Extract<
  Action,
  {
    type:
      | 'feedState'
      | 'feedEvent'
      | 'statsBatch'
      | 'nodeSummary'
      | 'summaryUnsupported'
      | 'feedRtt'
      | 'feedBatch'
      | 'logLines'
      | 'nodeProbed'
      | 'nodeProbeFailed';
  }
>;

/** A batch of feed facts, in order, as one change (see Drafts). */
function feedBatch(state: TuiState, facts: readonly FeedFact[]): Step {
  if (facts.length === 0) return step(state);
  return inDraft(() => {
    let next = state;
    const effects: Effect[] = [];
    for (const fact of facts) {
      const result = toStep(reduceFleet(next, fact));
      next = result.state;
      effects.push(...result.effects);
    }
    return step(next, ...effects);
  });
}

export function reduceFleet(state: TuiState, action: FleetAction): TuiState | Step {
  if (action.type === 'feedBatch' || action.type === 'logLines') return applyFact(state, action);
  // The node's own records, read before the fact: inside a batch the top-level records are
  // changed in place, so only the node's entries can tell whether this fact changed the node.
  const name = action.node;
  const entry = state.nodes[name];
  const stats = state.stats[name];
  const started = state.startedAt[name];
  // Whether the log describes the records before the fact, judged now: inside a batch the fact
  // may replace a record of this very state object (the first fact of the batch to touch
  // `stats`, say), and judged after it the log would look stale and start a new chain, which
  // makes every selector build all ten thousand rows again.
  const log = state.fleetLog;
  const current = log.nodes === state.nodes && log.stats === state.stats && log.startedAt === state.startedAt;
  const result = applyFact(state, action);
  const next = 'effects' in result ? result.state : result;
  if (next.nodes[name] === entry && next.stats[name] === stats && next.startedAt[name] === started)
    return result;
  const logged = logChange(current ? log.last : null, next, name);
  return 'effects' in result ? { state: logged, effects: result.effects } : logged;
}

/**
 * Logs that `name` changed (see `FleetLog`) after `last`, the change the log ended with when it
 * described the records before (null when it did not: a chain starts).
 */
function logChange(last: FleetChange | null, after: TuiState, name: string): TuiState {
  // Only a log that described the records before goes on; else (or when long) a chain starts.
  const prev = last && last.depth < FLEET_LOG_MAX ? last : { prev: null, name: '', depth: 0 };
  return withPart(after, 'fleetLog', {
    last: { prev, name, depth: prev.depth + 1 },
    nodes: after.nodes,
    stats: after.stats,
    startedAt: after.startedAt,
  });
}

function applyFact(state: TuiState, action: FleetAction): TuiState | Step {
  switch (action.type) {
    case 'feedBatch':
      return feedBatch(state, action.facts);
    case 'nodeSummary':
      return nodeSummary(state, action);
    case 'summaryUnsupported':
      return summaryUnsupported(state, action);
    case 'feedRtt':
      return feedRtt(state, action);
    case 'feedState':
      return feedState(state, action);
    case 'feedEvent':
      return feedEvent(state, action);
    case 'statsBatch':
      return statsBatch(state, action);
    case 'logLines':
      return logLines(state, action);
    case 'nodeProbed':
      return nodeProbed(state, action);
    case 'nodeProbeFailed':
      return nodeProbeFailed(state, action);
  }
}

export const fleetCommands = {
  refresh: (state) => step(flash(state, 'Refreshing every node…', 'info'), { kind: 'refreshAll' }),
} satisfies CommandTable;
