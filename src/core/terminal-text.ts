/**
 * Text from elsewhere — an agent's error message, a container's name, a log line — made safe to
 * print on the operator's terminal. A control character or escape sequence in it could move the
 * cursor, rewrite lines already printed, set the window title, hide text or (on some terminals)
 * answer back; here each one is shown as a visible escape instead (`\x1b`, `\x07`, `\u009b`),
 * so the operator sees that it was there and nothing is executed. Unicode direction overrides
 * (which can make text read differently from what it is) are shown the same way.
 *
 * Both faces use it at the point where outside text meets the screen (tables, messages, log
 * views); `--json` keeps the text as it is, escaped by JSON (`jsonText` also escapes the C1
 * range and line separators that JSON itself would leave raw).
 */

/**
 * C0 controls but tab and newline, DEL, the C1 controls, line/paragraph separators and the
 * bidirectional embedding, override and isolate characters.
 */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_IN_LINE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** SGR (colour, bold…): what applications print on purpose into their logs. */
const SGR = /\u001b\[[0-9;:]*m/g;

function visible(char: string): string {
  const code = char.codePointAt(0)!;
  if (char === '\n') return '\\n';
  if (code < 0x80) return `\\x${code.toString(16).padStart(2, '0')}`;
  return `\\u${code.toString(16).padStart(4, '0')}`;
}

export interface TerminalTextOptions {
  /** Keep line breaks (a multi-line message); default: shown as `\n` (one table cell, one line). */
  multiline?: boolean;
}

/** `text` with every control character and escape sequence shown as a visible escape. */
export function terminalText(text: string, options: TerminalTextOptions = {}): string {
  const pattern = options.multiline ? UNSAFE : UNSAFE_IN_LINE;
  const safe = text.replace(pattern, visible);
  return options.multiline ? safe : safe.replace(/\t/g, ' ');
}

/**
 * One line of a container's log: colour codes (SGR) are dropped — applications print them on
 * purpose, and dropped they can hide nothing — and everything else is shown as in `terminalText`.
 * Tabs are kept.
 */
export function terminalLogLine(line: string): string {
  return line.replace(SGR, '').replace(UNSAFE_IN_LINE, visible);
}

/** True when `text` holds nothing `terminalText` would change (tabs aside). */
export function isTerminalSafe(text: string): boolean {
  UNSAFE_IN_LINE.lastIndex = 0;
  return !UNSAFE_IN_LINE.test(text);
}

const JSON_UNSAFE = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * `JSON.stringify` that also escapes what it leaves raw (DEL, the C1 controls, line separators,
 * direction overrides): the same JSON value, but nothing in it a terminal would act on.
 */
export function jsonText(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(
    JSON_UNSAFE,
    (char) => `\\u${char.codePointAt(0)!.toString(16).padStart(4, '0')}`,
  );
}
