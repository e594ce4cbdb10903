/**
 * Text entry: the prompts on the status line (table filter, `:` command, log search, scale
 * count) and the job name typed to confirm a purge. Filters apply as they are typed; a submitted
 * scale count becomes a plan effect.
 */
import { step } from '../effects.js';
import { COLON_COMMANDS } from '../keymap.js';
import { selectedJob } from '../select/table.js';
import type { Modal, PanelId, TuiState } from '../state.js';
import { allContainers, openLogs, setFocus, showEvents } from './navigation.js';
import { setGroup } from './node-view.js';
import { type CommandTable, flash } from './room.js';

type PromptPurpose = Extract<Modal, { kind: 'prompt' }>['purpose'];

function prompt(
  state: TuiState,
  purpose: PromptPurpose,
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
  const [word = '', ...rest] = input.trim().replace(/^:/, '').split(/\s+/);
  const name = word.toLowerCase();
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
      return allContainers(closed);
    case 'events':
      return showEvents(closed);
    case 'logs':
      return openLogs(closed);
    case 'group':
      return setGroup(closed, rest.join(' '));
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

function submitPrompt(state: TuiState) {
  const m = state.modal;
  if (m?.kind !== 'prompt') return state;
  switch (m.purpose) {
    case 'filter':
      return { ...state, modal: null };
    case 'command':
      return colonCommand(state, m.input);
    case 'logSearch':
      return { ...state, modal: null, logs: { ...state.logs, search: m.input.trim() } };
    case 'scale': {
      const count = parseCount(m.input);
      if (count === null || m.job === null) {
        return { ...state, modal: { ...m, error: 'Type a whole number from 1 to 1000' } };
      }
      return step({ ...state, modal: null }, { kind: 'plan', intent: { op: 'scale', job: m.job, count } });
    }
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

function cancelInput(state: TuiState): TuiState {
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

export const promptCommands = {
  'filter.open': (state) =>
    state.focus === 'detail'
      ? state
      : prompt(state, 'filter', state.tables[state.focus].filter, { panel: state.focus }),
  'command.open': (state) => prompt(state, 'command', ''),
  'logs.search': (state) => prompt(state, 'logSearch', state.logs.search),
  'op.scale': (state) => {
    const job = selectedJob(state);
    if (!job) return flash(state, 'Select a job (or one of its containers) to scale', 'info');
    return prompt(state, 'scale', '', { job });
  },
  'input.insert': (state, char) => (char === undefined ? state : editInput(state, (t) => t + char)),
  'input.backspace': (state) => editInput(state, (t) => Array.from(t).slice(0, -1).join('')),
  'input.clear': (state) => editInput(state, () => ''),
  'input.submit': submitPrompt,
  'input.cancel': cancelInput,
} satisfies CommandTable;
