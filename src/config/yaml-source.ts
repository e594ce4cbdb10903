/**
 * A user's YAML file kept together with its syntax tree, so any problem found later — by the
 * YAML parser, by a zod schema or by normalisation in `src/core` — can be reported as
 * `file:line:col field: message` pointing at the exact key or value.
 */
import {
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseAllDocuments,
} from 'yaml';
import type { z } from 'zod';
import { InputError, InputErrors, type SourcePosition } from '../core/errors.js';
import { type FieldPath, formatFieldPath, SpecFieldError } from '../core/spec.js';
import { closestName } from '../core/targets.js';
import { describeValue, expectedText, issueMessage } from '../protocol/parse.js';

export interface YamlSource {
  file: string;
  text: string;
  doc: Document;
  lineCounter: LineCounter;
  /** The document as plain JS values. */
  data: unknown;
}

/** What a file is for, used in messages about its overall shape. */
export interface FileKind {
  /** `job file`, `inventory` */
  noun: string;
  /** `a` or `an`, for `noun`. */
  article: string;
  /** `name, group and container` — what a valid file holds at the top. */
  expects: string;
}

/** Parses YAML text; throws `InputErrors` for syntax errors, an empty file, several documents
 * or a top level that is not a mapping. */
export function parseYamlSource(text: string, file: string, kind: FileKind): YamlSource {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): SourcePosition => ({ file, ...lineCounter.linePos(offset) });
  // `parseAllDocuments` gives a non-array "empty stream" for text without any document.
  const all = Array.isArray(docs) ? docs : [];
  // A trailing `---` with nothing after it is harmless; a second real document is not.
  const real = all.filter((d, i) => i === 0 || !isBlank(d) || d.errors.length > 0);
  const errors: InputError[] = [];
  for (const doc of real) {
    for (const e of doc.errors)
      errors.push(new InputError(describeYamlError(e.code, e.message, text, e.pos[0]), at(e.pos[0])));
  }
  if (errors.length > 0) throw new InputErrors(errors);
  if (real.length > 1) {
    const second = real[1]!;
    throw new InputErrors([
      new InputError(
        `holds more than one YAML document (separated by ---); put one ${kind.noun} in each file`,
        at(second.contents?.range?.[0] ?? second.range[0]),
      ),
    ]);
  }
  const doc = real[0];
  if (!doc || isBlank(doc)) {
    throw new InputErrors([
      new InputError(`is empty: expected ${kind.article} ${kind.noun} with ${kind.expects}`, {
        file,
        line: 1,
        col: 1,
      }),
    ]);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // Unresolvable or exploding aliases (`*name`) only show up when the values are built.
    throw new InputErrors([
      new InputError(`invalid YAML: ${(err as Error).message}`, at(doc.contents?.range?.[0] ?? 0)),
    ]);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new InputErrors([
      new InputError(
        `must be a mapping of fields (${kind.expects}), got ${describeValue(data)}`,
        at(doc.contents?.range?.[0] ?? 0),
      ),
    ]);
  }
  return { file, text, doc, lineCounter, data };
}

/** A document with no content, such as what follows a trailing `---`. */
function isBlank(doc: Document): boolean {
  return doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null);
}

function describeYamlError(code: string, message: string, text: string, offset: number): string {
  if (code === 'DUPLICATE_KEY') {
    const key = /^\s*("[^"\n]*"|'[^'\n]*'|[^:#\n]+?)\s*:/.exec(text.slice(offset));
    return key
      ? `duplicate key ${JSON.stringify(unquote(key[1]!))} in this mapping`
      : 'duplicate key in this mapping';
  }
  return `invalid YAML: ${message}`;
}

function unquote(s: string): string {
  return /^(".*"|'.*')$/.test(s) ? s.slice(1, -1) : s;
}

/**
 * Where `path` is in the file: the value's first character, or with `key` the key's. When the
 * path does not exist (a missing field), the closest existing parent is used, so "is required"
 * errors point at the mapping that lacks the field.
 */
export function positionOf(
  src: YamlSource,
  path: FieldPath,
  part: 'value' | 'key' = 'value',
): SourcePosition {
  const at = (offset: number): SourcePosition => ({ file: src.file, ...src.lineCounter.linePos(offset) });
  let node: unknown = src.doc.contents;
  let offset = (src.doc.contents as Node | null)?.range?.[0] ?? 0;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(seg));
      if (!pair) break;
      const keyOffset = (pair.key as Node | null)?.range?.[0];
      const value = pair.value as Node | null;
      // `ports:` with nothing after it has an empty value node; the key is the useful place.
      const valueIsBlank = !value || (isScalar(value) && value.value === null && !value.source);
      if ((last && part === 'key') || valueIsBlank) {
        offset = keyOffset ?? offset;
        if (valueIsBlank) break;
        return at(offset);
      }
      node = value;
      offset = value.range?.[0] ?? keyOffset ?? offset;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) break;
      node = item;
      offset = item.range?.[0] ?? offset;
    } else {
      break;
    }
  }
  return at(offset);
}

/** The YAML node holding the value at `path`, or undefined (an alias or a path that is not there). */
export function nodeAt(src: YamlSource, path: FieldPath): Node | undefined {
  let node: unknown = src.doc.contents;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(seg));
      if (!pair) return undefined;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
    } else {
      return undefined;
    }
  }
  return (node ?? undefined) as Node | undefined;
}

function keyText(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  return String(key);
}

/** The value at `path` in the plain data (for messages such as `got "two"`). */
export function valueAt(data: unknown, path: FieldPath): unknown {
  let cur = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

/**
 * The protocol's wording of zod's issues, plus a "did you mean" for a mistyped choice: the user
 * typed it, so the closest allowed value is worth naming.
 */
function friendlyIssue(iss: z.core.$ZodRawIssue): string | undefined {
  const message = issueMessage(iss);
  if (iss.code !== 'invalid_value' || typeof iss.input !== 'string') return message;
  const close = closestName(
    iss.input,
    iss.values.map((v) => String(v)),
  );
  return close ? `${message} (did you mean "${close}"?)` : message;
}

/**
 * Validates `src.data` with `schema`; throws `InputErrors` locating every issue in the file.
 *
 * `deeperCheck` (normalisation) normally runs only on valid data. When the schema fails it is
 * still tried on the raw data, and the problems it finds in fields the schema did not complain
 * about are reported too, so one run shows every mistake instead of revealing them in rounds.
 */
export function validateSource<T extends z.ZodType>(
  src: YamlSource,
  schema: T,
  deeperCheck?: (data: z.infer<T>) => unknown,
): z.infer<T> {
  const result = schema.safeParse(src.data, { error: friendlyIssue });
  if (result.success) return result.data;
  const errors = result.error.issues.flatMap((issue) => locateIssue(src, schema, issue, []));
  if (deeperCheck) {
    const flagged = result.error.issues.map((i) => i.path as FieldPath);
    try {
      deeperCheck(src.data as z.infer<T>);
    } catch (err) {
      // Anything else (a TypeError on malformed data) is a consequence of the schema errors.
      if (err instanceof InputErrors) {
        for (const e of err.errors) {
          if (e instanceof SpecFieldError && !flagged.some((p) => related(p, e.fieldPath)))
            errors.push(locate(src, e));
        }
      }
    }
  }
  throw new InputErrors(sortErrors(errors));
}

/** One path is the other or inside it. */
function related(a: FieldPath, b: FieldPath): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (String(a[i]) !== String(b[i])) return false;
  return true;
}

function locateIssue(
  src: YamlSource,
  schema: z.ZodType,
  issue: z.core.$ZodIssue,
  base: FieldPath,
): InputError[] {
  const path: FieldPath = [...base, ...(issue.path as (string | number)[])];
  const here = (p: FieldPath, message: string, part: 'value' | 'key' = 'value') =>
    new InputError(message, positionOf(src, p, part), formatFieldPath(p) || undefined);

  if (issue.code === 'unrecognized_keys') {
    const known = objectKeysAt(schema, path);
    return issue.keys.map((key) => {
      const close = closestName(key, known);
      const hint = close
        ? ` (did you mean "${close}"?)`
        : known.length
          ? `; expected one of: ${known.join(', ')}`
          : '';
      return here([...path, key], `unknown key "${key}"${hint}`, 'key');
    });
  }
  if (issue.code === 'invalid_union') {
    const branches = issue.errors;
    const typeOnly = (b: z.core.$ZodIssue[]) =>
      b.length === 1 && b[0]!.code === 'invalid_type' && b[0]!.path.length === 0;
    const matching = branches.find((b) => !typeOnly(b));
    // The value had the right type for one of the forms: its problems are the useful ones.
    if (matching) return matching.flatMap((sub) => locateIssue(src, schema, sub, path));
    const expected = [
      ...new Set(branches.map((b) => (b[0] as z.core.$ZodIssueInvalidType).expected).map(expectedText)),
    ];
    const value = valueAt(src.data, path);
    if (value === undefined) return [here(path, 'is required')];
    return [here(path, `expected ${expected.join(' or ')}, got ${describeValue(value)}`)];
  }
  if (issue.code === 'too_big' && issue.origin === 'array') {
    // Point at the first entry too many, e.g. the second `container:` item.
    const first = Number(issue.maximum);
    return [here([...path, first], issue.message)];
  }
  return [here(path, issue.message)];
}

/** Turns `SpecFieldError`s thrown by `fn` (pure code that only knows field paths) into
 * errors with this file's positions. */
export function withPositions<T>(src: YamlSource, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof InputErrors) throw new InputErrors(sortErrors(err.errors.map((e) => locate(src, e))));
    if (err instanceof InputError) throw new InputErrors([locate(src, err)]);
    throw err;
  }
}

function locate(src: YamlSource, e: InputError): InputError {
  if (e.position) return e;
  if (e instanceof SpecFieldError) return new InputError(e.message, positionOf(src, e.fieldPath), e.field);
  return new InputError(e.message, positionOf(src, []), e.field);
}

export function sortErrors(errors: InputError[]): InputError[] {
  const seen = new Set<string>();
  return errors
    .filter((e) => {
      const key = e.format();
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort(
      (a, b) =>
        (a.position?.line ?? 0) - (b.position?.line ?? 0) || (a.position?.col ?? 0) - (b.position?.col ?? 0),
    );
}

// --- walking a zod schema to learn which keys a mapping accepts (for "did you mean") ---

interface SchemaDef {
  type: string;
  shape?: Record<string, Walkable>;
  element?: Walkable;
  options?: Walkable[];
  innerType?: Walkable;
  valueType?: Walkable;
}
interface Walkable {
  _zod: { def: SchemaDef };
}

function unwrap(s: Walkable): Walkable {
  let cur = s;
  while (cur._zod.def.innerType) cur = cur._zod.def.innerType;
  return cur;
}

function step(s: Walkable, seg: string | number): Walkable[] {
  const def = unwrap(s)._zod.def;
  if (def.type === 'object' && typeof seg === 'string') return def.shape?.[seg] ? [def.shape[seg]] : [];
  if (def.type === 'array' && def.element) return [def.element];
  if (def.type === 'record' && def.valueType) return [def.valueType];
  if (def.type === 'union') return (def.options ?? []).flatMap((o) => step(o, seg));
  return [];
}

function objectKeysAt(schema: z.ZodType, path: FieldPath): string[] {
  let current: Walkable[] = [schema as unknown as Walkable];
  for (const seg of path) current = current.flatMap((s) => step(s, seg));
  const keys = new Set<string>();
  const collect = (s: Walkable): void => {
    const def = unwrap(s)._zod.def;
    if (def.type === 'object') for (const k of Object.keys(def.shape ?? {})) keys.add(k);
    if (def.type === 'union') for (const o of def.options ?? []) collect(o);
  };
  for (const s of current) collect(s);
  return [...keys];
}
