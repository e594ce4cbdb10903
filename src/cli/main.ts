/**
 * The operator CLI: finds the command by its words (`run job`), parses its flags with meow
 * (before or after the file, in any order), runs it, and turns what it throws into a message
 * and an exit code. Nothing below this function prints a stack trace unless `DEBUG=dokkup`.
 */
import process from 'node:process';
import meow, { type AnyFlag } from 'meow';
import { inputErrorsOf } from '../core/errors.js';
import { ExitCode } from '../core/outcome.js';
import { terminalText } from '../core/terminal-text.js';
import {
  COMMON_FLAGS,
  type Command,
  type CommandContext,
  type FlagDefinition,
  type FlagValues,
  flagsOf,
  kebab,
  UsageError,
} from './command.js';
import { type CommandLoader, commandLoaders, loadCommands } from './commands/index.js';
import { type CliIO, colorEnabled, makeStyle, processIO } from './io.js';

export interface RunCliOptions {
  io?: CliIO;
  /** Handle Ctrl-C (default: when running on the real process streams). */
  handleSignals?: boolean;
  commands?: readonly Command[];
}

export async function runCli(argv: readonly string[], options: RunCliOptions = {}): Promise<number> {
  const io = options.io ?? processIO();
  try {
    const commands = options.commands ?? (await commandsFor(argv, commandLoaders));
    const found = route(argv, commands, io);
    if (typeof found === 'number') return found;
    const handleSignals = (options.handleSignals ?? options.io === undefined) && !found.command.ownsSignals;
    return await withSignals(handleSignals, io, (signal) =>
      runParsed(found.command, found.parsed, io, signal),
    );
  } catch (error) {
    return reportError(error, io);
  }
}

/**
 * The commands `route` needs for argv: when argv starts with a command's words (`run job …`,
 * `version`), only that command's module is loaded; otherwise (flags first, help, a family's
 * list, a typo) every command is.
 */
async function commandsFor(argv: readonly string[], loaders: readonly CommandLoader[]): Promise<Command[]> {
  const leading = leadingWords(argv);
  const named = [...loaders]
    .sort((a, b) => b.path.length - a.path.length)
    .find((c) => startsWith(leading, c.path));
  return named ? [await named.load()] : loadCommands();
}

/** Ctrl-C aborts the signal (no further nodes are contacted); a second one exits at once. */
async function withSignals(
  handleSignals: boolean,
  io: CliIO,
  run: (signal: AbortSignal) => Promise<number>,
): Promise<number> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      controller.abort();
      io.stderr.write(
        '\nInterrupted: no further nodes will be contacted; waiting for the ones in progress (Ctrl-C again to quit at once)\n',
      );
    } else {
      process.exit(ExitCode.interrupted);
    }
  };
  // `dokkup … | head` closes our stdout early: that is the reader's choice, not an error.
  const onStdoutError = (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  };
  if (handleSignals) {
    process.on('SIGINT', onSigint);
    process.stdout.on('error', onStdoutError);
  }
  try {
    return await run(controller.signal);
  } finally {
    if (handleSignals) {
      process.off('SIGINT', onSigint);
      process.stdout.off('error', onStdoutError);
    }
  }
}

/**
 * Finds the command named by argv's words and parses argv for it, or answers at once (help,
 * a family's list of commands) with an exit code.
 */
function route(
  argv: readonly string[],
  commands: readonly Command[],
  io: Pick<CliIO, 'stdout' | 'stderr'>,
): { command: Command; parsed: Parsed } | number {
  const first = argv[0];
  if (
    argv.length === 0 ||
    first === 'help' ||
    (argv.length === 1 && (first === '--help' || first === '-h'))
  ) {
    io.stdout.write(topHelp(commands));
    return argv.length === 0 ? ExitCode.invalidInput : ExitCode.ok;
  }
  if (argv.length === 1 && (first === '--version' || first === '-v')) {
    const version = commands.find((c) => c.path.join(' ') === 'version');
    if (version) return { command: version, parsed: parseFor(version, []) };
  }

  const words = wordsOf(argv, commands);
  const command = [...commands]
    .sort((a, b) => b.path.length - a.path.length)
    .find((c) => startsWith(words, c.path));
  if (command) return { command, parsed: parseFor(command, argv) };

  // Words that start some command (`dokkup run`, `dokkup show --help`): list what follows.
  const leading = leadingWords(argv);
  const family = commands.filter((c) => leading.length > 0 && startsWith(c.path, leading));
  if (family.length > 0) {
    const help = argv.includes('--help') || argv.includes('-h');
    (help ? io.stdout : io.stderr).write(familyHelp(leading, family));
    return help ? ExitCode.ok : ExitCode.invalidInput;
  }
  throw new UsageError(`unknown command "${leading.join(' ') || argv.join(' ')}"`);
}

interface Parsed {
  flags: FlagValues;
  input: string[];
  unnormalized: Record<string, unknown>;
}

/** meow's declaration of a command's flags. */
function meowFlags(flags: Record<string, FlagDefinition>, withDefaults: boolean) {
  const declared: Record<string, AnyFlag> = {};
  for (const [name, flag] of Object.entries(flags)) {
    declared[name] = {
      type: flag.type,
      ...(flag.shortFlag ? { shortFlag: flag.shortFlag } : {}),
      ...(flag.aliases ? { aliases: flag.aliases } : {}),
      ...(flag.isMultiple ? { isMultiple: true } : {}),
      ...(withDefaults && flag.default !== undefined ? { default: flag.default } : {}),
    } as AnyFlag;
  }
  return declared;
}

function parseWith(argv: readonly string[], flags: Record<string, AnyFlag>) {
  return meow({
    importMeta: import.meta,
    argv: [...argv],
    // Parsed, not acted on: help, version and unknown flags are handled here, never by an exit.
    autoHelp: false,
    autoVersion: false,
    allowUnknownFlags: true,
    pkg: { name: 'dokkup' },
    description: false,
    booleanDefault: undefined,
    flags,
  });
}

/**
 * The command's words, found the way meow's `commands` option finds a one-word command: a first
 * parse that only needs to know which flags take a value (so that `-i FILE` is not a word). The
 * flag names of all commands agree on their types (a test in main.test.ts keeps it so).
 */
function wordsOf(argv: readonly string[], commands: readonly Command[]): string[] {
  const types: Record<string, FlagDefinition> = {};
  for (const command of commands) Object.assign(types, flagsOf(command));
  try {
    return parseWith(argv, meowFlags(types, false)).input.map(String);
  } catch {
    return leadingWords(argv);
  }
}

/** The one parse of argv for the command found: its flags, with their types and defaults. */
function parseFor(command: Command, argv: readonly string[]): Parsed {
  try {
    const result = parseWith(argv, meowFlags(flagsOf(command), true));
    return {
      flags: result.flags as FlagValues,
      input: result.input.map(String),
      unnormalized: result.unnormalizedFlags as Record<string, unknown>,
    };
  } catch (error) {
    throw new UsageError((error as Error).message, command);
  }
}

async function runParsed(command: Command, parsed: Parsed, io: CliIO, signal: AbortSignal): Promise<number> {
  if (parsed.flags['help'] === true) {
    io.stdout.write(commandHelp(command));
    return ExitCode.ok;
  }
  const args = checkedArgs(command, parsed);
  const color = colorEnabled(io.stdout, io.env, parsed.flags['color'] as boolean | undefined);
  const context: CommandContext = { flags: parsed.flags, args, io, signal, style: makeStyle(color) };
  try {
    return await command.run(context);
  } catch (error) {
    if (error instanceof UsageError && !error.command) throw new UsageError(error.message, command);
    throw error;
  }
}

/** The positional arguments after the command's words, once flags and arity are checked. */
function checkedArgs(command: Command, parsed: Parsed): string[] {
  const unknown = unknownFlags(command, parsed.unnormalized);
  if (unknown.length > 0) {
    throw new UsageError(`unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`, command);
  }
  const args = parsed.input.slice(command.path.length);
  if (args.length < command.args.min) {
    throw new UsageError(`missing ${command.args.names ?? 'arguments'}`, command);
  }
  if (args.length > command.args.max) {
    const extra = args.slice(command.args.max);
    throw new UsageError(
      `unexpected argument${extra.length > 1 ? 's' : ''} ${extra.map((a) => `"${a}"`).join(' ')}`,
      command,
    );
  }
  return args;
}

/**
 * What argv would run, without running it: the command, its flags and arguments, checked as a
 * run checks them (throws the same UsageError). For the tests of `--help` examples.
 */
export function resolveInvocation(
  argv: readonly string[],
  commands: readonly Command[],
): { command: Command; flags: FlagValues; args: string[] } | undefined {
  const silent = { write: () => true, isTTY: false };
  const found = route(argv, commands, { stdout: silent, stderr: silent });
  if (typeof found === 'number') return undefined;
  return {
    command: found.command,
    flags: found.parsed.flags,
    args: checkedArgs(found.command, found.parsed),
  };
}

function unknownFlags(command: Command, given: Record<string, unknown>): string[] {
  const known = new Set<string>();
  for (const [name, flag] of Object.entries(flagsOf(command))) {
    known.add(name);
    known.add(kebab(name));
    if (flag.shortFlag) known.add(flag.shortFlag);
    for (const alias of flag.aliases ?? []) {
      known.add(alias);
      known.add(kebab(alias));
    }
  }
  return Object.keys(given)
    .filter((key) => key !== '_' && key !== '--' && !known.has(key))
    .map((key) => (key.length === 1 ? `-${key}` : `--${kebab(key)}`));
}

function leadingWords(argv: readonly string[]): string[] {
  const words: string[] = [];
  for (const arg of argv) {
    if (arg.startsWith('-')) break;
    words.push(arg);
  }
  return words;
}

function startsWith(list: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= list.length && prefix.every((word, i) => list[i] === word);
}

/** Flag names used by several commands with different types (must be none: see `wordsOf`). */
export function conflictingFlagTypes(commands: readonly Command[]): string[] {
  const types = new Map<string, string>();
  const conflicts = new Set<string>();
  for (const command of commands) {
    for (const [name, flag] of Object.entries(flagsOf(command))) {
      for (const key of [name, ...(flag.shortFlag ? [flag.shortFlag] : []), ...(flag.aliases ?? [])]) {
        const seen = types.get(key);
        if (seen !== undefined && seen !== flag.type) conflicts.add(key);
        types.set(key, flag.type);
      }
    }
  }
  return [...conflicts];
}

// ---------------------------------------------------------------------------------------------
// Help

const EXIT_CODES = `Exit codes:
  0    done, or nothing to do
  1    failed on some node, or declined at the prompt
  2    invalid input (files, flags, arguments)
  3    some nodes unreachable (OFFLINE) or UNAUTHORIZED
  130  interrupted (Ctrl-C)
`;

function commandLine(command: Command): string {
  return ['dokkup', ...command.path, command.usage].filter(Boolean).join(' ');
}

function table(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}   ${right}`).join('\n');
}

export function topHelp(commands: readonly Command[]): string {
  const rows: [string, string][] = commands.map((c) => [
    [...c.path, c.args.names ?? ''].filter(Boolean).join(' '),
    c.summary,
  ]);
  return `dokkup: containers across one server or ten thousand, with no master node

Usage: dokkup <command> [options]

Commands:
${table(rows)}

Run \`dokkup <command> --help\` for a command's options. Flags may come before or after FILE.

${EXIT_CODES}`;
}

function familyHelp(words: readonly string[], family: readonly Command[]): string {
  const rows: [string, string][] = family.map((c) => [commandLine(c).replace(/^dokkup /, ''), c.summary]);
  return `Usage: dokkup ${words.join(' ')} <${family.map((c) => c.path.slice(words.length).join(' ')).join('|')}> ...\n\n${table(rows)}\n`;
}

export function commandHelp(command: Command): string {
  const flags = { ...command.flags, ...COMMON_FLAGS };
  const rows: [string, string][] = Object.entries(flags)
    .filter(([, flag]) => !flag.hidden)
    .map(([name, flag]) => {
      const long =
        name === 'color' ? '--no-color' : `--${kebab(name)}${flag.valueName ? ` ${flag.valueName}` : ''}`;
      return [`${flag.shortFlag ? `-${flag.shortFlag}, ` : '    '}${long}`, flag.description];
    });
  const description = command.description ? `\n${command.description}\n` : '';
  const examples = command.examples.map((e) => `  # ${e.does}\n  ${e.run}`).join('\n\n');
  return `Usage: ${commandLine(command)}

${command.summary}
${description}
Options:
${table(rows)}
${examples ? `\nExamples:\n${examples}\n` : ''}
${command.exitCodes ?? EXIT_CODES}`;
}

// ---------------------------------------------------------------------------------------------
// Errors → message + exit code

function reportError(error: unknown, io: CliIO): number {
  const inputErrors = inputErrorsOf(error);
  if (inputErrors) {
    for (const inputError of inputErrors) io.stderr.write(`${terminalText(inputError.format())}\n`);
    return ExitCode.invalidInput;
  }
  if (error instanceof UsageError) {
    const helpFor = error.command ? `dokkup ${error.command.path.join(' ')} --help` : 'dokkup --help';
    io.stderr.write(`dokkup: ${terminalText(error.message)}\nRun \`${helpFor}\` for usage.\n`);
    return ExitCode.invalidInput;
  }
  const debug = (io.env['DEBUG'] ?? '').split(/[\s,]+/).some((token) => token === 'dokkup' || token === '*');
  const message = error instanceof Error ? error.message : String(error);
  // The message may be an agent's: shown, never obeyed.
  io.stderr.write(`dokkup: ${terminalText(message.split('\n')[0] || 'unexpected error')}\n`);
  if (debug && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
  return ExitCode.failed;
}
