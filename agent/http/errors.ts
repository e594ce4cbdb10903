/**
 * Turns anything thrown under a route into an HTTP status and a safe JSON body. This is the one
 * place errors become statuses; nothing else in the agent knows about HTTP codes.
 */
import { z } from 'zod';
import { DokkupError, LeaseHeldError } from '../../src/core/errors.js';
import type { ErrorBody, ErrorCode } from '../../src/protocol/api.js';
import { type ParseProblem, problemOf } from '../../src/protocol/parse.js';

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  invalid_request: 400,
  unauthorized: 401,
  not_found: 404,
  job_busy: 409,
  nothing_to_rollback: 409,
  lease_held: 409,
  lease_lost: 409,
  payload_too_large: 413,
  docker_unavailable: 503,
  interrupted: 503,
};

export function statusForCode(code: ErrorCode): number {
  return STATUS_BY_CODE[code] ?? 500;
}

/** An error that already knows its HTTP status (405, 429, ...) beside its protocol code. */
export class HttpError extends DokkupError {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    code: ErrorCode,
    message: string,
    path?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(code, message, path);
  }
}

export interface ErrorResponse {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
  /** Unexpected errors are logged with their stack; expected ones are not. */
  unexpected: boolean;
}

export function errorBody(code: ErrorCode, message: string, path?: string): ErrorBody {
  return { error: path === undefined ? { code, message } : { code, message, path } };
}

/** A 400 naming the first bad field: `spec.container.0.ports.0.in: expected a number, got "80"`. */
export function badRequest(problem: ParseProblem, prefix = 'body'): HttpError {
  if (problem.count === 0) return new HttpError(400, 'invalid_request', `invalid ${prefix}`);
  const more = problem.count > 1 ? ` (and ${problem.count - 1} more problem(s))` : '';
  const message = `${problem.path || prefix}: ${problem.message}${more}`;
  return new HttpError(400, 'invalid_request', message, problem.path || undefined);
}

const DOCKER_CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EACCES',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
]);

/** A raw socket error from talking to the Docker daemon (the engine should wrap these, but just in case). */
function isDockerConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { code, syscall } = error as NodeJS.ErrnoException;
  return code !== undefined && DOCKER_CONNECT_ERRORS.has(code) && syscall === 'connect';
}

export function toErrorResponse(error: unknown): ErrorResponse {
  if (error instanceof HttpError) {
    return {
      status: error.status,
      body: errorBody(error.code, error.message, error.path),
      headers: error.headers,
      unexpected: false,
    };
  }
  if (error instanceof LeaseHeldError) {
    const body = errorBody(error.code, error.message);
    return {
      status: 409,
      body: { error: { ...body.error, lease: error.lease } },
      headers: {},
      unexpected: false,
    };
  }
  if (error instanceof DokkupError) {
    const status = statusForCode(error.code);
    return {
      status,
      body: errorBody(error.code, error.message, error.path),
      headers: {},
      unexpected: error.code === 'internal',
    };
  }
  if (error instanceof z.ZodError) return toErrorResponse(badRequest(problemOf(error)));
  if (isDockerConnectionError(error)) {
    return {
      status: 503,
      body: errorBody('docker_unavailable', 'the Docker engine is not reachable from the agent'),
      headers: {},
      unexpected: false,
    };
  }
  return {
    status: 500,
    body: errorBody('internal', 'internal error in the agent (details are in its log)'),
    headers: {},
    unexpected: true,
  };
}
