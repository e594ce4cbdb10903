/**
 * What a CLI command is. Each command lives in its own file in `commands/`, exports one
 * `Command` that declares its flags (meow's types, short flags, aliases, defaults, plus a line
 * of help), and is listed once in `commands/index.ts`; `main.ts` finds it by its words
 * (`run job`), parses argv once with meow against its flags, checks them, and calls `run`.
 */
import { DokkupError } from '../core/errors.js';
import type { CliIO, Style } from './io.js';

export interface FlagDefinition {
  type: 'string' | 'boolean' | 'number';
  shortFlag?: string;
  /** Other long names meow accepts for it. */
  aliases?: string[];
  default?: string | boolean | number;
  /** One line for `--help`. */
  description: string;
  /** Placeholder in `--help`, e.g. `FILE`, `N`. */
  valueName?: string;
  /** Left out of `--help` (still accepted). */
  hidden?: boolean;
  /** May be given more than once (string flags): the value is then a list. */
  isMultiple?: boolean;
}

/** One example in `--help`: a real command line and what it does. */
export interface CommandExample {
  /** What it does, one line (printed as a `#` comment above the command). */
  does: string;
  /** The command line, starting with `dokkup` and the command's words. */
  run: string;
}

export type FlagValues = Record<string, string | boolean | number | string[] | undefined>;

export interface CommandContext {
  /** Parsed flags, camelCase keys, defaults applied. */
  flags: FlagValues;
  /** Positional arguments after the command's words. */
  args: string[];
  io: CliIO;
  /** Aborted on Ctrl-C: stop starting new work, let work in progress finish. */
  signal: AbortSignal;
  /** Colours for stdout (plain when not a terminal, `NO_COLOR` or `--no-color`). */
  style: Style;
}

export interface Command {
  /** The words that select it: `['run', 'job']`. */
  path: readonly string[];
  /** One line for the command list. */
  summary: string;
  /** After `dokkup <path>` in the usage line, e.g. `[options] FILE`. */
  usage: string;
  /** Paragraphs for `--help`. */
  description?: string;
  /** Flags besides the ones every command has (`--help`, `--no-color`). */
  flags: Record<string, FlagDefinition>;
  /** How many positional arguments it takes. */
  args: { min: number; max: number; names?: string };
  /**
   * The words its arguments are (`dokkup schema job|inventory`), for shell completion; without
   * it, an argument is a job (or inventory) file and completion offers `*.yaml` / `*.yml`.
   */
  argChoices?: readonly string[];
  /**
   * Two or three real command lines for `--help` (as `kubectl` and `nomad` show them); a test
   * parses each against this command's flags, so they cannot go stale.
   */
  examples: readonly CommandExample[];
  /** The `Exit codes:` section of its `--help` (default: the CLI's, see main.ts). */
  exitCodes?: string;
  /**
   * It handles SIGINT/SIGTERM itself (the agent: a graceful shutdown), so the CLI neither turns
   * Ctrl-C into `signal` nor exits on a second one.
   */
  ownsSignals?: boolean;
  run(context: CommandContext): Promise<number>;
}

/** Wrong flags or arguments: printed with a pointer to `--help`, exit code 2. */
export class UsageError extends DokkupError<'usage'> {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly command?: Command,
  ) {
    super('usage', message);
  }
}

// ---------------------------------------------------------------------------------------------
// Flags shared by several commands

/** Flags every command takes. */
export const COMMON_FLAGS: Record<string, FlagDefinition> = {
  color: {
    type: 'boolean',
    default: true,
    description: 'No colours (colour is only ever used on a terminal; NO_COLOR also turns it off)',
  },
  help: { type: 'boolean', shortFlag: 'h', default: false, description: 'Show this help' },
};

/** A command's flags and the common ones. */
export function flagsOf(command: Command): Record<string, FlagDefinition> {
  return { ...command.flags, ...COMMON_FLAGS };
}

export const inventoryFlag: Record<string, FlagDefinition> = {
  inventory: {
    type: 'string',
    shortFlag: 'i',
    default: 'inventory.yaml',
    valueName: 'FILE',
    description: 'Inventory file (default: inventory.yaml in the working directory)',
  },
};

export const fanOutFlags: Record<string, FlagDefinition> = {
  parallel: {
    type: 'number',
    // The Cluster's DEFAULT_CONCURRENCY (a test keeps them equal; importing it here would load
    // the HTTP client for every command, `version` included).
    default: 512,
    valueName: 'N',
    description: 'Most nodes contacted at once (default 512; fewer while this machine is the limit)',
  },
  timeout: {
    type: 'number',
    default: 30,
    valueName: 'SECONDS',
    description: 'Per-node request timeout in seconds (default 30; connecting gets at most 5)',
  },
};

/** `--json`; commands whose JSON is not one `cli-json.ts` document say what it is instead. */
export function jsonFlag(
  description = 'Print one JSON document (schema: src/protocol/cli-json.ts)',
): Record<string, FlagDefinition> {
  return { json: { type: 'boolean', default: false, description } };
}

export const yesFlag: Record<string, FlagDefinition> = {
  yes: {
    type: 'boolean',
    shortFlag: 'y',
    default: false,
    description: 'Proceed without asking for confirmation',
  },
};

/** `-i`, `--parallel`, `--timeout`, `--json`: what every command reading a job file takes. */
export const jobReadFlags: Record<string, FlagDefinition> = {
  ...inventoryFlag,
  ...fanOutFlags,
  ...jsonFlag(),
};

// ---------------------------------------------------------------------------------------------
// Typed access to flag values (checked, so a command never sees NaN or a missing value)

export function stringFlag(flags: FlagValues, name: string): string {
  const value = flags[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${kebab(name)} needs a value`);
  return value;
}

export function optionalStringFlag(flags: FlagValues, name: string): string | undefined {
  const value = flags[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${kebab(name)} needs a value`);
  return value;
}

/** A repeatable string flag's values (`--bind-root A --bind-root B`), empty when not given. */
export function stringListFlag(flags: FlagValues, name: string): string[] {
  const value = flags[name];
  const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
  for (const item of list) {
    if (typeof item !== 'string' || item === '') throw new UsageError(`--${kebab(name)} needs a value`);
  }
  return list as string[];
}

export function booleanFlag(flags: FlagValues, name: string): boolean {
  return flags[name] === true;
}

export function positiveIntFlag(flags: FlagValues, name: string, max = Number.MAX_SAFE_INTEGER): number {
  const value = flags[name];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new UsageError(`--${kebab(name)} must be a whole number from 1 to ${max}`);
  }
  return value;
}

export function positiveNumberFlag(flags: FlagValues, name: string): number {
  const value = flags[name];
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(`--${kebab(name)} must be a positive number`);
  }
  return value;
}

export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
