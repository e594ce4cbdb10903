/**
 * What can go wrong when talking to one agent, as typed errors. The CLI turns them into node
 * statuses (OFFLINE / UNAUTHORIZED / failed) and exit codes; nothing here prints or exits.
 */
import type { ErrorBody } from '../protocol/api.js';

/** Base class: every error the client throws names the node it was talking to. */
export class AgentRequestError extends Error {
  override readonly name: string = 'AgentRequestError';
  constructor(
    readonly node: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The agent could not be reached, or did not answer in time: connection refused, DNS failure,
 * host unreachable, connect timeout, request timeout. Shown as OFFLINE.
 */
export class AgentUnreachableError extends AgentRequestError {
  override readonly name = 'AgentUnreachableError';
  constructor(
    node: string,
    message: string,
    /** `ECONNREFUSED`, `ENOTFOUND`, `CONNECT_TIMEOUT`, `REQUEST_TIMEOUT`, ... */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(node, message, options);
  }
}

/** The agent answered 401: the inventory's key is wrong. Shown as UNAUTHORIZED. */
export class AgentUnauthorizedError extends AgentRequestError {
  override readonly name = 'AgentUnauthorizedError';
}

/** The agent answered with an error status and (usually) its `ErrorBody`. */
export class AgentHttpError extends AgentRequestError {
  override readonly name = 'AgentHttpError';
  constructor(
    node: string,
    readonly status: number,
    readonly body: ErrorBody['error'],
  ) {
    super(node, body.message);
  }
}

/**
 * The agent answered something this client does not understand (not JSON, wrong shape), or a
 * long operation's stream ended before its result: the outcome on the node is then unknown.
 */
export class AgentProtocolError extends AgentRequestError {
  override readonly name = 'AgentProtocolError';
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

/** How a node is doing, as far as one request could tell. */
export type NodeReachability = 'ok' | 'offline' | 'unauthorized' | 'failed';

export function reachabilityOf(error: unknown): Exclude<NodeReachability, 'ok'> {
  if (error instanceof AgentUnreachableError) return 'offline';
  if (error instanceof AgentUnauthorizedError) return 'unauthorized';
  return 'failed';
}
