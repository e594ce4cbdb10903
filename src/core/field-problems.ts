/**
 * The problems of a job file's normalisation, each tied to the field it is about: a path of keys
 * and list indices that `src/config` turns into `file:line:col`. Pure: no file names here.
 */
import { InputError } from './errors.js';

/** A path into the job file: object keys and list indices. */
export type FieldPath = readonly (string | number)[];

/** `['container', 0, 'ports', 1, 'in']` → `container[0].ports[1].in`. */
export function formatFieldPath(path: FieldPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${part}` : part;
  }
  return out;
}

/** An input error that knows which field of the file it is about (but not where that is). */
export class SpecFieldError extends InputError {
  constructor(
    message: string,
    readonly fieldPath: FieldPath,
  ) {
    super(message, undefined, formatFieldPath(fieldPath));
  }
}

/** Where a normalisation step reports problems (`Problems`, or a caller's own). */
export interface ProblemSink {
  add(path: readonly (string | number)[], message: string): void;
  /** Runs `fn`; an `InputError` it throws becomes a problem at `path`, and `fallback` is returned. */
  attempt<T>(path: readonly (string | number)[], fallback: T, fn: () => T): T;
}

/** Collects problems so a user sees every mistake in one run, not one per run. */
export class Problems implements ProblemSink {
  readonly errors: SpecFieldError[] = [];
  add(path: FieldPath, message: string): void {
    this.errors.push(new SpecFieldError(message, path));
  }
  /** Runs `fn`; an `InputError` it throws becomes a problem at `path`, and `fallback` is returned. */
  attempt<T>(path: FieldPath, fallback: T, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof InputError) {
        this.add(path, err.message);
        return fallback;
      }
      throw err;
    }
  }
}
