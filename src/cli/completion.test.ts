/**
 * The completion scripts come from the registry: every command word and every flag of every
 * command is in each of them, and a command added to the registry is completed with no other
 * change. (What the scripts do in real bash, zsh and fish: test/e2e/completion.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { type Command, flagsOf, kebab } from './command.js';
import { loadCommands } from './commands/index.js';
import { completionScript, SHELLS } from './completion.js';

const commands = await loadCommands();

const flagNames = (command: Command) =>
  Object.entries(flagsOf(command)).flatMap(([name, flag]) => [
    name === 'color' ? '--no-color' : `--${kebab(name)}`,
    ...(flag.shortFlag ? [`-${flag.shortFlag}`] : []),
  ]);

describe.each(SHELLS)('dokkup completion %s', (shell) => {
  const script = completionScript(shell, commands);

  it('knows every command path and every flag of every command', () => {
    for (const command of commands) {
      expect(script).toContain(`'${command.path.join(' ')}'`);
      for (const flag of flagNames(command)) {
        expect(script, `${command.path.join(' ')} ${flag}`).toMatch(
          new RegExp(
            `(^|[\\s'(:|])${flag.replace(/^-+/, (d) => (shell === 'fish' ? `-${d.length === 2 ? 'l ' : 's '}` : d))}\\b`,
          ),
        );
      }
    }
  });

  it('completes a command added to the registry, its flags and its argument words', () => {
    const frob: Command = {
      path: ['frob', 'thing'],
      summary: 'Frobs a thing',
      usage: 'KIND',
      flags: { wibbleLevel: { type: 'number', valueName: 'N', description: 'How much to wibble' } },
      examples: [],
      args: { min: 1, max: 1, names: 'KIND' },
      argChoices: ['alpha', 'beta'],
      run: async () => 0,
    };
    const extended = completionScript(shell, [...commands, frob]);
    expect(script).not.toContain('frob');
    expect(extended).toContain("'frob thing'");
    expect(extended).toMatch(shell === 'fish' ? /-l wibble-level -x/ : /--wibble-level/);
    expect(extended).toContain(shell === 'zsh' ? "'alpha beta'" : 'alpha beta');
  });

  it('offers job files by their extensions', () => {
    expect(script).toMatch(
      shell === 'zsh' ? /\*\.\(yaml\|yml\)/ : shell === 'bash' ? /\*\.yaml.*\*\.yml/ : /ya\?ml/,
    );
  });
});
