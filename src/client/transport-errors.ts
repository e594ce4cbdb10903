/**
 * What went wrong talking to an agent, as the typed errors the faces turn into statuses and exit
 * codes: a transport failure (refused, unreachable, timed out, an untrusted certificate, plain HTTP
 * where TLS was expected) or an answer that is an error (401, the agent's own error body, a bare
 * status). The wording names the node and, for the network, the address.
 */
import { ErrorBodySchema } from '../protocol/api.js';
import {
  AgentHttpError,
  AgentProtocolError,
  AgentRequestError,
  AgentUnauthorizedError,
  AgentUnreachableError,
  AgentUntrustedError,
  isUnreachableCode,
} from './errors.js';
import { NotTlsError, TlsTrustError } from './transport.js';

/** A failed request's socket-level error, as the error of `node` at `url`. */
export function transportErrorOf(node: string, url: URL, error: NodeJS.ErrnoException): AgentRequestError {
  if (error instanceof TlsTrustError)
    return new AgentUntrustedError(node, error.message, error.presented, { cause: error });
  if (error instanceof NotTlsError) return notTlsError(node, url, { cause: error });
  if (error.code === 'ABORTED') return new AgentRequestError(node, 'request cancelled', { cause: error });
  if (isUnreachableCode(error.code)) {
    const message =
      error.code === 'CONNECT_TIMEOUT' || error.code === 'REQUEST_TIMEOUT'
        ? error.message
        : `${describeCode(error.code)} (${url.host})`;
    return new AgentUnreachableError(node, message, error.code ?? 'UNKNOWN', { cause: error });
  }
  return new AgentRequestError(node, error.message, { cause: error });
}

/** The error an answer with `status` and body `text` stands for; null for a 2xx. */
export function answerErrorOf(node: string, status: number, text: string): Error | null {
  if (status >= 200 && status < 300) return null;
  const body = ErrorBodySchema.safeParse(tryJson(text));
  // 401, or 429 when the agent throttles an address after too many wrong keys.
  if (status === 401 || (body.success && body.data.error.code === 'unauthorized')) {
    return new AgentUnauthorizedError(
      node,
      body.success ? body.data.error.message : 'the agent refused the key (401)',
    );
  }
  if (body.success) return new AgentHttpError(node, status, body.data.error);
  return new AgentHttpError(node, status, {
    code: status === 404 ? 'not_found' : 'internal',
    message: `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`,
  });
}

/**
 * Plain HTTP where TLS was expected: since 0.4 a location without a scheme means https, so a 0.3
 * inventory meets a plain agent here. Never a fallback: say what to write instead.
 */
export function notTlsError(node: string, url: URL, options?: { cause?: unknown }): AgentProtocolError {
  return new AgentProtocolError(
    node,
    `${url.host} did not answer with TLS (plain HTTP?): a location without a scheme means https. For an agent that serves plain HTTP (--insecure-http, or dokkup 0.3), write location: "http://${url.host}"; better, run it with TLS and pin its certificate (fingerprint: from \`dokkup agent --fingerprint\`)`,
    options,
  );
}

/** A deadline passed: an error with the `code` `transportErrorOf` sorts as unreachable. */
export function timeoutError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/** `text` as JSON, or undefined when it is not. */
export function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describeCode(code: string | undefined): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return 'host name not found';
    case 'EHOSTUNREACH':
    case 'EHOSTDOWN':
      return 'host unreachable';
    case 'ENETUNREACH':
    case 'ENETDOWN':
      return 'network unreachable';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
      return 'connection reset';
    case 'ETIMEDOUT':
      return 'connection timed out';
    default:
      return code ?? 'network error';
  }
}
