// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` is the interpolation syntax itself, not a template
/**
 * `${VAR}` interpolation of a whole YAML file (job files and inventories alike), on the parsed
 * values before they are validated: every string value (never a key) goes through
 * `src/core/interpolation.ts`. Problems are `file:line:col` errors pointing at the `${…}` itself,
 * and errors found later at an interpolated field are reworded so that they show the field as
 * written (`${REPLICAS}`), never the value it got.
 */
import { isScalar } from 'yaml';
import { InputError, InputErrors } from '../core/errors.js';
import { InterpolationError, interpolate, type VariableLookup } from '../core/interpolation.js';
import { type FieldPath, formatFieldPath } from '../core/spec.js';
import { nodeAt, positionOf, sortErrors, type YamlSource } from './yaml-source.js';

/** One string value that held `${…}`. */
export interface InterpolatedField {
  path: FieldPath;
  /** As written in the file. */
  template: string;
  /** The variables it refers to. */
  variables: string[];
  /** Those variables' values (to keep them out of messages). */
  values: Map<string, string>;
}

export interface InterpolateOptions {
  /** Values under these paths are left as written (e.g. `env_file`, which feeds the lookup). */
  skip?: (path: FieldPath) => boolean;
  /** Turns an interpolated string into the type its field takes (`count: ${N}` → a number). */
  cast?: (path: FieldPath, value: string) => unknown;
  /** A message of one's own for a variable that is not set at `path` (else the generic one). */
  describeMissing?: (path: FieldPath, variable: string) => string | undefined;
  /** See `InterpolateOptions.missing` in src/core/interpolation.ts. */
  missing?: 'error' | 'empty';
  /**
   * Collects each problem (with the path of its value, left as written) instead of throwing them
   * all at the end, so a caller can report them beside the problems it finds itself.
   */
  onError?: (error: InputError, path: FieldPath) => void;
}

/**
 * Interpolates every string value of `src.data` in place. Throws `InputErrors` listing every
 * problem (unless `options.onError` takes them); returns the fields that held `${…}`.
 */
export function interpolateSource(
  src: YamlSource,
  lookup: VariableLookup,
  options: InterpolateOptions = {},
): InterpolatedField[] {
  const fields: InterpolatedField[] = [];
  const errors: InputError[] = [];
  // One path array, pushed and popped as the walk goes: inventories of 10,000 nodes hold tens of
  // thousands of values, almost none of them with a `${`.
  const path: (string | number)[] = [];
  const visit = (value: unknown): unknown => {
    if (options.skip?.(path)) return value;
    if (typeof value === 'string') {
      if (!value.includes('${')) return value;
      try {
        const result = interpolate(value, lookup, { missing: options.missing ?? 'error' });
        const values = new Map<string, string>();
        for (const name of result.variables) {
          const v = lookup(name);
          if (v !== undefined) values.set(name, v);
        }
        fields.push({ path: [...path], template: value, variables: result.variables, values });
        return options.cast ? options.cast(path, result.value) : result.value;
      } catch (error) {
        if (!(error instanceof InterpolationError)) throw error;
        const custom = error.variable ? options.describeMissing?.(path, error.variable) : undefined;
        const missing = error.variable !== undefined && /is not set/.test(error.message);
        const problem = new InputError(
          missing && custom ? custom : error.message,
          expressionPosition(src, path, error.expression),
          formatFieldPath(path) || undefined,
        );
        if (options.onError) options.onError(problem, [...path]);
        else errors.push(problem);
        return value;
      }
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        path.push(i);
        value[i] = visit(value[i]);
        path.pop();
      }
      return value;
    }
    if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        path.push(key);
        record[key] = visit(record[key]);
        path.pop();
      }
    }
    return value;
  };
  src.data = visit(src.data);
  if (errors.length > 0) throw new InputErrors(sortErrors(errors));
  return fields;
}

/** Where `${…}` is in the file: inside the scalar when it can be found there, else the value's start. */
function expressionPosition(src: YamlSource, path: FieldPath, expression: string) {
  const node = nodeAt(src, path);
  if (node && isScalar(node) && node.range) {
    const text = src.text.slice(node.range[0], node.range[1]);
    const at = text.indexOf(expression);
    if (at !== -1) return { file: src.file, ...src.lineCounter.linePos(node.range[0] + at) };
  }
  return positionOf(src, path);
}

/**
 * Shorter values are not searched for in messages: they are not secrets, and replacing `1` or
 * `on` would garble the message itself.
 */
const MIN_MASKED_LENGTH = 3;

/**
 * Rewords errors found at interpolated fields so that they show the field as written: `got "abc"`
 * becomes `got "${REPLICAS}"`. Errors elsewhere are kept as they are.
 */
export function maskInterpolatedValues(
  errors: readonly InputError[],
  fields: readonly InterpolatedField[],
  valueAt: (path: FieldPath) => unknown,
): InputError[] {
  if (fields.length === 0) return [...errors];
  const byField = fields.map((f) => ({ ...f, name: formatFieldPath(f.path) }));
  return errors.map((error) => {
    const field = error.field;
    if (!field) return error;
    const matching = byField.filter(
      (f) => field === f.name || field.startsWith(`${f.name}.`) || field.startsWith(`${f.name}[`),
    );
    if (matching.length === 0) return error;
    let message = error.message;
    for (const f of matching) {
      const value = valueAt(f.path);
      const shown = typeof value === 'string' ? value : value === undefined ? '' : String(value);
      if (shown === '') continue;
      const forms = [JSON.stringify(shown), JSON.stringify(`${shown.slice(0, 37)}...`)];
      for (const form of forms) message = message.split(form).join(JSON.stringify(f.template));
      if (shown.length >= MIN_MASKED_LENGTH) message = message.split(shown).join(f.template);
      // Part of the value (`got "relative"` of a volume `${SRC}:relative`): name the variable.
      for (const [name, v] of f.values)
        if (v.length >= MIN_MASKED_LENGTH) message = message.split(v).join(`\${${name}}`);
    }
    return message === error.message ? error : new InputError(message, error.position, error.field);
  });
}

/** Runs `fn`, rewording the `InputErrors` it throws with `maskInterpolatedValues`. */
export function withMaskedValues<T>(
  fields: readonly InterpolatedField[],
  valueAt: (path: FieldPath) => unknown,
  fn: () => T,
): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof InputErrors && fields.length > 0)
      throw new InputErrors(maskInterpolatedValues(error.errors, fields, valueAt));
    throw error;
  }
}
