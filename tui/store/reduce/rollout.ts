/**
 * Operations, from the key to the board: `d` lists job files (the chooser), the operation keys
 * ask for a plan, the confirmation pane shows it, and a confirmed plan becomes the rollout board
 * whose nodes follow the progress and outcome actions. Which nodes are carried out, and what the
 * others come to, is the rollout's call (`src/client/rollout.ts`), as in the CLI.
 */
import type { Action } from '../actions.js';
import { type Step, step } from '../effects.js';
import { jobRows } from '../panels/jobs.js';
import { selectedJob } from '../select/table.js';
import {
  ROLLOUT_LINES,
  type RolloutBoard,
  type RolloutNode,
  rolloutNodeOk,
  type TuiState,
} from '../state.js';
import { type CommandTable, flash } from './room.js';

function planJobOperation(state: TuiState, op: 'rollback' | 'stop' | 'purge'): TuiState | Step {
  const job = selectedJob(state);
  if (!job) return flash(state, 'Select a job (or one of its containers) first', 'info');
  const reporting = state.nodeOrder.filter((n) => state.nodes[n]?.jobs[job]);
  const image = jobRows(state).find((j) => j.job === job)?.image ?? null;
  return step(state, { kind: 'plan', intent: { op, job, reporting, image } });
}

/** P on a job: roll its canary out on the rest of its nodes (the job file must define the job). */
function planPromote(state: TuiState): TuiState | Step {
  const job = selectedJob(state);
  if (!job) return flash(state, 'Select a job (or one of its containers) first', 'info');
  const row = jobRows(state).find((j) => j.job === job);
  if (!row?.canary) return flash(state, `No canary of ${job} is out: nothing to promote`, 'info');
  return step(state, { kind: 'plan', intent: { op: 'promote', job } });
}

function moveChooser(state: TuiState, d: 1 | -1): TuiState {
  const m = state.modal;
  if (m?.kind !== 'chooseFile') return state;
  return { ...state, modal: { ...m, selected: Math.max(0, Math.min(m.files.length - 1, m.selected + d)) } };
}

function choose(state: TuiState): TuiState | Step {
  const m = state.modal;
  if (m?.kind !== 'chooseFile') return state;
  const file = m.files[m.selected];
  const closed = { ...state, modal: null };
  return file === undefined ? closed : step(closed, { kind: 'plan', intent: { op: 'deploy', file } });
}

/** Esc while planning, or no at the confirmation: nothing is carried out. */
function cancelled(state: TuiState): TuiState | Step {
  const m = state.modal;
  const next = flash({ ...state, modal: null }, 'Cancelled — nothing was changed', 'info');
  return m?.kind === 'planning' || m?.kind === 'confirm'
    ? step(next, { kind: 'decline', request: m.request })
    : next;
}

/** The confirmed plan becomes the board; the nodes whose plan changes something are carried out. */
function startRollout(state: TuiState): TuiState | Step {
  const m = state.modal;
  if (m?.kind !== 'confirm') return state;
  const nodes: RolloutNode[] = m.nodes.map((np) => ({
    node: np.node,
    status: np.changes ? 'waiting' : np.outcome,
    wave: np.wave,
    canary: np.canary,
    reverting: false,
    phase: null,
    lines: [],
    current: null,
    total: null,
    message: np.changes ? null : np.message,
  }));
  const runnable = m.nodes.some((np) => np.changes);
  const board: RolloutBoard = {
    request: m.request,
    title: m.title,
    startedAt: state.now,
    finishedAt: runnable ? null : state.now,
    nodes,
    waves: Math.max(0, ...m.nodes.map((np) => np.wave ?? 0)),
    wave: null,
    after: [],
    scroll: 0,
  };
  const next = { ...state, modal: null, rollout: board };
  if (runnable) return step(next, { kind: 'execute', request: m.request });
  const reached = m.nodes.some((np) => np.status === 'online');
  return reached
    ? flash(next, 'Nothing to change on any reachable node', 'info')
    : flash(next, 'No node could be reached: nothing was changed', 'error');
}

function activate(state: TuiState): TuiState | Step {
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

/** Where each node sits on a board (the order never changes while it lives), built once per board. */
const boardIndexes = new WeakMap<RolloutBoard['request'], Map<string, number>>();

function boardIndex(board: RolloutBoard): Map<string, number> {
  let index = boardIndexes.get(board.request);
  if (!index) {
    index = new Map(board.nodes.map((n, i) => [n.node, i]));
    boardIndexes.set(board.request, index);
  }
  return index;
}

function updateRolloutNode(state: TuiState, name: string, fn: (n: RolloutNode) => RolloutNode): TuiState {
  const board = state.rollout;
  if (!board) return state;
  const index = boardIndex(board).get(name) ?? -1;
  if (index < 0 || board.nodes[index]?.node !== name) return state;
  const nodes = [...board.nodes];
  nodes[index] = fn(nodes[index]!);
  return { ...state, rollout: { ...board, nodes } };
}

export const rolloutCommands = {
  'op.deploy': (state) => step(state, { kind: 'listJobFiles' }),
  'op.promote': planPromote,
  'op.rollback': (state) => planJobOperation(state, 'rollback'),
  'op.stop': (state) => planJobOperation(state, 'stop'),
  'op.purge': (state) => planJobOperation(state, 'purge'),
  'chooser.up': (state) => moveChooser(state, -1),
  'chooser.down': (state) => moveChooser(state, 1),
  'chooser.choose': choose,
  'modal.cancel': (state) =>
    state.modal?.kind === 'planning' ? cancelled(state) : { ...state, modal: null },
  'confirm.yes': (state) =>
    state.modal?.kind === 'confirm' && state.modal.typeToConfirm === null ? startRollout(state) : state,
  'confirm.no': (state) => (state.modal?.kind === 'confirm' ? cancelled(state) : state),
  'confirm.toggle': (state) => {
    const m = state.modal;
    if (m?.kind !== 'confirm') return state;
    return { ...state, modal: { ...m, focus: m.focus === 'cancel' ? 'confirm' : 'cancel' } };
  },
  'confirm.activate': activate,
  'rollout.dismiss': (state) => {
    if (!state.rollout) return state;
    if (state.rollout.finishedAt === null)
      return flash(state, 'Still running: the board can be closed when it ends', 'info');
    return { ...state, rollout: null };
  },
} satisfies CommandTable;

type RolloutAction = Extract<
  Action,
  {
    type:
      | 'jobFilesListed'
      | 'planStarted'
      | 'planReady'
      | 'planFailed'
      | 'rolloutProgress'
      | 'rolloutWave'
      | 'rolloutNode'
      | 'rolloutFinished';
  }
>;

export function reduceRollout(state: TuiState, action: RolloutAction): TuiState | Step {
  switch (action.type) {
    case 'jobFilesListed':
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
      // A late answer for a request that was cancelled (esc while planning) changes nothing.
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
        reverting: action.reverting ?? n.reverting,
        // A revert starts from a settled node: its message gives way to the revert's progress.
        message: action.reverting && !n.reverting ? null : n.message,
        phase: action.phase ?? n.phase,
        lines: [...n.lines, action.message].slice(-ROLLOUT_LINES),
        current: action.current ?? n.current,
        total: action.total ?? n.total,
      }));
    case 'rolloutWave': {
      const board = state.rollout;
      if (!board) return state;
      const wave = { index: action.index, count: action.count, phase: action.phase };
      return { ...state, rollout: { ...board, wave } };
    }
    case 'rolloutNode': {
      // The node changed: show what it runs now (a node with summaries sends it by itself).
      const next = updateRolloutNode(state, action.node, (n) => ({
        ...n,
        status: action.status,
        message: action.message,
        reverting: false,
      }));
      return state.nodes[action.node]?.summary === 'live'
        ? next
        : step(next, { kind: 'refresh', node: action.node });
    }
    case 'rolloutFinished': {
      const board = state.rollout;
      if (!board || board.finishedAt !== null) return state;
      const ok = board.nodes.filter((n) => rolloutNodeOk(n.status)).length;
      const bad = board.nodes.length - ok;
      const text = `${board.title}: ${ok} node${ok === 1 ? '' : 's'} ok${bad > 0 ? `, ${bad} not` : ''}`;
      return flash(
        { ...state, rollout: { ...board, finishedAt: action.at, wave: null, after: action.after ?? [] } },
        text,
        bad > 0 ? 'error' : 'ok',
      );
    }
  }
}
