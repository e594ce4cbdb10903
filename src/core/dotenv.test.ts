// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` is the interpolation syntax itself, not a template
import { describe, expect, it } from 'vitest';
import { parseDotenv } from './dotenv.js';

const values = (text: string, env: Record<string, string> = {}) =>
  Object.fromEntries([...parseDotenv(text, (n) => env[n]).entries].map(([k, v]) => [k, v.value]));

describe('parseDotenv', () => {
  it('reads the compose forms', () => {
    const text = [
      '# comment',
      '',
      'A=plain value # a comment',
      'export B=exported',
      'C="line1\\nline2 \\"q\\" \\$HOME"',
      "D='literal ${X} \\n'",
      'E=',
      '  F = spaced  ',
      'G="multi',
      'line"',
      'H=a#b',
    ].join('\n');
    expect(values(text)).toEqual({
      A: 'plain value',
      B: 'exported',
      C: 'line1\nline2 "q" $HOME',
      D: 'literal ${X} \\n',
      E: '',
      F: 'spaced',
      G: 'multi\nline',
      H: 'a#b',
    });
  });

  it('interpolates unquoted and double-quoted values from the lookup, then from earlier lines', () => {
    expect(values('A=x\nB=${A}-${SHELL_ONLY}\nC="${A:-no}"\n', { SHELL_ONLY: 's' })).toEqual({
      A: 'x',
      B: 'x-s',
      C: 'x',
    });
    // The lookup (the shell environment) wins over the file's own earlier values.
    expect(values('A=file\nB=${A}\n', { A: 'shell' }).B).toBe('shell');
  });

  it('a later line overrides an earlier one', () => {
    const parsed = parseDotenv('A=1\nA=2\n');
    expect(parsed.entries.get('A')).toEqual({ value: '2', line: 2 });
  });

  it('reports problems with line and column, naming variables and not values', () => {
    const parsed = parseDotenv('OK=1\nno equals\n1BAD=x\nS="open\nT=${MISSING}\n');
    expect(parsed.problems).toEqual([
      { line: 2, col: 1, message: 'expected KEY=value, got "no equals"' },
      { line: 3, col: 1, message: expect.stringContaining('invalid variable name "1BAD"') },
      { line: 4, col: 3, message: '" opened here is never closed' },
    ]);
    const missing = parseDotenv('T=ab${MISSING}\n');
    expect(missing.problems).toEqual([
      { line: 1, col: 5, message: expect.stringContaining('variable MISSING is not set') },
    ]);
  });
});
