/**
 * Table filters as k9s spells them: a case-insensitive regular expression, `!` in front to keep
 * the rows that do NOT match. Text that is not a valid regex is matched literally, so typing
 * `web(` never throws and never empties the table by surprise.
 */
export interface CompiledFilter {
  /** The filter as typed. */
  source: string;
  inverse: boolean;
  /** True when the pattern was not a valid regex and is matched as plain text. */
  literal: boolean;
  test(text: string): boolean;
}

export function compileFilter(source: string): CompiledFilter | null {
  const trimmed = source.trim();
  if (trimmed === '' || trimmed === '!') return null;
  const inverse = trimmed.startsWith('!');
  const pattern = inverse ? trimmed.slice(1) : trimmed;
  let regex: RegExp | null = null;
  try {
    regex = new RegExp(pattern, 'i');
  } catch {
    regex = null;
  }
  const needle = pattern.toLowerCase();
  const matches = regex
    ? (text: string) => regex.test(text)
    : (text: string) => text.toLowerCase().includes(needle);
  return {
    source: trimmed,
    inverse,
    literal: regex === null,
    test: (text) => matches(text) !== inverse,
  };
}
