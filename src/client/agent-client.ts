/**
 * A client for one node's agent: JSON requests, and NDJSON streams for the long operations
 * (deploy, rollback, stop) whose progress lines are handed to a callback as they arrive.
 *
 * Built on node:http(s) with a keep-alive agent per node so that the several calls a command
 * makes to one node (plan, then deploy) share one connection. HTTPS connections are made by
 * `transport.ts`, which checks the node's certificate (its pin, or its CA) before anything is
 * sent. Every request has a connect timeout and a deadline; failures come out as the typed
 * errors of `errors.ts`.
 */
import http from 'node:http';
import https from 'node:https';
import type { z } from 'zod';
import {
  type AgentInfo,
  AgentInfoSchema,
  type ContainerList,
  ContainerListSchema,
  type DeployRequest,
  type JobHistory,
  JobHistorySchema,
  type JobList,
  JobListSchema,
  type JobStatus,
  JobStatusSchema,
  LEASE_HEADER,
  LEASE_RELEASE_HEADER,
  LEASE_RELEASE_ON_END,
  LEASE_STATE_HEADER,
  LEASE_TAKE_HEADER,
  type LeaseRelease,
  type LeaseReleased,
  LeaseReleasedSchema,
  type LeaseRequest,
  type LeaseState,
  type LeaseStateHeader,
  LeaseStateSchema,
  OperationLineSchema,
  type OperationResult,
  OperationResultSchema,
  type Plan,
  type PlanRequest,
  PlanSchema,
  type ProgressLine,
  type PromoteResult,
  PromoteResultSchema,
  type RollbackRequest,
  routes,
  type StopRequest,
} from '../protocol/api.js';
import { type AuditList, AuditListSchema } from '../protocol/audit.js';
import type { InventoryNode } from '../protocol/inventory.js';
import type { JobSpec } from '../protocol/job.js';
import { parseJson } from '../protocol/parse.js';
import type { RegistryAuth } from '../protocol/registry.js';
import { AgentProtocolError, AgentRequestError, AgentUnreachableError } from './errors.js';
import { MAX_RESPONSE_BYTES, readOperationStream, seconds } from './operation-stream.js';
import { type NodeTrust, TrustedAgent, trustOf } from './transport.js';
import { answerErrorOf, timeoutError, transportErrorOf, tryJson } from './transport-errors.js';

export interface AgentClientOptions {
  /** Time allowed to open the TCP (and TLS) connection. Default 5 s. */
  connectTimeoutMs?: number;
  /** Deadline for a plain request, body included; for a long operation, for its first byte. Default 30 s. */
  requestTimeoutMs?: number;
  /** Deadline for the whole stream of a long operation (deploy, rollback, stop). Default 30 min. */
  operationTimeoutMs?: number;
  /** Keep connections open between requests to the same node. Default true. */
  keepAlive?: boolean;
  /** Sent as `User-Agent`. */
  userAgent?: string;
  /**
   * Connection pools to use instead of the client's own (shared by many clients, e.g. one-shot
   * connections for very large fan-outs). The client then never closes them.
   */
  sharedAgents?: { http: http.Agent; https: TrustedAgent };
}

export interface RequestOptions {
  /** Aborting cancels the request; the promise rejects with an `AgentRequestError`. */
  signal?: AbortSignal;
  /** The caller's lease id on the job: sent with every change, so the agent refuses others'. */
  lease?: string;
  /**
   * With `lease`, on a plan: take the lease with it (`LEASE_TAKE_HEADER`); a refusal is an
   * `AgentHttpError` `lease_held` naming the holder.
   */
  leaseTake?: LeaseTake;
  /** How the agent says the carried lease stands (not called by agents that do not say: before 0.4). */
  onLeaseState?: (state: LeaseStateHeader) => void;
  /**
   * With `lease`, on a change (deploy, rollback, stop): ask the agent to give the lease back once
   * the operation has ended (`LEASE_RELEASE_HEADER`), when this is the holder's last request to
   * the node.
   */
  releaseLeaseAtEnd?: boolean;
  /** The agent said it gives the lease back at the operation's end (agents that cannot say nothing). */
  onLeaseReleaseAtEnd?: () => void;
}

/** A lease request without its id (the id goes in `LEASE_HEADER`). */
export type LeaseTake = Omit<LeaseRequest, 'id' | 'renew'>;

/** Options of the operations that may pull an image (deploy, rollback). */
export interface PullRequestOptions extends RequestOptions {
  /** Credentials for the registries of the images the operation may pull (sent, never kept). */
  registryAuth?: readonly RegistryAuth[];
}

export interface DeployOptions extends PullRequestOptions {
  /** Put the version out as a canary. */
  canary?: boolean;
}

export type ProgressCallback = (line: ProgressLine) => void;

const DEFAULTS = {
  connectTimeoutMs: 5_000,
  requestTimeoutMs: 30_000,
  operationTimeoutMs: 30 * 60_000,
};

/** `{registryAuth}` when there are credentials to send, else nothing (older agents refuse the field). */
function authOf(options: PullRequestOptions | undefined): { registryAuth?: RegistryAuth[] } {
  return options?.registryAuth?.length ? { registryAuth: [...options.registryAuth] } : {};
}

/** Turns `host:port` (https) or `http(s)://host:port[/prefix]` into a base URL without trailing slash. */
export function baseUrlOf(location: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(location) ? location : `https://${location}`;
  return withScheme.replace(/\/+$/, '');
}

export class AgentClient {
  readonly node: InventoryNode;
  private readonly url: URL;
  private readonly transport: typeof http | typeof https;
  private readonly agent: http.Agent;
  private readonly ownsAgent: boolean;
  private readonly trust: NodeTrust;
  private readonly options: Required<Omit<AgentClientOptions, 'userAgent' | 'sharedAgents'>> & {
    userAgent: string;
  };

  constructor(node: InventoryNode, options: AgentClientOptions = {}) {
    this.node = node;
    this.url = new URL(node.baseUrl || baseUrlOf(node.location));
    this.transport = this.url.protocol === 'https:' ? https : http;
    this.trust = trustOf(node);
    this.options = {
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      operationTimeoutMs: options.operationTimeoutMs ?? DEFAULTS.operationTimeoutMs,
      keepAlive: options.keepAlive ?? true,
      userAgent: options.userAgent ?? 'dokkup-cli',
    };
    const isHttps = this.url.protocol === 'https:';
    this.ownsAgent = options.sharedAgents === undefined;
    if (options.sharedAgents) this.agent = isHttps ? options.sharedAgents.https : options.sharedAgents.http;
    else {
      const agentOptions = { keepAlive: this.options.keepAlive, maxSockets: 4, maxFreeSockets: 2 };
      this.agent = isHttps ? new TrustedAgent(agentOptions) : new http.Agent(agentOptions);
    }
  }

  info(options?: RequestOptions): Promise<AgentInfo> {
    return this.json('GET', routes.info, undefined, AgentInfoSchema, options);
  }

  listJobs(options?: RequestOptions): Promise<JobList> {
    return this.json('GET', routes.jobs, undefined, JobListSchema, options);
  }

  /** Every container on the node's engine, dokkup's and others. */
  listContainers(options?: RequestOptions): Promise<ContainerList> {
    return this.json('GET', routes.containers, undefined, ContainerListSchema, options);
  }

  status(job: string, options?: RequestOptions): Promise<JobStatus> {
    return this.json('GET', routes.job(job), undefined, JobStatusSchema, options);
  }

  history(job: string, options?: RequestOptions): Promise<JobHistory> {
    return this.json('GET', routes.history(job), undefined, JobHistorySchema, options);
  }

  /** The node's audit log: entries since `since` (a duration like `1h` on the agent's clock, or ISO time). */
  audit(query: { since?: string; limit?: number } = {}, options?: RequestOptions): Promise<AuditList> {
    const params = new URLSearchParams();
    if (query.since !== undefined) params.set('since', query.since);
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    const search = params.size > 0 ? `?${params}` : '';
    return this.json('GET', `${routes.audit}${search}`, undefined, AuditListSchema, options);
  }

  plan(job: string, request: PlanRequest, options?: RequestOptions): Promise<Plan> {
    return this.json('POST', routes.plan(job), request, PlanSchema, options);
  }

  deploy(spec: JobSpec, onProgress: ProgressCallback, options?: DeployOptions): Promise<OperationResult> {
    const body: DeployRequest = { spec, ...authOf(options), ...(options?.canary ? { canary: true } : {}) };
    return this.operation(routes.deploy(spec.name), body, onProgress, options);
  }

  /** Clears the node's canary mark of `version` (the canary becomes the job's own version). */
  promote(job: string, version: string, options?: RequestOptions): Promise<PromoteResult> {
    return this.json('POST', routes.promote(job), { version }, PromoteResultSchema, options);
  }

  /** The job's lease on the node (and whether `options.lease` holds it). */
  lease(job: string, options?: RequestOptions): Promise<LeaseState> {
    return this.json('GET', routes.lease(job), undefined, LeaseStateSchema, options);
  }

  /** Takes or renews the job's lease; an `AgentHttpError` `lease_held` names who holds it. */
  acquireLease(job: string, request: LeaseRequest, options?: RequestOptions): Promise<LeaseState> {
    return this.json('PUT', routes.lease(job), request, LeaseStateSchema, options);
  }

  /** Gives the job's lease back (`id`) or breaks it (`force`). */
  releaseLease(job: string, request: LeaseRelease, options?: RequestOptions): Promise<LeaseReleased> {
    return this.json('POST', routes.leaseRelease(job), request, LeaseReleasedSchema, options);
  }

  rollback(
    job: string,
    to: string | undefined,
    onProgress: ProgressCallback,
    options?: PullRequestOptions,
  ): Promise<OperationResult> {
    const body: RollbackRequest = { ...(to === undefined ? {} : { to }), ...authOf(options) };
    return this.operation(routes.rollback(job), body, onProgress, options);
  }

  stop(
    job: string,
    purge: boolean,
    onProgress: ProgressCallback,
    options?: RequestOptions,
  ): Promise<OperationResult> {
    const body: StopRequest = { purge };
    return this.operation(routes.stop(job), body, onProgress, options);
  }

  /** Closes idle kept-alive connections; the client stays usable and reconnects when needed. */
  releaseConnections(): void {
    if (!this.ownsAgent) return;
    for (const sockets of Object.values(this.agent.freeSockets)) {
      for (const socket of sockets ?? []) socket.destroy();
    }
  }

  /** Closes every connection, in use or idle. */
  close(): void {
    if (this.ownsAgent) this.agent.destroy();
  }

  // -------------------------------------------------------------------------------------------

  private async json<S extends z.ZodType>(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    body: unknown,
    schema: S,
    options: RequestOptions = {},
  ): Promise<z.infer<S>> {
    const deadline = Date.now() + this.options.requestTimeoutMs;
    const res = await this.send(method, path, body, this.options.requestTimeoutMs, options);
    const text = await this.readBody(res, Math.max(1, deadline - Date.now()), options.signal);
    await this.throwIfError(res, text);
    return this.parse(schema, text, path);
  }

  private async operation(
    path: string,
    body: unknown,
    onProgress: ProgressCallback,
    options: RequestOptions = {},
  ): Promise<OperationResult> {
    const res = await this.send('POST', path, body, this.options.requestTimeoutMs, options);
    const status = res.statusCode ?? 0;
    const contentType = String(res.headers['content-type'] ?? '');
    if (status >= 300 || !contentType.includes('ndjson')) {
      // An error answered before the operation started, or an agent answering in one piece.
      const text = await this.readBody(res, this.options.requestTimeoutMs, options.signal);
      await this.throwIfError(res, text);
      const parsed = tryJson(text);
      const done = OperationLineSchema.safeParse(parsed);
      if (done.success && done.data.type === 'done') return done.data.result;
      return this.parse(OperationResultSchema, text, path);
    }
    return readOperationStream(res, {
      node: this.node.name,
      path,
      onProgress,
      ...(options.signal ? { signal: options.signal } : {}),
      timeoutMs: this.options.operationTimeoutMs,
    });
  }

  /** Sends a request and resolves with the response once its headers arrived. */
  private send(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    body: unknown,
    headersTimeoutMs: number,
    options: RequestOptions,
    retried = false,
  ): Promise<http.IncomingMessage> {
    const { signal, lease, leaseTake, releaseLeaseAtEnd } = options;
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const node = this.node.name;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new AgentRequestError(node, 'request cancelled'));
        return;
      }
      const basePath = this.url.pathname.replace(/\/+$/, '');
      const isHttps = this.url.protocol === 'https:';
      // A request destroyed before it has a connection waits for one; this ends the wait.
      const connecting = new AbortController();
      const req = this.transport.request({
        // Read by TrustedAgent: the certificate check before anything is written, its deadline.
        ...(isHttps
          ? {
              dokkupTrust: this.trust,
              dokkupConnectTimeoutMs: this.options.connectTimeoutMs,
              // Bounded by the request's deadline (which aborts `connecting`), as an answer is.
              dokkupHandshakeTimeoutMs: headersTimeoutMs,
              dokkupConnectSignal: connecting.signal,
            }
          : {}),
        protocol: this.url.protocol,
        hostname: this.url.hostname.replace(/^\[|\]$/g, ''),
        port: this.url.port || (this.url.protocol === 'https:' ? 443 : 80),
        path: basePath + path,
        method,
        agent: this.agent,
        headers: {
          authorization: `Bearer ${this.node.key}`,
          accept: 'application/json, application/x-ndjson',
          'user-agent': this.options.userAgent,
          ...(lease ? { [LEASE_HEADER]: lease } : {}),
          ...(lease && leaseTake
            ? { [LEASE_TAKE_HEADER]: Buffer.from(JSON.stringify(leaseTake)).toString('base64url') }
            : {}),
          ...(lease && releaseLeaseAtEnd ? { [LEASE_RELEASE_HEADER]: LEASE_RELEASE_ON_END } : {}),
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        },
      });
      let connectTimer: NodeJS.Timeout | undefined;
      const stop = (error: NodeJS.ErrnoException) => {
        connecting.abort(error);
        req.destroy(error);
      };
      const deadlineTimer = setTimeout(() => {
        stop(timeoutError('REQUEST_TIMEOUT', `no answer within ${seconds(headersTimeoutMs)}`));
      }, headersTimeoutMs);
      const onAbort = () => stop(Object.assign(new Error('request cancelled'), { code: 'ABORTED' }));
      signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        clearTimeout(deadlineTimer);
        clearTimeout(connectTimer);
        signal?.removeEventListener('abort', onAbort);
      };
      req.on('socket', (socket) => {
        if (!socket.connecting) return;
        connectTimer = setTimeout(() => {
          req.destroy(
            timeoutError(
              'CONNECT_TIMEOUT',
              `could not connect within ${seconds(this.options.connectTimeoutMs)}`,
            ),
          );
        }, this.options.connectTimeoutMs);
        socket.once('connect', () => clearTimeout(connectTimer));
      });
      req.on('response', (res) => {
        cleanup();
        const state = res.headers[LEASE_STATE_HEADER];
        if (lease && (state === 'held' || state === 'lost')) options.onLeaseState?.(state);
        if (lease && releaseLeaseAtEnd && res.headers[LEASE_RELEASE_HEADER] === LEASE_RELEASE_ON_END) {
          options.onLeaseReleaseAtEnd?.();
        }
        resolve(res);
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        cleanup();
        // A kept-alive socket the agent closed just as we reused it: the request never reached
        // the agent, so sending it again on a fresh connection is safe (once).
        if (req.reusedSocket && !retried && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) {
          this.send(method, path, body, headersTimeoutMs, options, true).then(resolve, reject);
          return;
        }
        reject(this.transportError(error));
      });
      req.end(payload);
    });
  }

  private transportError(error: NodeJS.ErrnoException): AgentRequestError {
    return transportErrorOf(this.node.name, this.url, error);
  }

  private readBody(res: http.IncomingMessage, timeoutMs: number, signal?: AbortSignal): Promise<string> {
    const node = this.node.name;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let settled = false;
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (error) {
          res.destroy();
          reject(error);
        } else resolve(Buffer.concat(chunks).toString('utf8'));
      };
      const timer = setTimeout(
        () =>
          finish(
            new AgentUnreachableError(
              node,
              `no complete answer within ${seconds(timeoutMs)}`,
              'REQUEST_TIMEOUT',
            ),
          ),
        timeoutMs,
      );
      const onAbort = () => finish(new AgentRequestError(node, 'request cancelled'));
      signal?.addEventListener('abort', onAbort, { once: true });
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          finish(new AgentProtocolError(node, `answer larger than ${MAX_RESPONSE_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => finish());
      res.on('error', (error) => finish(this.transportError(error)));
      res.on('aborted', () =>
        finish(new AgentUnreachableError(node, 'connection lost while reading the answer', 'ECONNRESET')),
      );
    });
  }

  private async throwIfError(res: http.IncomingMessage, text: string): Promise<void> {
    const error = answerErrorOf(this.node.name, res.statusCode ?? 0, text);
    if (error) throw error;
  }

  private parse<S extends z.ZodType>(schema: S, text: string, path: string): z.infer<S> {
    const parsed = parseJson(text, schema);
    if (parsed.ok) return parsed.value;
    const { kind, path: field, message } = parsed.problem;
    const where = field ? ` at ${field}` : '';
    const what = kind === 'syntax' ? `not JSON (${message})` : message;
    throw new AgentProtocolError(
      this.node.name,
      `unexpected answer from ${path}${where}: ${what} (is this a dokkup agent of a matching version?)`,
    );
  }
}
