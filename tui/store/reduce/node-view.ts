/**
 * The nodes table at fleet size: its order (status, CPU, MEM, RTT, name), its group (an
 * inventory group's nodes only), and the jump to the next node that needs a look.
 */
import { isProblem, SORT_TITLES } from '../panels/nodes.js';
import { selectedIndex, visibleRows } from '../select/table.js';
import type { NodeSort, TuiState } from '../state.js';
import { setFocus } from './navigation.js';
import { type CommandTable, flash } from './room.js';

/**
 * The sort key pressed: that order; the same key again, reversed; a third time, inventory order.
 * The selection stays on its node (it is kept by key); the view scrolls to keep it in sight.
 */
function sortBy(state: TuiState, sort: NodeSort): TuiState {
  const view = state.nodeView;
  const next =
    view.sort !== sort
      ? { ...view, sort, reversed: false }
      : !view.reversed
        ? { ...view, reversed: true }
        : { ...view, sort: 'inventory' as const, reversed: false };
  const text =
    next.sort === 'inventory'
      ? 'Nodes in inventory order'
      : `Nodes by ${SORT_TITLES[next.sort]}${next.reversed ? ', reversed' : ''}`;
  return flash(
    { ...state, nodeView: next, tables: { ...state.tables, nodes: { ...state.tables.nodes, top: 0 } } },
    text,
    'info',
  );
}

/** Selects the next node (after the selected one, wrapping) whose status needs a look. */
function nextProblem(state: TuiState): TuiState {
  const rows = visibleRows(state, 'nodes');
  const from = selectedIndex(state, 'nodes');
  for (let step = 1; step <= rows.length; step++) {
    const row = rows[(from + step) % rows.length]!;
    if (!isProblem(row.status)) continue;
    const focused = state.focus === 'nodes' ? state : setFocus(state, 'nodes');
    return {
      ...focused,
      tables: { ...focused.tables, nodes: { ...focused.tables.nodes, selected: row.key } },
    };
  }
  return flash(state, 'No node needs a look: every node shown is online', 'info');
}

/** `:group NAME` shows that group's nodes; `:group` alone every node. */
export function setGroup(state: TuiState, name: string): TuiState {
  const group = name.trim();
  const reset = { ...state.tables, nodes: { ...state.tables.nodes, selected: null, top: 0 } };
  if (group === '') {
    return flash(
      { ...state, nodeView: { ...state.nodeView, group: null }, tables: reset },
      'Every node',
      'info',
    );
  }
  const members = state.groups[group];
  if (!members) {
    const known = Object.keys(state.groups);
    const list =
      known.length === 0
        ? 'the inventory has none'
        : `known: ${known.slice(0, 8).join(', ')}${known.length > 8 ? ', …' : ''}`;
    return flash(state, `No group ${group} (${list})`, 'error');
  }
  return flash(
    setFocus({ ...state, nodeView: { ...state.nodeView, group }, tables: reset }, 'nodes'),
    `Group ${group}: ${members.length} node${members.length === 1 ? '' : 's'}`,
    'info',
  );
}

export const nodeViewCommands = {
  'nodes.sortStatus': (state) => sortBy(state, 'status'),
  'nodes.sortCpu': (state) => sortBy(state, 'cpu'),
  'nodes.sortMem': (state) => sortBy(state, 'mem'),
  'nodes.sortLatency': (state) => sortBy(state, 'latency'),
  'nodes.sortName': (state) => sortBy(state, 'name'),
  'nodes.nextProblem': nextProblem,
} satisfies CommandTable;
