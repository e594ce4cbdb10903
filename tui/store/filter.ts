/**
 * Table filters as k9s spells them: a case-insensitive regular expression, `!` in front to keep
 * the rows that do NOT match. Text that is not a valid regex is matched literally, so typing
 * `web(` never throws and never empties the table by surprise.
 *
 * Filters run over every row on each key typed (ten thousand nodes, tens of thousands of
 * containers), so rows carry their search text in lower case already, and a pattern without
 * regex syntax — most of what is typed — is a plain substring search.
 */
export interface CompiledFilter {
  /** The filter as typed. */
  source: string;
  inverse: boolean;
  /** True when the pattern was not a valid regex and is matched as plain text. */
  literal: boolean;
  test(text: string): boolean;
  /** `test` for text that is already in lower case (rows' search text). */
  testLower(lowerText: string): boolean;
}

/** Characters that make a pattern more than plain text. */
const REGEX_SYNTAX = /[\\^$.*+?()[\]{}|]/;

export function compileFilter(source: string): CompiledFilter | null {
  const trimmed = source.trim();
  if (trimmed === '' || trimmed === '!') return null;
  const inverse = trimmed.startsWith('!');
  const pattern = inverse ? trimmed.slice(1) : trimmed;
  const needle = pattern.toLowerCase();
  let regex: RegExp | null = null;
  let literal = false;
  if (REGEX_SYNTAX.test(pattern)) {
    try {
      regex = new RegExp(pattern, 'i');
    } catch {
      literal = true;
    }
  }
  const matchesLower = regex ? (text: string) => regex.test(text) : (text: string) => text.includes(needle);
  return {
    source: trimmed,
    inverse,
    literal,
    test: (text) => matchesLower(regex ? text : text.toLowerCase()) !== inverse,
    testLower: (text) => matchesLower(text) !== inverse,
  };
}
