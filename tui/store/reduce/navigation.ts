/**
 * Moving around: focus, selection and scrolling (tables, detail pane, logs, help, confirmation,
 * rollout board), drilling into a row and back, the detail tabs, and the log view's own keys
 * (follow, search jumps, timestamps, wrap).
 */
import { detailContentSize, layoutOf, tableBodyHeight } from '../layout.js';
import { specOf } from '../panels/index.js';
import { findMatch, logTargetKey, logView } from '../select/logs.js';
import { logTargetFor, selectedIndex, selectedRow, visibleRows } from '../select/table.js';
import { DETAIL_TABS, emptyLogs, type FocusId, PANELS, type PanelId, type TuiState } from '../state.js';
import { type CommandTable, flash } from './room.js';

type Move = 'up' | 'down' | 'pageUp' | 'pageDown' | 'top' | 'bottom';

function focusOrder(state: TuiState): FocusId[] {
  return layoutOf(state).compact ? [...PANELS] : [...PANELS, 'detail'];
}

export function setFocus(state: TuiState, focus: FocusId): TuiState {
  if (focus === 'detail') return { ...state, focus, detail: { ...state.detail, open: true } };
  return { ...state, focus, lastPanel: focus, detail: { ...state.detail, open: false } };
}

function cycleFocus(state: TuiState, dir: 1 | -1): TuiState {
  const order = focusOrder(state);
  const i = Math.max(0, order.indexOf(state.focus));
  return setFocus(state, order[(i + dir + order.length) % order.length]!);
}

function moveTable(state: TuiState, panel: PanelId, move: Move): TuiState {
  const rows = visibleRows(state, panel);
  if (rows.length === 0) return state;
  const page = tableBodyHeight(layoutOf(state)[panel]);
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

/** Arrows and pages move whatever is in front: an overlay, the rollout board, the focused pane. */
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

/** Enter on a row: what its panel says (narrow the containers table, or open the details). */
function drill(state: TuiState): TuiState {
  if (state.focus === 'detail') return state;
  const panel = state.focus;
  const row = selectedRow(state, panel);
  if (!row) return state;
  const target = specOf(panel).drill(row);
  if (target.kind === 'detail') {
    return setFocus({ ...state, detail: { ...state.detail, tab: 'info', scroll: 0 } }, 'detail');
  }
  return {
    ...state,
    navStack: [...state.navStack, { focus: state.focus, scope: state.scope }],
    scope: target.scope,
    focus: 'containers',
    lastPanel: 'containers',
    tables: { ...state.tables, containers: { ...state.tables.containers, selected: null, top: 0 } },
  };
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

/** Every container, whatever was drilled into (`:containers`). */
export function allContainers(state: TuiState): TuiState {
  return setFocus(
    {
      ...state,
      scope: { kind: 'all' },
      navStack: [],
      tables: { ...state.tables, containers: { ...state.tables.containers, selected: null, top: 0 } },
    },
    'containers',
  );
}

export function showEvents(state: TuiState): TuiState {
  return setFocus({ ...state, detail: { ...state.detail, tab: 'events', scroll: 0 } }, 'detail');
}

export function openLogs(state: TuiState): TuiState {
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

function jumpToMatch(state: TuiState, dir: 1 | -1): TuiState {
  if (!state.logs.search) return flash(state, 'No search: press / to search the logs', 'info');
  const { width, height } = detailContentSize(state);
  const top = logView(state, width, height).firstSeq ?? 0;
  const seq = findMatch(state, top, dir);
  if (seq === null)
    return flash(state, `No ${dir === 1 ? 'later' : 'earlier'} match for /${state.logs.search}`, 'info');
  return { ...state, logs: { ...state.logs, follow: false, anchor: seq } };
}

export const navigationCommands = {
  quit: (state) => ({ ...state, quitting: true }),
  help: (state) => ({ ...state, modal: { kind: 'help', scroll: 0 } }),
  'help.close': (state) => ({ ...state, modal: null }),
  'focus.next': (state) => cycleFocus(state, 1),
  'focus.prev': (state) => cycleFocus(state, -1),
  'focus.nodes': (state) => setFocus(state, 'nodes'),
  'focus.jobs': (state) => setFocus(state, 'jobs'),
  'focus.containers': (state) => setFocus(state, 'containers'),
  'move.up': (state) => moveCommand(state, 'up'),
  'move.down': (state) => moveCommand(state, 'down'),
  'move.pageUp': (state) => moveCommand(state, 'pageUp'),
  'move.pageDown': (state) => moveCommand(state, 'pageDown'),
  'move.top': (state) => moveCommand(state, 'top'),
  'move.bottom': (state) => moveCommand(state, 'bottom'),
  drill,
  back,
  'detail.prevTab': (state) => switchTab(state, -1),
  'detail.nextTab': (state) => switchTab(state, 1),
  'logs.open': openLogs,
  'logs.follow': (state) => ({ ...state, logs: { ...state.logs, follow: true, anchor: null } }),
  'logs.nextMatch': (state) => jumpToMatch(state, 1),
  'logs.prevMatch': (state) => jumpToMatch(state, -1),
  'logs.timestamps': (state) => ({ ...state, logs: { ...state.logs, timestamps: !state.logs.timestamps } }),
  'logs.wrap': (state) => ({ ...state, logs: { ...state.logs, wrap: !state.logs.wrap } }),
} satisfies CommandTable;
