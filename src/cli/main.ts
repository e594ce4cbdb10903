/**
 * The operator CLI: finds the command by its words (`run job`), parses its flags with meow
 * (before or after the file, in any order), runs it, and turns what it throws into a message
 * and an exit code. Nothing below this function prints a stack trace unless `DEBUG=dokkup`.
 */
import process from 'node:process';
import meow from 'meow';
import { ExitCode } from '../core/outcome.js';
import {
  type Command,
  type CommandContext,
  type FlagDefinition,
  type FlagValues,
  kebab,
  UsageError,
} from './command.js';
import { commands as registeredCommands } from './commands/index.js';
import { inputErrorsOf } from './context.js';
import { type CliIO, colorEnabled, makeStyle, processIO } from './io.js';

export interface RunCliOptions {
  io?: CliIO;
  /** Handle Ctrl-C (default: when running on the real process streams). */
  handleSignals?: boolean;
  commands?: readonly Command[];
}

/** Flags every command takes. */
const COMMON_FLAGS: Record<string, FlagDefinition> = {
  color: {
    type: 'boolean',
    default: true,
    description: 'No colours (colour is only ever used on a terminal; NO_COLOR also turns it off)',
  },
  help: { type: 'boolean', shortFlag: 'h', default: false, description: 'Show this help' },
};

export async function runCli(argv: readonly string[], options: RunCliOptions = {}): Promise<number> {
  const io = options.io ?? processIO();
  const handleSignals = options.handleSignals ?? options.io === undefined;
  const commands = options.commands ?? registeredCommands;
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
    return await dispatch(argv, io, commands, controller.signal);
  } catch (error) {
    return reportError(error, io);
  } finally {
    if (handleSignals) {
      process.off('SIGINT', onSigint);
      process.stdout.off('error', onStdoutError);
    }
  }
}

async function dispatch(
  argv: readonly string[],
  io: CliIO,
  commands: readonly Command[],
  signal: AbortSignal,
): Promise<number> {
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
    if (version) return runParsed(version, [], io, signal);
  }

  const match = findCommand(argv, commands);
  if (!match) {
    // Words that start some command (`dokkup run`, `dokkup show --help`): list what follows.
    const words = leadingWords(argv);
    const family = commands.filter((c) => words.length > 0 && startsWith(c.path, words));
    if (family.length > 0) {
      const help = argv.includes('--help') || argv.includes('-h');
      (help ? io.stdout : io.stderr).write(familyHelp(words, family));
      return help ? ExitCode.ok : ExitCode.invalidInput;
    }
    throw new UsageError(`unknown command "${words.join(' ') || argv.join(' ')}"`);
  }
  return runParsed(match.command, argv, io, signal, match.parsed);
}

interface Parsed {
  flags: FlagValues;
  input: string[];
  unnormalized: Record<string, unknown>;
}

function parseFor(command: Command, argv: readonly string[]): Parsed {
  const flags = { ...command.flags, ...COMMON_FLAGS };
  const meowFlags: Record<string, { type: FlagDefinition['type']; shortFlag?: string; default?: unknown }> =
    {};
  for (const [name, flag] of Object.entries(flags)) {
    meowFlags[name] = {
      type: flag.type,
      ...(flag.shortFlag ? { shortFlag: flag.shortFlag } : {}),
      ...(flag.default !== undefined ? { default: flag.default } : {}),
    };
  }
  let result: ReturnType<typeof meow>;
  try {
    result = meow({
      importMeta: import.meta,
      argv: [...argv],
      // Parsed, not acted on: help, version and unknown flags are handled here, never by an exit.
      autoHelp: false,
      autoVersion: false,
      allowUnknownFlags: true,
      pkg: { name: 'dokkup' },
      description: false,
      booleanDefault: undefined,
      // biome-ignore lint/suspicious/noExplicitAny: meow's flag typing is a deep generic
      flags: meowFlags as any,
    });
  } catch (error) {
    throw new UsageError((error as Error).message, command);
  }
  return {
    flags: result.flags as FlagValues,
    input: result.input.map(String),
    unnormalized: result.unnormalizedFlags as Record<string, unknown>,
  };
}

function findCommand(
  argv: readonly string[],
  commands: readonly Command[],
): { command: Command; parsed: Parsed } | undefined {
  const byLength = [...commands].sort((a, b) => b.path.length - a.path.length);
  for (const command of byLength) {
    let parsed: Parsed;
    try {
      parsed = parseFor(command, argv);
    } catch {
      continue;
    }
    if (startsWith(parsed.input, command.path)) return { command, parsed };
  }
  return undefined;
}

async function runParsed(
  command: Command,
  argv: readonly string[],
  io: CliIO,
  signal: AbortSignal,
  parsed: Parsed = parseFor(command, argv),
): Promise<number> {
  if (parsed.flags['help'] === true) {
    io.stdout.write(commandHelp(command));
    return ExitCode.ok;
  }
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
  const color = colorEnabled(io.stdout, io.env, parsed.flags['color'] as boolean | undefined);
  const context: CommandContext = { flags: parsed.flags, args, io, signal, style: makeStyle(color) };
  try {
    return await command.run(context);
  } catch (error) {
    if (error instanceof UsageError && !error.command) throw new UsageError(error.message, command);
    throw error;
  }
}

function unknownFlags(command: Command, given: Record<string, unknown>): string[] {
  const known = new Set<string>();
  for (const [name, flag] of Object.entries({ ...command.flags, ...COMMON_FLAGS })) {
    known.add(name);
    known.add(kebab(name));
    if (flag.shortFlag) known.add(flag.shortFlag);
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
  rows.push(['agent', 'Run the node agent (see dokkup agent --help)']);
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
  return `Usage: ${commandLine(command)}

${command.summary}
${description}
Options:
${table(rows)}

${EXIT_CODES}`;
}

// ---------------------------------------------------------------------------------------------
// Errors → message + exit code

function reportError(error: unknown, io: CliIO): number {
  const inputErrors = inputErrorsOf(error);
  if (inputErrors) {
    for (const inputError of inputErrors) io.stderr.write(`${inputError.format()}\n`);
    return ExitCode.invalidInput;
  }
  if (error instanceof UsageError) {
    const helpFor = error.command ? `dokkup ${error.command.path.join(' ')} --help` : 'dokkup --help';
    io.stderr.write(`dokkup: ${error.message}\nRun \`${helpFor}\` for usage.\n`);
    return ExitCode.invalidInput;
  }
  const debug = (io.env['DEBUG'] ?? '').split(/[\s,]+/).some((token) => token === 'dokkup' || token === '*');
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`dokkup: ${message.split('\n')[0] || 'unexpected error'}\n`);
  if (debug && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
  return ExitCode.failed;
}
