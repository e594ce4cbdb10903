import { describe, expect, it } from 'vitest';
import { isTerminalSafe, jsonText, terminalLogLine, terminalText } from './terminal-text.js';

/** Anything a terminal would act on: C0 (but \n and \t), DEL, C1. */
const ACTIVE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe('terminalText', () => {
  it.each([
    ['clear screen', 'web\u001b[2J', 'web\\x1b[2J'],
    ['window title (OSC, BEL)', '\u001b]0;pwned\u0007name', '\\x1b]0;pwned\\x07name'],
    ['hyperlink (OSC 8, ST)', '\u001b]8;;http://evil\u001b\\click', '\\x1b]8;;http://evil\\x1b\\click'],
    ['8-bit CSI', 'a\u009b2Jb', 'a\\u009b2Jb'],
    ['carriage return over the line', 'ok\rFAILED', 'ok\\x0dFAILED'],
    ['backspaces', 'rm -rf\b\b\b\b\b\bls', 'rm -rf\\x08\\x08\\x08\\x08\\x08\\x08ls'],
    ['NUL and DEL', 'a\u0000b\u007f', 'a\\x00b\\x7f'],
    ['a newline in one cell', 'line1\nline2', 'line1\\nline2'],
    ['a direction override', 'abc\u202edcba', 'abc\\u202edcba'],
    ['a line separator', 'a\u2028b', 'a\\u2028b'],
    ['a tab in one cell', 'a\tb', 'a b'],
    ['plain text, accents and emoji', 'café ✓ 🐳 web-1', 'café ✓ 🐳 web-1'],
  ])('shows %s as visible text', (_what, given, shown) => {
    expect(terminalText(given)).toBe(shown);
    expect(terminalText(given)).not.toMatch(ACTIVE);
  });

  it('keeps line breaks and tabs in a multi-line message, but nothing else', () => {
    expect(terminalText('first\n\tsecond\u001b[A', { multiline: true })).toBe('first\n\tsecond\\x1b[A');
  });

  it('tells safe text from text it would change', () => {
    expect(isTerminalSafe('web-1 up 3s')).toBe(true);
    expect(isTerminalSafe('web\u001b')).toBe(false);
    expect(isTerminalSafe('a\nb')).toBe(false);
  });
});

describe('terminalLogLine', () => {
  it('drops colour codes applications print on purpose, shows every other escape, keeps tabs', () => {
    expect(terminalLogLine('\u001b[32mINFO\u001b[0m\tstarted')).toBe('INFO\tstarted');
    expect(terminalLogLine('\u001b[1;38;5;196mbold red\u001b[m')).toBe('bold red');
    expect(terminalLogLine('\u001b]0;pwned\u0007\u001b[2J\u001b[Hgotcha')).toBe(
      '\\x1b]0;pwned\\x07\\x1b[2J\\x1b[Hgotcha',
    );
    expect(terminalLogLine('progress 50%\rprogress 100%')).toBe('progress 50%\\x0dprogress 100%');
    expect(terminalLogLine('\u009b31mC1 colour')).not.toMatch(ACTIVE);
  });
});

describe('jsonText', () => {
  it('is the same JSON value, with nothing raw a terminal would act on', () => {
    const value = { name: 'a\u001b[2J', c1: 'b\u009b', sep: 'c\u2028d', bidi: 'e\u202ef', del: '\u007f' };
    const text = jsonText(value, 2);
    expect(JSON.parse(text)).toEqual(value);
    expect(text).not.toMatch(ACTIVE);
    expect(text).not.toMatch(/[\u2028\u202e]/);
  });
});
