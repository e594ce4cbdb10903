/**
 * The reducer: (state, action) → new state. Pure; untouched parts keep their identity so the
 * memoised selectors skip work. Commands that need the outside world (plans, deploys, file
 * listing, refresh) change nothing here: the actions controller sees them and acts.
 */
import type { ContainerInfo, JobStatus } from '../../src/protocol/index.js';
import type { Action } from './actions.js';
import { COLON_COMMANDS, type CommandId } from './keymap.js';
import { detailContentSize, layoutOf, tableBodyHeight } from './layout.js';
import { findMatch, logTargetKey, logView } from './select/logs.js';
import { logTargetFor, selectedIndex, selectedJob, visibleRows } from './select/table.js';
import {
  appendHistory,
  type ContainerUsageHistory,
  DETAIL_TABS,
  EMPTY_HISTORY,
  emptyLogs,
  FLASH_MS,
  type FleetEvent,
  type FocusId,
  type Modal,
  type NodeEntry,
  PANELS,
  type PanelId,
  ROLLOUT_LINES,
  type RolloutBoard,
  type RolloutNode,
  SPARK_WINDOW_MS,
  type TuiState,
} from './state.js';

export function reduce(state: TuiState, action: Action): TuiState {
  switch (action.type) {
    case 'tick':
      return action.now === state.now ? state : { ...state, now: action.now };
    case 'resize':
      return action.width === state.screen.width && action.height === state.screen.height
        ? state
        : { ...state, screen: { width: action.width, height: action.height } };
    case 'command':
      return runCommand(state, action.command, action.char);
    case 'nodeConn':
      return nodeConn(state, action.node, action.conn, action.error, action.at);
    case 'nodeInfo':
      return updateNode(state, action.node, (n) => ({
        ...n,
        info: action.info,
        latencyMs: action.latencyMs,
        problem: null,
      }));
    case 'nodeProblem':
      return updateNode(state, action.node, (n) =>
        n.problem === action.problem ? n : { ...n, problem: action.problem },
      );
    case 'nodeJobs':
      return nodeJobs(state, action.node, action.jobs, action.at, action.others);
    case 'statsBatch':
      return statsBatch(state, action);
    case 'containerEvent':
      return containerEvent(state, action);
    case 'operationEvent':
      return appendEvent(state, {
        at: action.at,
        node: action.node,
        kind: 'operation',
        job: action.job,
        text: action.text,
        level: action.level,
      });
    case 'logLines':
      return logLines(state, action);
    case 'flash':
      return flash(state, action.text, action.level);
    case 'openChooser':
      if (action.files.length === 0) {
        return flash(
          state,
          'No job files: pass JOB.yaml files on the command line or put them in the working directory',
          'error',
        );
      }
      return { ...state, modal: { kind: 'chooseFile', files: action.files, selected: 0, error: null } };
    case 'planStarted':
      return { ...state, modal: { kind: 'planning', request: action.request, title: action.title } };
    case 'planReady': {
      const m = state.modal;
      if (m?.kind !== 'planning' || m.request.id !== action.request.id) return state;
      return {
        ...state,
        modal: {
          kind: 'confirm',
          request: action.request,
          title: action.title,
          summary: action.summary,
          nodes: action.nodes,
          command: action.command,
          focus: 'cancel',
          typeToConfirm: action.request.op === 'purge' ? action.request.job : null,
          typed: '',
          error: null,
          scroll: 0,
        },
      };
    }
    case 'planFailed': {
      const m = state.modal;
      if (m?.kind !== 'planning' || m.request.id !== action.request.id) return state;
      return flash({ ...state, modal: null }, action.error, 'error');
    }
    case 'rolloutProgress':
      return updateRolloutNode(state, action.node, (n) => ({
        ...n,
        status: 'running',
        lines: [...n.lines, action.message].slice(-ROLLOUT_LINES),
        current: action.current ?? n.current,
        total: action.total ?? n.total,
      }));
    case 'rolloutNode':
      return updateRolloutNode(state, action.node, (n) => ({
        ...n,
        status: action.status,
        message: action.message,
      }));
    case 'rolloutFinished': {
      const board = state.rollout;
      if (!board || board.finishedAt !== null) return state;
      const ok = board.nodes.filter((n) => n.status === 'ok').length;
      const bad = board.nodes.length - ok;
      const text = `${board.title}: ${ok} node${ok === 1 ? '' : 's'} ok${bad > 0 ? `, ${bad} not` : ''}`;
      return flash(
        { ...state, rollout: { ...board, finishedAt: action.at } },
        text,
        bad > 0 ? 'error' : 'ok',
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

function flash(state: TuiState, text: string, level: 'info' | 'ok' | 'error'): TuiState {
  return { ...state, flash: { text, level, until: state.now + FLASH_MS } };
}

function updateNode(state: TuiState, name: string, fn: (n: NodeEntry) => NodeEntry): TuiState {
  const node = state.nodes[name];
  if (!node) return state;
  return { ...state, nodes: { ...state.nodes, [name]: fn(node) } };
}

function appendEvent(state: TuiState, event: Omit<FleetEvent, 'seq'>): TuiState {
  const events = [...state.events, { ...event, seq: state.nextEventSeq }];
  const cap = state.options.eventCap;
  // A scrolled-back view keeps looking at the same events as new ones arrive.
  const scroll = state.focus === 'detail' && state.detail.tab === 'events' && state.detail.scroll > 0;
  return {
    ...state,
    events: events.length > cap ? events.slice(events.length - cap) : events,
    nextEventSeq: state.nextEventSeq + 1,
    detail: scroll ? { ...state.detail, scroll: Math.min(cap - 1, state.detail.scroll + 1) } : state.detail,
  };
}

function nodeConn(
  state: TuiState,
  name: string,
  conn: NodeEntry['conn'],
  error: string | null | undefined,
  at: number,
): TuiState {
  const node = state.nodes[name];
  if (!node) return state;
  const nextError = conn === 'online' ? null : error === undefined ? node.error : error;
  if (node.conn === conn && node.error === nextError) return state;
  let next = updateNode(state, name, (n) => ({ ...n, conn, error: nextError }));
  if (node.conn !== conn && !(node.conn === 'connecting' && conn === 'online')) {
    const level =
      conn === 'online' ? 'info' : conn === 'reconnecting' || conn === 'connecting' ? 'warn' : 'error';
    next = appendEvent(next, {
      at,
      node: name,
      kind: 'connection',
      job: null,
      text: `node ${conn}${nextError && conn !== 'online' ? `: ${nextError}` : ''}`,
      level,
    });
  }
  return next;
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
    return kept.length === Object.keys(mine).length
      ? record
      : { ...record, [name]: Object.fromEntries(kept) };
  };
  return {
    ...state,
    nodes: { ...state.nodes, [name]: { ...node, jobs, jobsAt: at, others } },
    stats: prune(state.stats),
    startedAt: prune(state.startedAt),
  };
}

function statsBatch(state: TuiState, action: Extract<Action, { type: 'statsBatch' }>): TuiState {
  if (action.samples.length === 0 || !state.nodes[action.node]) return state;
  const previous = state.stats[action.node] ?? {};
  const mine: Record<string, ContainerUsageHistory> = {};
  const since = action.at - SPARK_WINDOW_MS;
  for (const s of action.samples) {
    const prev: ContainerUsageHistory | undefined = previous[s.id];
    mine[s.id] = {
      latest: {
        cpuPercent: s.cpuPercent,
        memBytes: s.memBytes,
        memLimit: s.memLimit,
        netRx: s.netRx,
        netTx: s.netTx,
        blockRead: s.blockRead,
        blockWrite: s.blockWrite,
      },
      at: action.at,
      history: appendHistory(
        prev?.history ?? EMPTY_HISTORY,
        { at: action.at, cpu: s.cpuPercent, mem: s.memBytes },
        since,
      ),
    };
  }
  // A batch lists every running container of the node: the others keep their last sample
  // (they show as stale, then `-`), until the job list says they are gone.
  for (const [id, prev] of Object.entries(previous)) if (!(id in mine)) mine[id] = prev;
  return { ...state, stats: { ...state.stats, [action.node]: mine } };
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
    return {
      ...state,
      nodes: { ...state.nodes, [nodeName]: { ...node, jobs: { ...node.jobs, [jobName]: nextJob } } },
    };
  }
  return state;
}

function containerEvent(state: TuiState, e: Extract<Action, { type: 'containerEvent' }>): TuiState {
  let next = state;
  switch (e.action) {
    case 'start':
    case 'restart':
    case 'unpause':
      next = mapContainers(state, e.node, e.id, (c) => ({ ...c, state: 'running' }));
      if (e.action !== 'unpause') {
        next = {
          ...next,
          startedAt: { ...next.startedAt, [e.node]: { ...next.startedAt[e.node], [e.id]: e.at } },
        };
      }
      break;
    case 'die':
    case 'stop':
      next = mapContainers(state, e.node, e.id, (c) => ({ ...c, state: 'exited' }));
      break;
    case 'pause':
      next = mapContainers(state, e.node, e.id, (c) => ({ ...c, state: 'paused' }));
      break;
    case 'health_status':
      if (e.health) {
        const health = e.health;
        next = mapContainers(state, e.node, e.id, (c) => ({ ...c, health }));
      }
      break;
    case 'destroy': {
      next = mapContainers(state, e.node, e.id, () => null);
      const { [e.id]: _s, ...stats } = next.stats[e.node] ?? {};
      const { [e.id]: _t, ...startedAt } = next.startedAt[e.node] ?? {};
      next = {
        ...next,
        stats: { ...next.stats, [e.node]: stats },
        startedAt: { ...next.startedAt, [e.node]: startedAt },
      };
      break;
    }
  }
  const who = e.name ?? e.id.slice(0, 12);
  const exit = e.exitCode !== undefined && e.exitCode !== null ? ` (exit ${e.exitCode})` : '';
  const health = e.action === 'health_status' && e.health ? `: ${e.health}` : '';
  const level =
    e.action === 'oom' || (e.action === 'die' && e.exitCode && e.exitCode !== 0) || e.health === 'unhealthy'
      ? 'warn'
      : 'info';
  return appendEvent(next, {
    at: e.at,
    node: e.node,
    kind: 'container',
    job: e.job,
    text: `${who} ${e.action}${exit}${health}`,
    level: e.action === 'oom' ? 'error' : level,
  });
}

function logLines(state: TuiState, action: Extract<Action, { type: 'logLines' }>): TuiState {
  const logs = state.logs;
  if (logTargetKey(logs.target) !== logTargetKey(action.target)) return state;
  if (action.lines.length === 0 && !action.dropped) return state;
  let seq = logs.nextSeq;
  const added = action.lines.map((l) => ({ ...l, seq: seq++ }));
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

function updateRolloutNode(state: TuiState, name: string, fn: (n: RolloutNode) => RolloutNode): TuiState {
  const board = state.rollout;
  if (!board) return state;
  const index = board.nodes.findIndex((n) => n.node === name);
  if (index < 0) return state;
  const nodes = [...board.nodes];
  nodes[index] = fn(nodes[index]!);
  return { ...state, rollout: { ...board, nodes } };
}

// ---------------------------------------------------------------------------------------------
// Commands

function focusOrder(state: TuiState): FocusId[] {
  const layout = layoutOf(state);
  return layout.compact ? [...PANELS] : [...PANELS, 'detail'];
}

function setFocus(state: TuiState, focus: FocusId): TuiState {
  if (focus === 'detail') return { ...state, focus, detail: { ...state.detail, open: true } };
  return { ...state, focus, lastPanel: focus, detail: { ...state.detail, open: false } };
}

function pageSize(state: TuiState, panel: PanelId): number {
  return tableBodyHeight(layoutOf(state)[panel]);
}

type Move = 'up' | 'down' | 'pageUp' | 'pageDown' | 'top' | 'bottom';

function moveTable(state: TuiState, panel: PanelId, move: Move): TuiState {
  const rows = visibleRows(state, panel);
  if (rows.length === 0) return state;
  const page = pageSize(state, panel);
  const current = selectedIndex(state, panel);
  const delta: Record<Move, number> = {
    up: -1,
    down: 1,
    pageUp: -page,
    pageDown: page,
    top: -rows.length,
    bottom: rows.length,
  };
  const index = Math.max(0, Math.min(rows.length - 1, current + delta[move]));
  const table = state.tables[panel];
  let top = table.top;
  if (index < top) top = index;
  if (index >= top + page) top = index - page + 1;
  top = Math.max(0, Math.min(top, Math.max(0, rows.length - page)));
  return {
    ...state,
    tables: { ...state.tables, [panel]: { ...table, selected: rows[index]!.key, top } },
  };
}

function moveLogs(state: TuiState, move: Move): TuiState {
  const logs = state.logs;
  if (logs.lines.length === 0) return state;
  const { width, height } = detailContentSize(state);
  const first = logs.lines[0]!.seq;
  const last = logs.lines[logs.lines.length - 1]!.seq;
  if (move === 'bottom') return { ...state, logs: { ...logs, follow: true, anchor: null } };
  if (move === 'top') return { ...state, logs: { ...logs, follow: false, anchor: first } };
  const top = logView(state, width, height).firstSeq ?? first;
  const step = move === 'up' ? -1 : move === 'down' ? 1 : move === 'pageUp' ? -height : height;
  if (logs.follow && step > 0) return state;
  const anchor = Math.max(first, Math.min(last, top + step));
  return { ...state, logs: { ...logs, follow: false, anchor } };
}

function moveDetail(state: TuiState, move: Move): TuiState {
  if (state.detail.tab === 'logs') return moveLogs(state, move);
  const { height } = detailContentSize(state);
  const max = state.detail.tab === 'events' ? Math.max(0, state.events.length - 1) : 200;
  const step: Record<Move, number> = {
    up: -1,
    down: 1,
    pageUp: -height,
    pageDown: height,
    top: -max,
    bottom: max,
  };
  const scroll = Math.max(0, Math.min(max, state.detail.scroll + step[move]));
  return scroll === state.detail.scroll ? state : { ...state, detail: { ...state.detail, scroll } };
}

function moveCommand(state: TuiState, move: Move): TuiState {
  const modal = state.modal;
  const scrollBy: Record<Move, number> = {
    up: -1,
    down: 1,
    pageUp: -10,
    pageDown: 10,
    top: -1e6,
    bottom: 1e6,
  };
  if (modal?.kind === 'help') {
    return {
      ...state,
      modal: { ...modal, scroll: Math.max(0, Math.min(200, modal.scroll + scrollBy[move])) },
    };
  }
  if (modal?.kind === 'confirm') {
    const max = Math.max(0, modal.summary.length - 1);
    return {
      ...state,
      modal: { ...modal, scroll: Math.max(0, Math.min(max, modal.scroll + scrollBy[move])) },
    };
  }
  if (modal) return state;
  if (state.rollout) {
    const max = Math.max(0, state.rollout.nodes.length - 1);
    const scroll = Math.max(0, Math.min(max, state.rollout.scroll + scrollBy[move]));
    return { ...state, rollout: { ...state.rollout, scroll } };
  }
  if (state.focus === 'detail') return moveDetail(state, move);
  return moveTable(state, state.focus, move);
}

function drill(state: TuiState): TuiState {
  const frame = { focus: state.focus, scope: state.scope };
  const resetContainers = { ...state.tables.containers, selected: null, top: 0 };
  if (state.focus === 'nodes') {
    const row = visibleRows(state, 'nodes')[selectedIndex(state, 'nodes')];
    if (!row) return state;
    return {
      ...state,
      navStack: [...state.navStack, frame],
      scope: { kind: 'node', node: row.key },
      focus: 'containers',
      lastPanel: 'containers',
      tables: { ...state.tables, containers: resetContainers },
    };
  }
  if (state.focus === 'jobs') {
    const row = visibleRows(state, 'jobs')[selectedIndex(state, 'jobs')];
    if (!row) return state;
    return {
      ...state,
      navStack: [...state.navStack, frame],
      scope: { kind: 'job', job: row.key },
      focus: 'containers',
      lastPanel: 'containers',
      tables: { ...state.tables, containers: resetContainers },
    };
  }
  if (state.focus === 'containers') {
    if (selectedIndex(state, 'containers') < 0) return state;
    return setFocus({ ...state, detail: { ...state.detail, tab: 'info', scroll: 0 } }, 'detail');
  }
  return state;
}

function back(state: TuiState): TuiState {
  if (state.focus === 'detail') return setFocus(state, state.lastPanel);
  const frame = state.navStack[state.navStack.length - 1];
  if (frame) {
    const restored = setFocus(
      { ...state, navStack: state.navStack.slice(0, -1), scope: frame.scope },
      frame.focus,
    );
    return {
      ...restored,
      tables: { ...restored.tables, containers: { ...restored.tables.containers, selected: null, top: 0 } },
    };
  }
  const panel = state.focus;
  if (state.tables[panel].filter) {
    return { ...state, tables: { ...state.tables, [panel]: { ...state.tables[panel], filter: '', top: 0 } } };
  }
  return state;
}

function openLogs(state: TuiState): TuiState {
  const target = logTargetFor(state);
  if (!target) return flash(state, 'Select a container or a job to see its logs', 'info');
  const logs =
    logTargetKey(target) === logTargetKey(state.logs.target)
      ? { ...state.logs, follow: true, anchor: null }
      : { ...emptyLogs(state.logs.timestamps, state.logs.wrap), target };
  return setFocus({ ...state, logs, detail: { ...state.detail, tab: 'logs', scroll: 0 } }, 'detail');
}

function switchTab(state: TuiState, dir: 1 | -1): TuiState {
  const i = DETAIL_TABS.indexOf(state.detail.tab);
  const tab = DETAIL_TABS[(i + dir + DETAIL_TABS.length) % DETAIL_TABS.length]!;
  const next = { ...state, detail: { ...state.detail, tab, scroll: 0 } };
  // A collapsed pane opens when its tabs are switched; a docked one just changes tab.
  return layoutOf(state).compact && state.focus !== 'detail' ? setFocus(next, 'detail') : next;
}

function prompt(
  state: TuiState,
  purpose: Extract<Modal, { kind: 'prompt' }>['purpose'],
  input: string,
  extra: { panel?: PanelId; job?: string } = {},
): TuiState {
  return {
    ...state,
    modal: {
      kind: 'prompt',
      purpose,
      input,
      panel: extra.panel ?? null,
      previousFilter: extra.panel ? state.tables[extra.panel].filter : '',
      job: extra.job ?? null,
      error: null,
    },
  };
}

function colonCommand(state: TuiState, input: string): TuiState {
  const name = input.trim().replace(/^:/, '').toLowerCase();
  const entry = COLON_COMMANDS[name];
  const closed = { ...state, modal: null };
  if (!entry)
    return name === '' ? closed : flash(closed, `Unknown command :${name} — press ? for help`, 'error');
  switch (entry.command) {
    case 'nodes':
      return setFocus(closed, 'nodes');
    case 'jobs':
      return setFocus(closed, 'jobs');
    case 'containers':
      return setFocus(
        {
          ...closed,
          scope: { kind: 'all' },
          navStack: [],
          tables: { ...closed.tables, containers: { ...closed.tables.containers, selected: null, top: 0 } },
        },
        'containers',
      );
    case 'events':
      return setFocus({ ...closed, detail: { ...closed.detail, tab: 'events', scroll: 0 } }, 'detail');
    case 'logs':
      return openLogs(closed);
    case 'help':
      return { ...closed, modal: { kind: 'help', scroll: 0 } };
    case 'quit':
      return { ...closed, quitting: true };
  }
  return closed;
}

/** Parses the count typed for a scale; null when it is not a whole number from 1 to 1000. */
export function parseCount(input: string): number | null {
  const text = input.trim();
  if (!/^\d{1,4}$/.test(text)) return null;
  const n = Number(text);
  return n >= 1 && n <= 1000 ? n : null;
}

function submitPrompt(state: TuiState): TuiState {
  const m = state.modal;
  if (m?.kind !== 'prompt') return state;
  switch (m.purpose) {
    case 'filter':
      return { ...state, modal: null };
    case 'command':
      return colonCommand(state, m.input);
    case 'logSearch':
      return { ...state, modal: null, logs: { ...state.logs, search: m.input.trim() } };
    case 'scale':
      if (parseCount(m.input) === null) {
        return { ...state, modal: { ...m, error: 'Type a whole number from 1 to 1000' } };
      }
      return { ...state, modal: null };
  }
}

function editInput(state: TuiState, edit: (text: string) => string): TuiState {
  const m = state.modal;
  if (m?.kind === 'prompt') {
    const input = edit(m.input);
    let next: TuiState = { ...state, modal: { ...m, input, error: null } };
    if (m.purpose === 'filter' && m.panel) {
      // Filters apply as they are typed, like k9s.
      const panel = m.panel;
      next = {
        ...next,
        tables: { ...next.tables, [panel]: { ...next.tables[panel], filter: input, top: 0 } },
      };
    }
    return next;
  }
  if (m?.kind === 'confirm' && m.typeToConfirm !== null) {
    return { ...state, modal: { ...m, typed: edit(m.typed), error: null } };
  }
  return state;
}

function startRollout(state: TuiState): TuiState {
  const m = state.modal;
  if (m?.kind !== 'confirm') return state;
  // Like the CLI: only nodes whose plan changes something are contacted again.
  const nodes: RolloutNode[] = m.nodes.map((np) => {
    const unchanged = np.outcome === 'ok' && np.plan !== null && !np.plan.changes;
    return {
      node: np.node,
      status: np.outcome === 'ok' ? (unchanged ? 'ok' : 'waiting') : np.outcome,
      lines: [],
      current: null,
      total: null,
      message: unchanged ? 'Nothing to change' : np.outcome === 'ok' ? null : (np.error ?? np.outcome),
    };
  });
  const runnable = nodes.some((n) => n.status === 'waiting');
  const board: RolloutBoard = {
    request: m.request,
    title: m.title,
    startedAt: state.now,
    finishedAt: runnable ? null : state.now,
    nodes,
    scroll: 0,
  };
  const next = { ...state, modal: null, rollout: board };
  if (runnable) return next;
  const reached = m.nodes.some((np) => np.outcome === 'ok');
  return reached
    ? flash(next, 'Nothing to change on any reachable node', 'info')
    : flash(next, 'No node could be reached: nothing was changed', 'error');
}

function cancelled(state: TuiState): TuiState {
  return flash({ ...state, modal: null }, 'Cancelled — nothing was changed', 'info');
}

export function runCommand(state: TuiState, command: CommandId, char?: string): TuiState {
  switch (command) {
    case 'quit':
      return { ...state, quitting: true };
    case 'help':
      return { ...state, modal: { kind: 'help', scroll: 0 } };
    case 'help.close':
      return { ...state, modal: null };
    case 'focus.next':
    case 'focus.prev': {
      const order = focusOrder(state);
      const i = Math.max(0, order.indexOf(state.focus));
      const dir = command === 'focus.next' ? 1 : -1;
      return setFocus(state, order[(i + dir + order.length) % order.length]!);
    }
    case 'focus.nodes':
      return setFocus(state, 'nodes');
    case 'focus.jobs':
      return setFocus(state, 'jobs');
    case 'focus.containers':
      return setFocus(state, 'containers');
    case 'move.up':
      return moveCommand(state, 'up');
    case 'move.down':
      return moveCommand(state, 'down');
    case 'move.pageUp':
      return moveCommand(state, 'pageUp');
    case 'move.pageDown':
      return moveCommand(state, 'pageDown');
    case 'move.top':
      return moveCommand(state, 'top');
    case 'move.bottom':
      return moveCommand(state, 'bottom');
    case 'drill':
      return drill(state);
    case 'back':
      return back(state);
    case 'filter.open':
      return state.focus === 'detail'
        ? state
        : prompt(state, 'filter', state.tables[state.focus].filter, { panel: state.focus });
    case 'command.open':
      return prompt(state, 'command', '');
    case 'detail.prevTab':
      return switchTab(state, -1);
    case 'detail.nextTab':
      return switchTab(state, 1);
    case 'logs.open':
      return openLogs(state);
    case 'logs.follow':
      return { ...state, logs: { ...state.logs, follow: true, anchor: null } };
    case 'logs.search':
      return prompt(state, 'logSearch', state.logs.search);
    case 'logs.nextMatch':
    case 'logs.prevMatch': {
      if (!state.logs.search) return flash(state, 'No search: press / to search the logs', 'info');
      const { width, height } = detailContentSize(state);
      const top = logView(state, width, height).firstSeq ?? 0;
      const dir = command === 'logs.nextMatch' ? 1 : -1;
      const seq = findMatch(state, top, dir);
      if (seq === null)
        return flash(state, `No ${dir === 1 ? 'later' : 'earlier'} match for /${state.logs.search}`, 'info');
      return { ...state, logs: { ...state.logs, follow: false, anchor: seq } };
    }
    case 'logs.timestamps':
      return { ...state, logs: { ...state.logs, timestamps: !state.logs.timestamps } };
    case 'logs.wrap':
      return { ...state, logs: { ...state.logs, wrap: !state.logs.wrap } };
    case 'op.scale': {
      const job = selectedJob(state);
      if (!job) return flash(state, 'Select a job (or one of its containers) to scale', 'info');
      return prompt(state, 'scale', '', { job });
    }
    case 'op.deploy':
    case 'op.rollback':
    case 'op.stop':
    case 'op.purge':
    case 'refresh':
      // The actions controller carries these out.
      return state;
    case 'chooser.up':
    case 'chooser.down': {
      const m = state.modal;
      if (m?.kind !== 'chooseFile') return state;
      const d = command === 'chooser.up' ? -1 : 1;
      return {
        ...state,
        modal: { ...m, selected: Math.max(0, Math.min(m.files.length - 1, m.selected + d)) },
      };
    }
    case 'chooser.choose':
      return state.modal?.kind === 'chooseFile' ? { ...state, modal: null } : state;
    case 'modal.cancel':
      return state.modal?.kind === 'planning' ? cancelled(state) : { ...state, modal: null };
    case 'confirm.yes':
      return state.modal?.kind === 'confirm' && state.modal.typeToConfirm === null
        ? startRollout(state)
        : state;
    case 'confirm.no':
      return state.modal?.kind === 'confirm' ? cancelled(state) : state;
    case 'confirm.toggle': {
      const m = state.modal;
      if (m?.kind !== 'confirm') return state;
      return { ...state, modal: { ...m, focus: m.focus === 'cancel' ? 'confirm' : 'cancel' } };
    }
    case 'confirm.activate': {
      const m = state.modal;
      if (m?.kind !== 'confirm') return state;
      if (m.typeToConfirm !== null) {
        if (m.typed === m.typeToConfirm) return startRollout(state);
        return {
          ...state,
          modal: { ...m, error: `Type ${m.typeToConfirm} exactly to purge it, or esc to cancel` },
        };
      }
      return m.focus === 'confirm' ? startRollout(state) : cancelled(state);
    }
    case 'rollout.dismiss':
      if (!state.rollout) return state;
      if (state.rollout.finishedAt === null)
        return flash(state, 'Still running: the board can be closed when it ends', 'info');
      return { ...state, rollout: null };
    case 'input.insert':
      return char === undefined ? state : editInput(state, (t) => t + char);
    case 'input.backspace':
      return editInput(state, (t) => Array.from(t).slice(0, -1).join(''));
    case 'input.clear':
      return editInput(state, () => '');
    case 'input.submit':
      return submitPrompt(state);
    case 'input.cancel': {
      const m = state.modal;
      if (m?.kind === 'prompt' && m.purpose === 'filter' && m.panel) {
        const panel = m.panel;
        return {
          ...state,
          modal: null,
          tables: { ...state.tables, [panel]: { ...state.tables[panel], filter: m.previousFilter, top: 0 } },
        };
      }
      return { ...state, modal: null };
    }
  }
}
