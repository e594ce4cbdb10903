/**
 * What the rooms of the reducer share: the flash message, and the shape of a room's key-command
 * table (the dispatcher, `reducer.ts`, merges the rooms' tables into one registry).
 */
import type { Step } from '../effects.js';
import type { CommandId } from '../keymap.js';
import { FLASH_MS, type Flash, type TuiState } from '../state.js';

/** A command's effect on the state; `char` is the character typed (`input.insert`). */
export type CommandHandler = (state: TuiState, char: string | undefined) => TuiState | Step;

export type CommandTable = Partial<Record<CommandId, CommandHandler>>;

/** The state with a status-line message that lasts `FLASH_MS`. */
export function flash(state: TuiState, text: string, level: Flash['level']): TuiState {
  return { ...state, flash: { text, level, until: state.now + FLASH_MS } };
}
