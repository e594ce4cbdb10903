/**
 * The reducer: (state, action) → the next state and the effects it calls for. Pure; untouched
 * parts of the state keep their identity so the memoised selectors skip work. This file only
 * dispatches: fleet facts go to `reduce/fleet.ts`, operation answers to `reduce/rollout.ts`, and
 * key commands through one registry merged from the rooms' command tables.
 */
import type { Action } from './actions.js';
import { type Step, step, toStep } from './effects.js';
import type { CommandId } from './keymap.js';
import { auditDue, auditRead, auditTick } from './reduce/audit.js';
import { fleetCommands, reduceFleet } from './reduce/fleet.js';
import { navigationCommands } from './reduce/navigation.js';
import { nodeViewCommands } from './reduce/node-view.js';
import { promptCommands } from './reduce/prompts.js';
import { reduceRollout, rolloutCommands } from './reduce/rollout.js';
import type { CommandHandler } from './reduce/room.js';
import { flash } from './reduce/room.js';
import type { TuiState } from './state.js';

/** Every key command's handler; the type makes a command without one a compile error. */
const COMMANDS: Readonly<Record<CommandId, CommandHandler>> = {
  ...navigationCommands,
  ...promptCommands,
  ...rolloutCommands,
  ...fleetCommands,
  ...nodeViewCommands,
};

export function runCommand(state: TuiState, command: CommandId, char?: string): Step {
  return toStep(COMMANDS[command](state, char));
}

export function reduce(state: TuiState, action: Action): Step {
  switch (action.type) {
    case 'tick':
      return auditTick(action.now === state.now ? state : { ...state, now: action.now });
    case 'auditRead':
      return step(auditRead(state, action));
    case 'resize':
      return step(
        action.width === state.screen.width && action.height === state.screen.height
          ? state
          : { ...state, screen: { width: action.width, height: action.height } },
      );
    case 'command':
      return runCommand(state, action.command, action.char);
    case 'flash':
      return step(flash(state, action.text, action.level));
    case 'feedState':
    case 'feedEvent':
    case 'statsBatch':
    case 'nodeSummary':
    case 'summaryUnsupported':
    case 'feedRtt':
    case 'feedBatch':
    case 'logLines':
    case 'nodeProbed':
    case 'nodeProbeFailed':
      return toStep(reduceFleet(state, action));
    case 'jobFilesListed':
    case 'planStarted':
    case 'planReady':
    case 'planFailed':
    case 'rolloutProgress':
    case 'rolloutWave':
    case 'rolloutNode':
    case 'rolloutFinished': {
      const done = toStep(reduceRollout(state, action));
      return action.type === 'rolloutFinished' ? { ...done, state: auditDue(done.state) } : done;
    }
  }
}
