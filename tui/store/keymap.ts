/**
 * The one keymap registry. Key handling (`resolveKey`), the `?` help and the footer hints are
 * all generated from `BINDINGS`, so they cannot disagree.
 *
 * Keys are named the way blessed names them (`tab`, `S-tab`, `enter`, `escape`, `up`, `C-c`),
 * except printable characters, which are the character itself (`R`, `?`, `/`, `space`).
 */
import type { DetailTab, TuiState } from './state.js';

export type KeyContext =
  | 'global'
  | 'main'
  | 'table'
  | 'nodes'
  | 'jobs'
  | 'containers'
  | 'detail'
  | 'logs'
  | 'help'
  | 'chooser'
  | 'planning'
  | 'confirm'
  | 'rollout';

export const COMMANDS = [
  'quit',
  'help',
  'help.close',
  'focus.next',
  'focus.prev',
  'focus.nodes',
  'focus.jobs',
  'focus.containers',
  'move.up',
  'move.down',
  'move.pageUp',
  'move.pageDown',
  'move.top',
  'move.bottom',
  'drill',
  'back',
  'nodes.sortStatus',
  'nodes.sortCpu',
  'nodes.sortMem',
  'nodes.sortLatency',
  'nodes.sortName',
  'nodes.nextProblem',
  'filter.open',
  'command.open',
  'refresh',
  'detail.prevTab',
  'detail.nextTab',
  'logs.open',
  'logs.follow',
  'logs.search',
  'logs.nextMatch',
  'logs.prevMatch',
  'logs.timestamps',
  'logs.wrap',
  'op.deploy',
  'op.scale',
  'op.promote',
  'op.rollback',
  'op.stop',
  'op.purge',
  'chooser.up',
  'chooser.down',
  'chooser.choose',
  'modal.cancel',
  'confirm.yes',
  'confirm.no',
  'confirm.toggle',
  'confirm.activate',
  'rollout.dismiss',
  'input.insert',
  'input.backspace',
  'input.clear',
  'input.submit',
  'input.cancel',
] as const;
export type CommandId = (typeof COMMANDS)[number];

export interface Binding {
  command: CommandId;
  keys: readonly string[];
  /** What the help and footer say. */
  label: string;
  contexts: readonly KeyContext[];
  /** Shown in the footer when its context is active. */
  hint?: boolean;
}

const MOVE: readonly KeyContext[] = ['table', 'detail', 'help', 'confirm', 'rollout'];

export const BINDINGS: readonly Binding[] = [
  { command: 'quit', keys: ['C-c'], label: 'quit', contexts: ['global'] },
  // Chooser / confirmation / board: the most specific contexts come first in resolution anyway.
  { command: 'chooser.up', keys: ['up', 'k'], label: 'previous file', contexts: ['chooser'] },
  { command: 'chooser.down', keys: ['down', 'j'], label: 'next file', contexts: ['chooser'] },
  { command: 'chooser.choose', keys: ['enter'], label: 'plan this file', contexts: ['chooser'], hint: true },
  {
    command: 'modal.cancel',
    keys: ['escape', 'q'],
    label: 'cancel',
    contexts: ['chooser', 'planning'],
    hint: true,
  },
  { command: 'confirm.yes', keys: ['y'], label: 'confirm', contexts: ['confirm'], hint: true },
  { command: 'confirm.no', keys: ['n', 'escape'], label: 'cancel', contexts: ['confirm'], hint: true },
  {
    command: 'confirm.toggle',
    keys: ['tab', 'S-tab', 'left', 'right', 'h', 'l'],
    label: 'switch button',
    contexts: ['confirm'],
  },
  {
    command: 'confirm.activate',
    keys: ['enter'],
    label: 'press focused button',
    contexts: ['confirm'],
    hint: true,
  },
  {
    command: 'rollout.dismiss',
    keys: ['escape', 'enter', 'q'],
    label: 'dismiss (when done)',
    contexts: ['rollout'],
    hint: true,
  },
  { command: 'help.close', keys: ['escape', 'q', '?'], label: 'close help', contexts: ['help'], hint: true },

  { command: 'focus.next', keys: ['tab'], label: 'next panel', contexts: ['main'], hint: true },
  { command: 'focus.prev', keys: ['S-tab'], label: 'previous panel', contexts: ['main'] },
  { command: 'focus.nodes', keys: ['1'], label: 'nodes', contexts: ['main'] },
  { command: 'focus.jobs', keys: ['2'], label: 'jobs', contexts: ['main'] },
  { command: 'focus.containers', keys: ['3'], label: 'containers', contexts: ['main'] },

  { command: 'move.up', keys: ['up', 'k'], label: 'up', contexts: MOVE },
  { command: 'move.down', keys: ['down', 'j'], label: 'down', contexts: MOVE },
  { command: 'move.pageUp', keys: ['pageup', 'C-b'], label: 'page up', contexts: MOVE },
  { command: 'move.pageDown', keys: ['pagedown', 'C-f', 'space'], label: 'page down', contexts: MOVE },
  { command: 'move.top', keys: ['home', 'g'], label: 'top', contexts: MOVE },
  { command: 'move.bottom', keys: ['end', 'G'], label: 'bottom', contexts: MOVE },

  { command: 'drill', keys: ['enter'], label: 'containers of node', contexts: ['nodes'], hint: true },
  {
    command: 'nodes.nextProblem',
    keys: ['!'],
    label: 'next problem node (offline, unauthorized, error…)',
    contexts: ['nodes'],
    hint: true,
  },
  {
    command: 'nodes.sortStatus',
    keys: ['S'],
    label: 'sort by status, problems first (again: reversed, then inventory order)',
    contexts: ['nodes'],
    hint: true,
  },
  { command: 'nodes.sortCpu', keys: ['C'], label: 'sort by CPU, busiest first', contexts: ['nodes'] },
  { command: 'nodes.sortMem', keys: ['M'], label: 'sort by MEM, largest first', contexts: ['nodes'] },
  { command: 'nodes.sortLatency', keys: ['L'], label: 'sort by RTT, slowest first', contexts: ['nodes'] },
  { command: 'nodes.sortName', keys: ['N'], label: 'sort by name', contexts: ['nodes'] },
  { command: 'drill', keys: ['enter'], label: 'containers of job', contexts: ['jobs'], hint: true },
  { command: 'drill', keys: ['enter'], label: 'details', contexts: ['containers'], hint: true },
  { command: 'filter.open', keys: ['/'], label: 'filter (regex, !inverse)', contexts: ['table'], hint: true },

  { command: 'logs.follow', keys: ['F'], label: 'follow (resume)', contexts: ['logs'], hint: true },
  { command: 'logs.search', keys: ['/'], label: 'search', contexts: ['logs'], hint: true },
  { command: 'logs.nextMatch', keys: ['n'], label: 'next match', contexts: ['logs'] },
  { command: 'logs.prevMatch', keys: ['N'], label: 'previous match', contexts: ['logs'] },
  { command: 'logs.timestamps', keys: ['t'], label: 'timestamps', contexts: ['logs'], hint: true },
  { command: 'logs.wrap', keys: ['w'], label: 'wrap', contexts: ['logs'], hint: true },
  { command: 'detail.prevTab', keys: ['[', 'left'], label: 'previous tab', contexts: ['detail'] },
  { command: 'detail.nextTab', keys: [']', 'right'], label: 'next tab', contexts: ['detail'], hint: true },
  { command: 'detail.prevTab', keys: ['['], label: 'previous detail tab', contexts: ['main'] },
  { command: 'detail.nextTab', keys: [']'], label: 'next detail tab', contexts: ['main'] },

  { command: 'logs.open', keys: ['l'], label: 'logs', contexts: ['main'], hint: true },
  { command: 'op.deploy', keys: ['d'], label: 'deploy', contexts: ['main'], hint: true },
  { command: 'op.scale', keys: ['s'], label: 'scale', contexts: ['main'], hint: true },
  { command: 'op.promote', keys: ['P'], label: 'promote canary', contexts: ['main'], hint: true },
  { command: 'op.rollback', keys: ['r'], label: 'rollback', contexts: ['main'], hint: true },
  { command: 'op.stop', keys: ['x'], label: 'stop', contexts: ['main'], hint: true },
  { command: 'op.purge', keys: ['p'], label: 'purge', contexts: ['main'], hint: true },
  { command: 'refresh', keys: ['R'], label: 'refresh', contexts: ['main'] },
  {
    command: 'command.open',
    keys: [':'],
    label: 'command (:nodes :jobs :containers :events :q)',
    contexts: ['main'],
    hint: true,
  },
  { command: 'back', keys: ['escape'], label: 'back / close', contexts: ['main'] },
  { command: 'help', keys: ['?'], label: 'help', contexts: ['main'], hint: true },
  { command: 'quit', keys: ['q'], label: 'quit', contexts: ['main'], hint: true },
];

/** `:` commands and their aliases. */
export const COLON_COMMANDS: Readonly<Record<string, { command: string; help: string }>> = {
  nodes: { command: 'nodes', help: 'focus the nodes table' },
  no: { command: 'nodes', help: '' },
  node: { command: 'nodes', help: '' },
  jobs: { command: 'jobs', help: 'focus the jobs table' },
  jo: { command: 'jobs', help: '' },
  job: { command: 'jobs', help: '' },
  containers: { command: 'containers', help: 'all containers of every node' },
  co: { command: 'containers', help: '' },
  ctr: { command: 'containers', help: '' },
  events: { command: 'events', help: 'the event stream of every node' },
  ev: { command: 'events', help: '' },
  logs: { command: 'logs', help: 'logs of the selection' },
  group: { command: 'group', help: 'nodes of one inventory group (:group NAME; :group alone: all nodes)' },
  gr: { command: 'group', help: '' },
  help: { command: 'help', help: 'this help' },
  q: { command: 'quit', help: 'quit' },
  quit: { command: 'quit', help: '' },
  'q!': { command: 'quit', help: '' },
};

/** Contexts that apply in this state, most specific first. */
export function activeContexts(state: TuiState): KeyContext[] {
  const modal = state.modal;
  if (modal) {
    if (modal.kind === 'help') return ['help', 'global'];
    if (modal.kind === 'chooseFile') return ['chooser', 'global'];
    if (modal.kind === 'planning') return ['planning', 'global'];
    if (modal.kind === 'confirm') return ['confirm', 'global'];
    return ['global'];
  }
  if (state.rollout) return ['rollout', 'global'];
  if (state.focus === 'detail') {
    const tab: DetailTab = state.detail.tab;
    return tab === 'logs' ? ['logs', 'detail', 'main', 'global'] : ['detail', 'main', 'global'];
  }
  return [state.focus, 'table', 'main', 'global'];
}

/** True when keys type into a text field (prompts, the purge name). */
export function isTextEntry(state: TuiState): boolean {
  const modal = state.modal;
  if (!modal) return false;
  return modal.kind === 'prompt' || (modal.kind === 'confirm' && modal.typeToConfirm !== null);
}

export interface ResolvedKey {
  command: CommandId;
  /** input.insert: the character typed. */
  char?: string;
}

/** A printable character as our key names spell it (`space` is a space). */
function printable(key: string): string | null {
  if (key === 'space') return ' ';
  return Array.from(key).length === 1 && key >= ' ' ? key : null;
}

export function resolveKey(state: TuiState, key: string): ResolvedKey | null {
  if (isTextEntry(state)) {
    if (key === 'C-c') return { command: 'quit' };
    if (key === 'enter')
      return { command: state.modal?.kind === 'confirm' ? 'confirm.activate' : 'input.submit' };
    if (key === 'escape') return { command: state.modal?.kind === 'confirm' ? 'confirm.no' : 'input.cancel' };
    if (key === 'backspace') return { command: 'input.backspace' };
    if (key === 'C-u') return { command: 'input.clear' };
    const ch = printable(key);
    return ch === null ? null : { command: 'input.insert', char: ch };
  }
  for (const context of activeContexts(state)) {
    const binding = BINDINGS.find((b) => b.contexts.includes(context) && b.keys.includes(key));
    if (binding) return { command: binding.command };
  }
  return null;
}

const KEY_NAMES: Readonly<Record<string, string>> = {
  escape: 'esc',
  'S-tab': 'shift-tab',
  pageup: 'pgup',
  pagedown: 'pgdn',
  'C-c': 'ctrl-c',
  'C-b': 'ctrl-b',
  'C-f': 'ctrl-f',
};

export function keyName(key: string): string {
  return KEY_NAMES[key] ?? key;
}

export interface Hint {
  keys: string;
  label: string;
}

/** Footer hints for the current state, in registry order, one per command. */
export function footerHints(state: TuiState): Hint[] {
  if (isTextEntry(state)) {
    return state.modal?.kind === 'confirm'
      ? [
          { keys: 'type name', label: 'then enter to purge' },
          { keys: 'esc', label: 'cancel' },
        ]
      : [
          { keys: 'enter', label: 'apply' },
          { keys: 'esc', label: 'cancel' },
        ];
  }
  const contexts = activeContexts(state);
  const hints: Hint[] = [];
  const seen = new Set<string>();
  // Most specific context first, so a panel's own hints lead.
  for (const context of contexts) {
    for (const b of BINDINGS) {
      if (!b.hint || !b.contexts.includes(context) || seen.has(b.command)) continue;
      // A key already claimed by a more specific context is not what this binding does here.
      const shadowed = b.keys.every((k) => resolveKey(state, k)?.command !== b.command);
      if (shadowed) continue;
      seen.add(b.command);
      hints.push({ keys: b.keys.map(keyName).join('/'), label: b.label });
    }
  }
  return hints;
}

export interface HelpSection {
  title: string;
  rows: Hint[];
}

const SECTION_TITLES: Readonly<Record<KeyContext, string>> = {
  global: 'Anywhere',
  main: 'General',
  table: 'Tables',
  nodes: 'Nodes',
  jobs: 'Jobs',
  containers: 'Containers',
  detail: 'Detail pane',
  logs: 'Logs',
  help: 'Help',
  chooser: 'Job file chooser',
  planning: 'Planning',
  confirm: 'Confirmation',
  rollout: 'Rollout board',
};

const HELP_ORDER: readonly KeyContext[] = [
  'main',
  'table',
  'nodes',
  'jobs',
  'containers',
  'detail',
  'logs',
  'chooser',
  'confirm',
  'rollout',
  'help',
  'global',
];

/** The `?` screen: every binding, grouped by context, plus the `:` commands. */
export function helpSections(): HelpSection[] {
  const sections: HelpSection[] = [];
  for (const context of HELP_ORDER) {
    const rows: Hint[] = [];
    for (const b of BINDINGS) {
      if (!b.contexts.includes(context)) continue;
      rows.push({ keys: b.keys.map(keyName).join(' '), label: b.label });
    }
    if (rows.length > 0) sections.push({ title: SECTION_TITLES[context], rows });
  }
  sections.push({
    title: 'Commands (:)',
    rows: Object.entries(COLON_COMMANDS)
      .filter(([, c]) => c.help !== '')
      .map(([name, c]) => ({
        keys: `:${name}`,
        label: `${c.help}${aliasesOf(name)}`,
      })),
  });
  return sections;
}

function aliasesOf(name: string): string {
  const target = COLON_COMMANDS[name]?.command;
  const aliases = Object.entries(COLON_COMMANDS)
    .filter(([alias, c]) => alias !== name && c.command === target && c.help === '')
    .map(([alias]) => `:${alias}`);
  return aliases.length > 0 ? ` (${aliases.join(' ')})` : '';
}

/** What a terminal library reports for a key press (blessed's shape). */
export interface RawKey {
  name?: string;
  full?: string;
  ctrl?: boolean;
  meta?: boolean;
  shift?: boolean;
}

const NAMED_KEYS = new Set([
  'tab',
  'escape',
  'up',
  'down',
  'left',
  'right',
  'pageup',
  'pagedown',
  'home',
  'end',
  'backspace',
  'delete',
  'enter',
]);

/**
 * Our key name for a raw key press, or null for keys we ignore. Enter arrives twice from
 * blessed (`return`, then `enter`): only `enter` counts.
 */
export function keyNameOf(ch: string | undefined, key: RawKey | undefined): string | null {
  const name = key?.name;
  if (name === 'return' || name === 'linefeed') return null;
  if (name === 'enter') return 'enter';
  if (key?.ctrl && name) return `C-${name}`;
  if (key?.meta) return null;
  if (name === 'space' || ch === ' ') return 'space';
  if (name && NAMED_KEYS.has(name)) return key?.shift ? `S-${name}` : name;
  if (ch !== undefined && Array.from(ch).length === 1 && ch >= ' ' && ch !== '\x7f') return ch;
  return null;
}
