// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` is the interpolation syntax itself, not a template
/**
 * docker-compose's variable interpolation, for job files, inventories and env files:
 *
 *   ${VAR}           the value; an unset VAR is an error (compose only warns: a deploy with a
 *                    silently empty secret is worse than one that does not start)
 *   ${VAR:-default}  default when VAR is unset or empty      ${VAR-default}  … when unset
 *   ${VAR:?message}  error (with message) when unset or empty ${VAR?message}  … when unset
 *   ${VAR:+other}    other when VAR is set and not empty      ${VAR+other}    … when set
 *   $${              a literal ${
 *
 * Defaults and alternatives may hold further ${…}. Only the braced forms are read: a bare `$VAR`
 * or `$$` stays as written, so a job file of dokkup 0.3 with a shell `$HOME` in its command keeps
 * its meaning (and its version).
 *
 * Pure: the caller supplies the lookup (environment, env files). Errors carry the offset of the
 * expression in the text, so the caller can point at `file:line:col`; they name variables, never
 * their values.
 */

/** The value of a variable, or undefined when it is not set. */
export type VariableLookup = (name: string) => string | undefined;

export interface Interpolated {
  value: string;
  /** The variables the text refers to, in order of first use (also those left to a default). */
  variables: string[];
}

export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class InterpolationError extends Error {
  override readonly name = 'InterpolationError';
  constructor(
    message: string,
    /** Where the `${…}` expression starts in the text. */
    readonly offset: number,
    /** The expression as written, e.g. `${DB_PASSWORD}`. */
    readonly expression: string,
    /** The variable concerned, when there is one. */
    readonly variable?: string,
  ) {
    super(message);
  }
}

/** Whether the text holds anything interpolation would read (a `${`). */
export function hasInterpolation(text: string): boolean {
  return text.includes('${');
}

export interface InterpolateOptions {
  /**
   * `error` (default): an unset `${VAR}` or a failed `${VAR:?…}` throws. `empty`: they read as
   * empty, for commands that only need a job's name and targets (`show job`, `stop job`, …) and
   * must work without its secrets.
   */
  missing?: 'error' | 'empty';
}

/** Interpolates `text`; throws `InterpolationError` for a bad expression or a missing variable. */
export function interpolate(
  text: string,
  lookup: VariableLookup,
  options: InterpolateOptions = {},
): Interpolated {
  if (!text.includes('$')) return { value: text, variables: [] };
  const variables: string[] = [];
  const lenient = options.missing === 'empty';
  const value = new Parser(text, lookup, variables, lenient).parseUntil(text.length, 0, false).text;
  return { value, variables };
}

/** The variables `text` refers to, without looking any up (for messages and tests). */
export function referencedVariables(text: string): string[] {
  const names: string[] = [];
  const all = /\$\{([A-Za-z_][A-Za-z0-9_]*)/g;
  for (const m of text.matchAll(all)) {
    // `$${X}` is a literal.
    if (m.index > 0 && text[m.index - 1] === '$') continue;
    if (!names.includes(m[1]!)) names.push(m[1]!);
  }
  return names;
}

const OPERATORS = [':-', ':?', ':+', '-', '?', '+'] as const;
type Operator = (typeof OPERATORS)[number];

class Parser {
  constructor(
    private readonly text: string,
    private readonly lookup: VariableLookup,
    private readonly variables: string[],
    private readonly lenient: boolean,
  ) {}

  /**
   * Reads from `start` up to `end` (or, when `inBraces`, up to the `}` that closes the current
   * expression) and returns the interpolated text and where it stopped.
   */
  parseUntil(end: number, start: number, inBraces: boolean, evaluate = true): { text: string; stop: number } {
    const { text } = this;
    let out = '';
    let i = start;
    while (i < end) {
      const c = text[i]!;
      if (inBraces && c === '}') return { text: out, stop: i };
      if (c === '$' && text[i + 1] === '$' && text[i + 2] === '{') {
        out += '${';
        i += 3;
        continue;
      }
      if (c === '$' && text[i + 1] === '{') {
        const expr = this.expression(i, evaluate);
        out += expr.text;
        i = expr.stop + 1;
        continue;
      }
      out += c;
      i++;
    }
    if (inBraces) throw new InterpolationError('has no closing }', start, text.slice(start));
    return { text: out, stop: i };
  }

  /** `${…}` starting at `at` (the `$`); `stop` is the index of its closing `}`. */
  private expression(at: number, evaluate: boolean): { text: string; stop: number } {
    const { text } = this;
    const nameStart = at + 2;
    let i = nameStart;
    while (i < text.length && /[A-Za-z0-9_]/.test(text[i]!)) i++;
    const name = text.slice(nameStart, i);
    const close = this.closingBrace(at);
    const written = close === -1 ? text.slice(at) : text.slice(at, close + 1);
    if (close === -1)
      throw new InterpolationError(`${written} has no closing }`, at, written, name || undefined);
    if (!VARIABLE_NAME.test(name)) {
      throw new InterpolationError(
        name === '' && text[i] === '}'
          ? '${} names no variable'
          : `${written}: a variable name uses letters, digits and _ and does not start with a digit` +
              ' (write $${ for a literal ${)',
        at,
        written,
      );
    }
    if (!this.variables.includes(name)) this.variables.push(name);
    if (text[i] === '}') {
      if (!evaluate) return { text: '', stop: i };
      const value = this.lookup(name);
      if (value === undefined) {
        if (this.lenient) return { text: '', stop: i };
        throw new InterpolationError(
          `variable ${name} is not set (set it in the environment or in an env_file, or give a default: \${${name}:-default})`,
          at,
          written,
          name,
        );
      }
      return { text: value, stop: i };
    }
    const operator = OPERATORS.find((op) => text.startsWith(op, i)) as Operator | undefined;
    if (!operator) {
      throw new InterpolationError(
        `${written}: expected } or one of :- - :? ? :+ + after the variable name`,
        at,
        written,
        name,
      );
    }
    const wordStart = i + operator.length;
    const value = evaluate ? this.lookup(name) : undefined;
    const isSet = value !== undefined;
    const nonEmpty = isSet && value !== '';
    const unsetCounts = operator.startsWith(':') ? !nonEmpty : !isSet;
    switch (operator) {
      case ':-':
      case '-': {
        const word = this.parseUntil(this.text.length, wordStart, true, evaluate && unsetCounts);
        return { text: unsetCounts ? word.text : (value ?? ''), stop: word.stop };
      }
      case ':+':
      case '+': {
        const word = this.parseUntil(this.text.length, wordStart, true, evaluate && !unsetCounts);
        return { text: unsetCounts ? '' : word.text, stop: word.stop };
      }
      default: {
        // The message is literal text up to the closing brace.
        const message = text.slice(wordStart, close).trim();
        if (evaluate && unsetCounts && !this.lenient) {
          const state = isSet ? 'empty' : 'not set';
          throw new InterpolationError(
            `variable ${name} is required but ${state}${message ? `: ${message}` : ''}`,
            at,
            written,
            name,
          );
        }
        return { text: value ?? '', stop: close };
      }
    }
  }

  /** Index of the `}` closing the expression that starts at `at`, or -1. */
  private closingBrace(at: number): number {
    const { text } = this;
    let depth = 0;
    for (let i = at + 2; i < text.length; i++) {
      const c = text[i]!;
      if (c === '$' && text[i + 1] === '$' && text[i + 2] === '{') {
        // A literal `${` inside a default: its `}` still closes the literal's braces in compose;
        // count it like an expression so a default such as `$${X}` keeps its brace.
        depth++;
        i += 2;
      } else if (c === '$' && text[i + 1] === '{') {
        depth++;
        i++;
      } else if (c === '}') {
        if (depth === 0) return i;
        depth--;
      }
    }
    return -1;
  }
}
