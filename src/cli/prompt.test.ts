import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { confirm, isAffirmative, PROMPT } from './prompt.js';

function terminalInput(): PassThrough & { isTTY?: boolean } {
  const input = new PassThrough() as PassThrough & { isTTY?: boolean };
  input.isTTY = true;
  return input;
}

function capture() {
  let written = '';
  return {
    out: { write: (chunk: string) => (written += chunk), isTTY: true },
    text: () => written,
  };
}

describe('isAffirmative', () => {
  it('only y and yes proceed (any case, surrounding spaces ignored)', () => {
    for (const yes of ['y', 'Y', 'yes', 'YES', ' y ', 'Yes\r']) expect(isAffirmative(yes)).toBe(true);
  });
  it('anything else declines: n, empty line, end of input, other words', () => {
    for (const no of ['n', 'N', 'no', '', '   ', 'yy', 'yess', 'ok', 'sure', 'y e s'])
      expect(isAffirmative(no)).toBe(false);
    expect(isAffirmative(null)).toBe(false);
  });
});

describe('confirm', () => {
  it('-y proceeds without reading or writing anything', async () => {
    const { out, text } = capture();
    expect(await confirm({ stdin: terminalInput() }, out, { yes: true })).toBe('yes');
    expect(text()).toBe('');
  });

  it('refuses at once when stdin is not a terminal', async () => {
    const input = new PassThrough();
    input.end('y\n');
    const { out, text } = capture();
    expect(await confirm({ stdin: input }, out, { yes: false })).toBe('no-terminal');
    expect(text()).toBe('');
  });

  it('asks with the original prompt and reads one line', async () => {
    for (const [typed, expected] of [
      ['y\n', 'yes'],
      ['yes\n', 'yes'],
      ['n\n', 'no'],
      ['\n', 'no'],
      ['maybe\n', 'no'],
    ] as const) {
      const input = terminalInput();
      const { out, text } = capture();
      const answer = confirm({ stdin: input }, out, { yes: false });
      input.write(typed);
      expect(await answer).toBe(expected);
      expect(text()).toBe(`\n${PROMPT}`);
    }
  });

  it('end of input declines', async () => {
    const input = terminalInput();
    const { out } = capture();
    const answer = confirm({ stdin: input }, out, { yes: false });
    input.end();
    expect(await answer).toBe('no');
  });

  it('Ctrl-C (the signal) while waiting reports an interruption', async () => {
    const input = terminalInput();
    const { out } = capture();
    const controller = new AbortController();
    const answer = confirm({ stdin: input }, out, { yes: false, signal: controller.signal });
    controller.abort();
    expect(await answer).toBe('interrupted');
  });
});
