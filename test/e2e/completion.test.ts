/**
 * `dokkup completion bash|zsh|fish` in the real shells: the built CLI prints each script, the
 * shell parses it (`bash -n`, `zsh -n`, `fish -n`), and completing a few command lines in a
 * directory holding job files, another file and a subdirectory offers what a user expects.
 *
 * bash: `_dokkup` driven through COMP_WORDS / COMP_CWORD as readline would; fish: its own
 * `complete -C`; zsh: `_dokkup` with the completion system's builtins replaced by printers (the
 * words it would offer), plus compinit registering it. Needs bash, zsh and fish (.ci/run
 * installs them; `apt-get install zsh fish` elsewhere).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentBinary } from '../harness/agent-process.js';
import { hasCommand, run } from '../harness/proc.js';

let dir: string;
const scripts: Record<string, string> = {};

beforeAll(async () => {
  const missing = ['bash', 'zsh', 'fish'].filter((shell) => !hasCommand(shell));
  if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}: apt-get install -y zsh fish`);
  dir = mkdtempSync(path.join(tmpdir(), 'dokkup-completion-'));
  for (const file of ['web.yaml', 'prod.yml', 'notes.txt']) writeFileSync(path.join(dir, file), '');
  mkdirSync(path.join(dir, 'jobs'));
  for (const shell of ['bash', 'zsh', 'fish']) {
    const printed = await run(process.execPath, [agentBinary(), 'completion', shell], { cwd: dir });
    scripts[shell] = path.join(dir, `.completion.${shell}`);
    writeFileSync(scripts[shell], printed.stdout);
  }
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** What each shell offers for these command lines (the last word is the one being completed). */
const CASES: [line: string, offered: string[]][] = [
  [
    'dokkup ',
    [
      'agent',
      'audit',
      'completion',
      'events',
      'help',
      'history',
      'lock',
      'logs',
      'plan',
      'promote',
      'rollback',
      'run',
      'schema',
      'show',
      'stop',
      'top',
      'tui',
      'version',
    ],
  ],
  ['dokkup sh', ['show']],
  ['dokkup show ', ['job', 'nodes']],
  [
    'dokkup run job --',
    ['--help', '--inventory', '--json', '--no-color', '--parallel', '--promote-after', '--timeout', '--yes'],
  ],
  ['dokkup run job ', ['jobs/', 'prod.yml', 'web.yaml']],
  ['dokkup run job -i ', ['jobs/', 'prod.yml', 'web.yaml']],
  ['dokkup -i prod.yml --yes run job w', ['web.yaml']],
  ['dokkup run job web.yaml ', []],
  ['dokkup show nodes ', []],
  ['dokkup schema ', ['inventory', 'job']],
  ['dokkup completion ', ['bash', 'fish', 'zsh']],
  ['dokkup agent --config ', ['jobs/']],
  ['dokkup agent --port ', []],
  ['dokkup tui web.yaml ', ['jobs/', 'prod.yml', 'web.yaml']],
];

/** Splits a command line into words, the last (possibly empty) one being completed. */
const wordsOf = (line: string) => line.split(' ');
const sorted = (output: string) =>
  output
    .split('\n')
    .map((l) => l.split('\t')[0]!.trim())
    .filter(Boolean)
    .sort();
const shellQuote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

describe('dokkup completion', () => {
  it.each(['bash', 'zsh', 'fish'])('prints a %s script the shell parses', async (shell) => {
    const checked = await run(shell, ['-n', scripts[shell]!], { allowFail: true });
    expect(checked.stderr).toBe('');
    expect(checked.code).toBe(0);
  });

  it.each(CASES)('bash completes "%s"', async (line, offered) => {
    const words = wordsOf(line);
    const program = `source ${shellQuote(scripts['bash']!)}
COMP_WORDS=(${words.map(shellQuote).join(' ')}); COMP_CWORD=${words.length - 1}; COMPREPLY=()
_dokkup
for reply in "\${COMPREPLY[@]}"; do if [[ -d $reply ]]; then echo "$reply/"; else echo "$reply"; fi; done`;
    const ran = await run('bash', ['--norc', '--noprofile', '-c', program], { cwd: dir });
    expect(ran.stderr).toBe('');
    expect(sorted(ran.stdout)).toEqual(offered);
  });

  it.each(CASES)('fish completes "%s"', async (line, offered) => {
    const program = `source ${shellQuote(scripts['fish']!)}; complete -C ${shellQuote(line)}`;
    const ran = await run('fish', ['--no-config', '-c', program], { cwd: dir });
    expect(ran.stderr).toBe('');
    expect(sorted(ran.stdout)).toEqual(offered);
  });

  it.each(CASES)('zsh completes "%s"', async (line, offered) => {
    const words = wordsOf(line);
    // The completion system's builtins, replaced by printers of what they would offer.
    const program = `compdef() { : }
compadd() { while [[ $# -gt 0 && $1 != -- ]]; do shift; done; shift; print -rl -- "$@" }
_describe() { print -rl -- "\${(@)\${(P)4}%%:*}" }
_files() {
  local d
  [[ $1 == -/ ]] || print -rl -- *.(yaml|yml)(N)
  for d in *(N/); do print -r -- $d/; done
}
source ${shellQuote(scripts['zsh']!)}
words=(${words.map(shellQuote).join(' ')}); CURRENT=${words.length}
_dokkup | while read -r reply; do [[ $reply == \${words[CURRENT]}* ]] && print -r -- $reply; done; true`;
    const ran = await run('zsh', ['-f', '-c', program], { cwd: dir });
    expect(ran.stderr).toBe('');
    expect(sorted(ran.stdout)).toEqual(offered);
  });

  it('zsh: compinit registers the completion for the dokkup command', async () => {
    const program = `autoload -U compinit; compinit -u -d ${shellQuote(path.join(dir, '.zcompdump'))}
source ${shellQuote(scripts['zsh']!)}; print -r -- $_comps[dokkup]`;
    const ran = await run('zsh', ['-f', '-c', program], { cwd: dir });
    expect(ran.stdout.trim()).toBe('_dokkup');
  });
});
