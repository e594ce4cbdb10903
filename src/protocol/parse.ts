/**
 * Reading a value that crossed a boundary (a request body, an agent's answer, a feed frame, a
 * file the agent wrote) against its schema, with one wording for what is wrong. The same words
 * reach the operator whether the CLI found the problem in a YAML file (`src/config`) or an agent
 * found it in a JSON body: `expected a number, got "80"`, `is required`, `unknown key "x"`.
 *
 * Schemas that carry their own message keep it; these words replace only zod's defaults.
 */
import type { z } from 'zod';

/** What is wrong with a value, the first problem of possibly several. */
export interface ParseProblem {
  /** `syntax`: the text is not JSON at all; `schema`: JSON of the wrong shape. */
  kind: 'syntax' | 'schema';
  /** `expected a number, got "80"`; for `syntax`, the JSON parser's own message. */
  message: string;
  /** The field the message is about, dotted (`spec.container.ports.0.in`); '' for the whole value. */
  path: string;
  /** How many problems were found (the message names the first). */
  count: number;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; problem: ParseProblem };

/** Parses JSON text and validates it. Never throws. */
export function parseJson<S extends z.ZodType>(text: string, schema: S): ParseResult<z.infer<S>> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, problem: { kind: 'syntax', message, path: '', count: 1 } };
  }
  return parseValue(json, schema);
}

/** Validates an already decoded value. Never throws. */
export function parseValue<S extends z.ZodType>(value: unknown, schema: S): ParseResult<z.infer<S>> {
  const result = schema.safeParse(value, { error: issueMessage });
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, problem: problemOf(result.error) };
}

/** The first problem of a zod error (thrown by some `schema.parse` elsewhere), as a `ParseProblem`. */
export function problemOf(error: z.ZodError): ParseProblem {
  const first = error.issues[0];
  if (!first) return { kind: 'schema', message: 'is invalid', path: '', count: 0 };
  const issue = deepestIssue(first);
  return { kind: 'schema', message: issue.message, path: issuePath(issue), count: error.issues.length };
}

type Issue = z.core.$ZodIssue;

/** Unions report "no branch matched" at the union; the deepest branch issue names the bad field. */
function deepestIssue(issue: Issue): Issue {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue;
  let best: Issue = issue;
  for (const branch of issue.errors) {
    for (const inner of branch) {
      const candidate = deepestIssue({ ...inner, path: [...issue.path, ...inner.path] } as Issue);
      if (candidate.path.length > best.path.length) best = candidate;
    }
  }
  return best;
}

/** `spec.container.ports.0.in`; an unknown key is named as part of the path. */
function issuePath(issue: Issue): string {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined) path.push(issue.keys[0]);
  return path.join('.');
}

// --- the words -------------------------------------------------------------------------------

/** `"two"`, `5`, `a list`, `a mapping`, `an empty value`. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Uint8Array) return 'binary data';
  if (v instanceof Date) return 'a date';
  return 'a mapping';
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
  null: 'nothing',
};

/** `a whole number` for zod's `int`; zod's own name for kinds without a friendlier one. */
export function expectedText(kind: string): string {
  return EXPECTED[kind] ?? kind;
}

/**
 * The message of one of zod's built-in issues (a zod error map): pass it as
 * `schema.safeParse(value, { error: issueMessage })`. Undefined leaves zod's default.
 */
export function issueMessage(iss: z.core.$ZodRawIssue): string | undefined {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return 'is required';
      return `expected ${expectedText(iss.expected)}, got ${describeValue(iss.input)}`;
    case 'invalid_value':
      return `must be one of ${iss.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(iss.input)}`;
    case 'unrecognized_keys':
      return iss.keys.length === 1
        ? `unknown key "${iss.keys[0]}"`
        : `unknown keys ${iss.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'too_small':
      if (iss.origin === 'array')
        return iss.minimum === 1 ? 'must not be empty' : `must hold at least ${iss.minimum} entries`;
      if (iss.origin === 'string') return 'must not be empty';
      return `must be at least ${iss.minimum}`;
    case 'too_big':
      if (iss.origin === 'array') return `must hold at most ${iss.maximum} entries`;
      return `must be at most ${iss.maximum}`;
    case 'invalid_format':
      return 'has the wrong format';
    default:
      return undefined;
  }
}
