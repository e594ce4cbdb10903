/**
 * Typed errors. Code throws these; only the edges (CLI exit codes, agent HTTP statuses, the
 * TUI status bar) turn them into something else.
 */
import type { ErrorCode, LeaseInfo } from '../protocol/api.js';

/**
 * Codes of errors raised on the operator's side, never sent by an agent: a wrong command line
 * (`usage`), an agent that cannot be reached (`offline`), whose TLS certificate is not the one
 * trusted (`untrusted`) or whose answer makes no sense (`protocol`), and anything else a request
 * ran into (`error`). The `--json` documents carry
 * them as a node's `error.code`, beside the agents' own codes.
 */
export type LocalErrorCode = 'usage' | 'offline' | 'untrusted' | 'protocol' | 'error';
export type DokkupErrorCode = ErrorCode | LocalErrorCode;

/**
 * The root of every error dokkup throws on purpose; anything else is a bug. The agent's errors
 * carry a wire code (`ErrorCode`, the default); the operator's side may also use a local one.
 */
export class DokkupError<Code extends DokkupErrorCode = ErrorCode> extends Error {
  override readonly name: string = 'DokkupError';
  constructor(
    readonly code: Code,
    message: string,
    readonly path?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A location in a user's file, 1-based. */
export interface SourcePosition {
  file: string;
  line: number;
  col: number;
}

/** Bad user input in a file: printed as `file:line:col field: message`. */
export class InputError extends DokkupError {
  override readonly name = 'InputError';
  constructor(
    message: string,
    readonly position?: SourcePosition,
    readonly field?: string,
  ) {
    super('invalid_request', message, field);
  }

  /** `file:line:col field: message` (parts that are unknown are left out). */
  format(): string {
    const where = this.position ? `${this.position.file}:${this.position.line}:${this.position.col}` : '';
    const head = [where, this.field].filter(Boolean).join(' ');
    return head ? `${head}: ${this.message}` : this.message;
  }
}

/** Several input errors found at once (all are reported, not just the first). */
export class InputErrors extends DokkupError {
  override readonly name = 'InputErrors';
  constructor(readonly errors: InputError[]) {
    super('invalid_request', errors.map((e) => e.format()).join('\n'));
  }
}

/** Another operation on the same job is running on this node. */
export class JobBusyError extends DokkupError {
  override readonly name = 'JobBusyError';
  constructor(job: string, operation: string, sinceMs: number) {
    super(
      'job_busy',
      `job ${job} is busy: a ${operation} started ${Math.round(sinceMs / 1000)}s ago is still running`,
    );
  }
}

export class NotFoundError extends DokkupError {
  override readonly name = 'NotFoundError';
  constructor(message: string) {
    super('not_found', message);
  }
}

/** The single errors inside an `InputError` or `InputErrors`, or undefined for anything else. */
export function inputErrorsOf(error: unknown): InputError[] | undefined {
  if (error instanceof InputErrors) return error.errors;
  if (error instanceof InputError) return [error];
  return undefined;
}

/** Another operator holds the job's lease on this node: who, for what, since when. */
export class LeaseHeldError extends DokkupError {
  override readonly name = 'LeaseHeldError';
  constructor(
    message: string,
    readonly lease: LeaseInfo,
  ) {
    super('lease_held', message);
  }
}
