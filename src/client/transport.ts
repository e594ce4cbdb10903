/**
 * TLS to an agent, trusted before a single byte of a request is written. A node's trust is one of:
 *   - fingerprint: its certificate must be exactly the pinned one (SHA-256 of the DER), like an
 *     ssh host key; names, dates and chains are not looked at;
 *   - ca: its certificate must chain to the operator's CA file and name the host (normal HTTPS
 *     verification against a private CA);
 *   - system: the same against this machine's CAs (an agent behind a public reverse proxy).
 *
 * The check runs in `connectTrusted`, which hands the socket to the HTTP layer (an
 * `https.Agent`'s or `http.request`'s `createConnection`, callback form) only after the
 * handshake passed it: a request, and so the key in its Authorization header, is never written
 * to a server that failed. TLS sessions are cached per node (and trust), so a command's second
 * connection to a node (plan, then deploy; a feed after a request) resumes instead of paying a
 * full handshake.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import net, { isIP } from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';

export type NodeTrust =
  /** `SHA256:<64 lowercase hex>` */
  | { kind: 'fingerprint'; fingerprint: string }
  /** Absolute path of a PEM file of one or more CA certificates. */
  | { kind: 'ca'; caFile: string }
  | { kind: 'system' };

/** The trust an inventory node asks for: a pin wins, then a CA file, else this machine's CAs. */
export function trustOf(node: { fingerprint?: string | undefined; ca?: string | undefined }): NodeTrust {
  if (node.fingerprint) return { kind: 'fingerprint', fingerprint: node.fingerprint };
  if (node.ca) return { kind: 'ca', caFile: node.ca };
  return { kind: 'system' };
}

function trustId(trust: NodeTrust): string {
  return trust.kind === 'fingerprint'
    ? trust.fingerprint
    : trust.kind === 'ca'
      ? `ca:${trust.caFile}`
      : 'system';
}

/** `SHA256:<hex>` of a certificate in DER. */
export function fingerprintOfDer(der: Buffer): string {
  return `SHA256:${createHash('sha256').update(der).digest('hex')}`;
}

/**
 * The agent's certificate was not trusted: the connection was closed before anything was sent.
 * `presented` is the fingerprint of what the server showed (null if it showed nothing).
 */
export class TlsTrustError extends Error {
  override readonly name = 'TlsTrustError';
  readonly code = 'UNTRUSTED';
  constructor(
    message: string,
    readonly presented: string | null,
    readonly trust: NodeTrust,
  ) {
    super(message);
  }
}

/** The server answered something that is not TLS (plain HTTP, most likely) on an https location. */
export class NotTlsError extends Error {
  override readonly name = 'NotTlsError';
  readonly code = 'NOT_TLS';
}

/** TLS sessions by node, newest last; the oldest go first beyond `max`. */
export class TlsSessionCache {
  /**
   * As latin1 strings: on the JS heap, which compacts, rather than ten thousand small buffers
   * in the C heap among the connections' (~3 KB each, the agent's certificate included).
   */
  private readonly sessions = new Map<string, string>();
  /** Handshakes that resumed a cached session, and full ones (for the fan-out benchmark). */
  readonly stats = { resumed: 0, full: 0 };
  constructor(readonly max = 20_000) {}

  get(key: string): Buffer | undefined {
    const session = this.sessions.get(key);
    return session === undefined ? undefined : Buffer.from(session, 'latin1');
  }

  set(key: string, session: Buffer): void {
    this.sessions.delete(key);
    this.sessions.set(key, session.toString('latin1'));
    if (this.sessions.size > this.max) {
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
  }

  delete(key: string): void {
    this.sessions.delete(key);
  }

  get size(): number {
    return this.sessions.size;
  }
}

/** One cache for the whole process: the CLI's commands and the TUI's requests and feeds share it. */
export const sharedTlsSessions = new TlsSessionCache();

const contexts = new Map<string, tls.SecureContext>();

/** One secure context per trust (a CA file is read and parsed once per process, not per connection). */
function secureContextFor(trust: NodeTrust): tls.SecureContext {
  const id = trust.kind === 'ca' ? `ca:${trust.caFile}` : trust.kind;
  let context = contexts.get(id);
  if (!context) {
    context = tls.createSecureContext({
      minVersion: 'TLSv1.2',
      ...(trust.kind === 'ca' ? { ca: readFileSync(trust.caFile) } : {}),
    });
    contexts.set(id, context);
  }
  return context;
}

export interface TrustedConnectOptions {
  host: string;
  port: number;
  trust: NodeTrust;
  /** The TCP connect. Default 5 s. */
  connectTimeoutMs?: number;
  /**
   * The TLS handshake once TCP is up. Default: `connectTimeoutMs`. The CLI gives it the
   * request's deadline: a handshake needs CPU on both sides, and a fan-out to thousands of
   * nodes can keep this machine busy enough that a connect-sized deadline would call healthy
   * nodes OFFLINE.
   */
  handshakeTimeoutMs?: number;
  sessions?: TlsSessionCache;
  /** Gives up at once (with the signal's reason as the error): the request's deadline, Ctrl-C. */
  signal?: AbortSignal;
  /**
   * TLS over a JS stream around the TCP socket instead of over the socket's handle. Costs ~7 KB
   * more per connection and a JS hop per read, but a TLS socket on the handle keeps a read buffer
   * sized for libuv's 64 KB reads, and ten thousand of them reconnecting at once after a network
   * blip grew a control center's C heap by ~280 MB (glibc reuses the freed connections' memory
   * badly); over a JS stream the same reconnections grew it by less than half (measured with bare
   * Node TLS sockets, 5,000 closed and opened again). The feeds use it to reconnect.
   */
  overJsStream?: boolean;
  /** TCP keepalive on the connection, idle this long (ms). */
  keepAliveMs?: number;
}

/** A Duplex over a TCP socket: what TLS runs on when `overJsStream` is asked. */
function streamOver(raw: net.Socket): Duplex {
  const stream = new Duplex({
    read() {
      raw.resume();
    },
    write(chunk: Buffer, _encoding, done) {
      raw.write(chunk, done);
    },
    final(done) {
      raw.end(() => done());
    },
    destroy(error, done) {
      raw.destroy();
      done(error);
    },
  });
  raw.on('data', (chunk: Buffer) => {
    if (!stream.push(chunk)) raw.pause();
  });
  raw.on('end', () => stream.push(null));
  raw.on('error', (error) => stream.destroy(error));
  raw.on('close', () => stream.destroy());
  return stream;
}

/** A connection error shaped like Node's (a `code` the client classifies: CONNECT_TIMEOUT, …). */
function codedError(code: string, message: string, cause?: unknown): NodeJS.ErrnoException {
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code });
}

/** OpenSSL's ways of saying "what came back is not TLS". */
const NOT_TLS_CODES = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_UNKNOWN_PROTOCOL',
  'ERR_SSL_HTTP_REQUEST',
  'ERR_SSL_RECORD_LAYER_FAILURE',
]);

/**
 * Opens a TLS connection and calls back with it only once the server's certificate passed the
 * node's trust; otherwise calls back with a `TlsTrustError` (or `NotTlsError`, or the socket
 * error) and the socket is already destroyed.
 */
export function connectTrusted(
  options: TrustedConnectOptions,
  callback: (error: Error | null, socket?: Duplex) => void,
): void {
  const { host, port, trust } = options;
  const sessions = options.sessions ?? sharedTlsSessions;
  const cacheKey = `${host}:${port}|${trustId(trust)}`;
  const timeoutMs = options.connectTimeoutMs ?? 5_000;
  const handshakeMs = options.handshakeTimeoutMs ?? timeoutMs;
  const cached = sessions.get(cacheKey);
  // Called once, then forgotten: the socket's listeners below live as long as the connection and
  // share this scope, and the callback may hold an HTTP request (the feeds' WebSocket upgrade),
  // its response and their headers, which would then stay for the connection's whole life
  // (a few KB per feed: tens of MB in a control center over ten thousand nodes).
  let pending: typeof callback | null = callback;
  let settled = false;
  let verified = false;
  const raw = options.overJsStream ? net.connect({ host, port }) : null;
  if (raw) {
    raw.setNoDelay(true);
    if (options.keepAliveMs !== undefined) raw.setKeepAlive(true, options.keepAliveMs);
  }
  const socket = tls.connect({
    ...(raw ? { socket: streamOver(raw) } : { host, port }),
    // No SNI for an IP address (RFC 6066); names are what CA verification checks.
    ...(isIP(host) ? {} : { servername: host }),
    secureContext: secureContextFor(trust),
    // Verified below, by the node's own rule, before anything is written.
    rejectUnauthorized: false,
    ...(cached ? { session: cached } : {}),
  });
  const finish = (error: Error | null) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    socket.off('error', onError);
    socket.off('close', onClose);
    const done = pending;
    pending = null;
    if (error) {
      socket.destroy();
      done?.(error);
    } else done?.(null, socket);
  };
  let timer = setTimeout(
    () => finish(codedError('CONNECT_TIMEOUT', `could not connect within ${seconds(timeoutMs)}`)),
    timeoutMs,
  );
  (raw ?? socket).once('connect', () => {
    if (settled) return;
    clearTimeout(timer);
    timer = setTimeout(
      () => finish(codedError('CONNECT_TIMEOUT', `no TLS handshake within ${seconds(handshakeMs)}`)),
      handshakeMs,
    );
  });
  const onError = (error: NodeJS.ErrnoException) => {
    sessions.delete(cacheKey);
    if (error.code && NOT_TLS_CODES.has(error.code)) {
      finish(new NotTlsError(`the agent did not answer with TLS (${error.code})`, { cause: error }));
    } else finish(error);
  };
  const onAbort = () => {
    const reason = options.signal?.reason;
    finish(reason instanceof Error ? reason : codedError('ABORTED', 'request cancelled'));
  };
  if (options.signal?.aborted) {
    onAbort();
    return;
  }
  options.signal?.addEventListener('abort', onAbort, { once: true });
  // Closed during the handshake without an error of its own: reset.
  const onClose = () => finish(codedError('ECONNRESET', 'connection closed during the TLS handshake'));
  // Requests are small writes (headers, then a body): Nagle's algorithm would hold the second
  // one back until the first is acknowledged, a delayed ACK later (tens of ms per request).
  socket.setNoDelay(true);
  if (!raw && options.keepAliveMs !== undefined) socket.setKeepAlive(true, options.keepAliveMs);
  socket.on('error', onError);
  socket.once('close', onClose);
  socket.on('session', (session: Buffer) => {
    // TLS 1.3 tickets arrive after the handshake: keep only those of a connection that passed.
    if (verified) sessions.set(cacheKey, session);
  });
  socket.once('secureConnect', () => {
    const refusal = refusalOf(socket, host, trust);
    if (refusal) {
      sessions.delete(cacheKey);
      finish(refusal);
      return;
    }
    verified = true;
    if (socket.isSessionReused()) sessions.stats.resumed++;
    else sessions.stats.full++;
    finish(null);
  });
}

/** Why the server's certificate is not trusted, or null when it is. */
function refusalOf(socket: tls.TLSSocket, host: string, trust: NodeTrust): TlsTrustError | null {
  // A resumed session is one this cache kept from a handshake that passed this very trust
  // (keyed by host, port and trust), and resuming it proves the server holds that session's
  // secret. The server sends no certificate then, so there is nothing else to look at.
  if (socket.isSessionReused()) return null;
  const certificate = socket.getPeerX509Certificate();
  const presented = certificate ? fingerprintOfDer(certificate.raw) : null;
  const shown = presented ?? 'no certificate';
  if (trust.kind === 'fingerprint') {
    if (presented && sameFingerprint(presented, trust.fingerprint)) return null;
    return new TlsTrustError(
      `certificate mismatch: the agent presented ${shown}, the inventory pins ${trust.fingerprint}; the key was not sent (if the agent's certificate was replaced on purpose, \`dokkup agent --fingerprint\` on the node prints the new one)`,
      presented,
      trust,
    );
  }
  const against = trust.kind === 'ca' ? `the CA in ${trust.caFile}` : "this machine's CAs";
  const reason = String(socket.authorizationError ?? 'not verified');
  // Node checks the name too (and says ERR_TLS_CERT_ALTNAME_INVALID); that is reported below.
  if (!socket.authorized && reason !== 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const hint =
      trust.kind === 'system'
        ? ` (if this is the agent's own certificate, pin it: fingerprint: "${shown}" — compare with \`dokkup agent --fingerprint\` on the node)`
        : '';
    return new TlsTrustError(
      `certificate ${shown} is not vouched for by ${against}: ${reason}; the key was not sent${hint}`,
      presented,
      trust,
    );
  }
  // The name check of RFC 6125 (DNS names with one-label wildcards; IP addresses exactly).
  const matches = certificate && (isIP(host) ? certificate.checkIP(host) : certificate.checkHost(host));
  if (!matches) {
    return new TlsTrustError(
      `certificate ${shown} is signed by ${against} but not for ${host} (it names ${certificate?.subjectAltName ?? 'nothing'}); the key was not sent`,
      presented,
      trust,
    );
  }
  return null;
}

function sameFingerprint(a: string, b: string): boolean {
  const left = Buffer.from(a.toLowerCase());
  const right = Buffer.from(b.toLowerCase());
  return left.length === right.length && timingSafeEqual(left, right);
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}

/** Request options the `TrustedAgent` reads (passed through `https.request`). */
export interface TrustedRequestOptions {
  dokkupTrust: NodeTrust;
  dokkupConnectTimeoutMs?: number;
  dokkupHandshakeTimeoutMs?: number;
  /** Aborts a connection still being made (a request destroyed before it has a socket waits for one otherwise). */
  dokkupConnectSignal?: AbortSignal;
}

/**
 * An https.Agent (a connection pool) whose connections are made by `connectTrusted`: every
 * request names its node's trust in `dokkupTrust`. Pooled connections are kept per host, port
 * and trust, so a connection verified for one pin is never used for another.
 */
export class TrustedAgent extends https.Agent {
  constructor(
    options: https.AgentOptions,
    private readonly sessions: TlsSessionCache = sharedTlsSessions,
  ) {
    super(options);
  }

  override getName(options: https.RequestOptions & Partial<TrustedRequestOptions> = {}): string {
    const trust = options.dokkupTrust;
    return `${super.getName(options)}|${trust ? trustId(trust) : 'none'}`;
  }

  override createConnection(
    options: https.RequestOptions & Partial<TrustedRequestOptions>,
    callback?: (error: Error | null, stream: Duplex) => void,
  ): Duplex | undefined {
    const trust = options.dokkupTrust;
    const done = (error: Error | null, socket?: Duplex) => callback?.(error, socket as Duplex);
    if (!trust) throw new Error('TrustedAgent: a request without dokkupTrust');
    connectTrusted(
      {
        host: String(options.host ?? options.hostname ?? 'localhost'),
        port: Number(options.port ?? 443),
        trust,
        ...(options.dokkupConnectTimeoutMs === undefined
          ? {}
          : { connectTimeoutMs: options.dokkupConnectTimeoutMs }),
        ...(options.dokkupHandshakeTimeoutMs === undefined
          ? {}
          : { handshakeTimeoutMs: options.dokkupHandshakeTimeoutMs }),
        ...(options.dokkupConnectSignal ? { signal: options.dokkupConnectSignal } : {}),
        sessions: this.sessions,
      },
      done,
    );
    // Callback form: the pool waits for the callback (Node's Agent and ClientRequest both do).
    return undefined;
  }
}
