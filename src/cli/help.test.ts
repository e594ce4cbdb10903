/**
 * Help that teaches: every registered command shows two or three real examples in `--help`,
 * and each example is a command line this CLI accepts (it routes to that command, its flags
 * exist, its arguments fit), so an example cannot go stale when a flag is renamed.
 */
import { describe, expect, it } from 'vitest';
import { splitShellWords } from '../core/shell-words.js';
import { UsageError } from './command.js';
import { loadCommands } from './commands/index.js';
import { commandHelp, resolveInvocation } from './main.js';

const commands = await loadCommands();

describe.each(commands.map((c) => [c.path.join(' '), c] as const))('dokkup %s --help', (_name, command) => {
  it('has two or three examples, each a command line that runs this command', () => {
    expect(command.examples.length).toBeGreaterThanOrEqual(2);
    expect(command.examples.length).toBeLessThanOrEqual(3);
    for (const example of command.examples) {
      expect(example.does.trim()).not.toBe('');
      // A redirection or a pipe after the command line is the shell's, not dokkup's.
      const [program, ...argv] = splitShellWords(example.run.split(/\s[|>]\s/)[0]!);
      expect(program).toBe('dokkup');
      let resolved: ReturnType<typeof resolveInvocation>;
      try {
        resolved = resolveInvocation(argv, commands);
      } catch (error) {
        const reason = error instanceof UsageError ? error.message : String(error);
        throw new Error(`example "${example.run}" is not a valid command line: ${reason}`);
      }
      expect(resolved?.command, example.run).toBe(command);
    }
  });

  it('prints its options and then its examples', () => {
    const help = commandHelp(command);
    const options = help.indexOf('\nOptions:\n');
    const examples = help.indexOf('\nExamples:\n');
    expect(options).toBeGreaterThan(0);
    expect(examples).toBeGreaterThan(options);
    for (const example of command.examples) {
      expect(help).toContain(`  # ${example.does}\n  ${example.run}\n`);
    }
  });
});

describe('resolveInvocation', () => {
  it('refuses what a run would refuse: unknown flags, missing and extra arguments', () => {
    expect(() => resolveInvocation(['run', 'job', '--bogus', 'web.yaml'], commands)).toThrow(
      /unknown option --bogus/,
    );
    expect(() => resolveInvocation(['run', 'job'], commands)).toThrow(/missing FILE/);
    expect(() => resolveInvocation(['show', 'nodes', 'extra'], commands)).toThrow(
      /unexpected argument "extra"/,
    );
    expect(resolveInvocation(['plan', 'job', 'x.yaml', '-i', 'inv.yaml'], commands)?.flags['inventory']).toBe(
      'inv.yaml',
    );
  });
});
