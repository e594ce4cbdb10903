/**
 * What can go wrong when talking to one agent, as typed errors. Each says which node status it
 * means (OFFLINE, UNAUTHORIZED, UNTRUSTED, ERROR), so the fan-out classifies a failure by asking the error;
 * the faces turn statuses into labels and exit codes. Nothing here prints or exits.
 */
import { DokkupError, type DokkupErrorCode } from '../core/errors.js';
import type { NodeStatus } from '../core/outcome.js';
import type { ErrorBody } from '../protocol/api.js';

/** Base class: every error the client throws names the node it was talking to. */
export class AgentRequestError extends DokkupError<DokkupErrorCode> {
  override readonly name: string = 'AgentRequestError';
  /** The status of the node this error leaves it in. */
  readonly nodeStatus: NodeStatus = 'error';
  constructor(
    readonly node: string,
    message: string,
    options?: { cause?: unknown; code?: DokkupErrorCode },
  ) {
    super(options?.code ?? 'error', message, undefined, options);
  }
}

/**
 * The agent could not be reached, or did not answer in time: connection refused, DNS failure,
 * host unreachable, connect timeout, request timeout. Shown as OFFLINE.
 */
export class AgentUnreachableError extends AgentRequestError {
  override readonly name = 'AgentUnreachableError';
  override readonly nodeStatus = 'offline';
  constructor(
    node: string,
    message: string,
    /** `ECONNREFUSED`, `ENOTFOUND`, `CONNECT_TIMEOUT`, `REQUEST_TIMEOUT`, ... */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(node, message, { ...options, code: 'offline' });
  }
}

/** The agent answered 401: the inventory's key is wrong. Shown as UNAUTHORIZED. */
export class AgentUnauthorizedError extends AgentRequestError {
  override readonly name = 'AgentUnauthorizedError';
  override readonly nodeStatus = 'unauthorized';
  constructor(node: string, message: string, options?: { cause?: unknown }) {
    super(node, message, { ...options, code: 'unauthorized' });
  }
}

/**
 * The agent's TLS certificate is not the one the inventory trusts (its pin, or its CA and name):
 * the connection was closed before the request, key included, was sent. Shown as UNTRUSTED.
 */
export class AgentUntrustedError extends AgentRequestError {
  override readonly name = 'AgentUntrustedError';
  override readonly nodeStatus = 'untrusted';
  constructor(
    node: string,
    message: string,
    /** `SHA256:<hex>` of the certificate the server presented, or null. */
    readonly presented: string | null,
    options?: { cause?: unknown },
  ) {
    super(node, message, { ...options, code: 'untrusted' });
  }
}

/** The agent answered with an error status and (usually) its `ErrorBody`. */
export class AgentHttpError extends AgentRequestError {
  override readonly name = 'AgentHttpError';
  constructor(
    node: string,
    readonly status: number,
    readonly body: ErrorBody['error'],
  ) {
    super(node, body.message, { code: body.code });
  }
}

/**
 * The agent answered something this client does not understand (not JSON, wrong shape), or a
 * long operation's stream ended before its result: the outcome on the node is then unknown.
 */
export class AgentProtocolError extends AgentRequestError {
  override readonly name = 'AgentProtocolError';
  constructor(node: string, message: string, options?: { cause?: unknown }) {
    super(node, message, { ...options, code: 'protocol' });
  }
}

/** Error codes of Node's socket layer that mean "could not reach the agent". */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EPIPE',
  'ECONNABORTED',
  'EADDRNOTAVAIL',
  'CONNECT_TIMEOUT',
  'REQUEST_TIMEOUT',
]);

export function isUnreachableCode(code: string | undefined): boolean {
  return code !== undefined && UNREACHABLE_CODES.has(code);
}

/** The status a failed request leaves its node in: the error's own, or ERROR for anything else. */
export function reachabilityOf(error: unknown): Exclude<NodeStatus, 'online' | 'skipped'> {
  const status = error instanceof AgentRequestError ? error.nodeStatus : 'error';
  return status === 'online' || status === 'skipped' ? 'error' : status;
}
