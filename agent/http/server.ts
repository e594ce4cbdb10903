/**
 * The agent's HTTP server, built but not listening (tests run it on port 0). Routes are the
 * ones in `src/protocol/api.ts`; every route but the health probe needs the node's key.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { z } from 'zod';
import {
  DeployRequestSchema,
  LeaseReleaseSchema,
  LeaseRequestSchema,
  type LeaseState,
  MAX_BODY_BYTES,
  type OperationResult,
  PlanRequestSchema,
  PromoteRequestSchema,
  RollbackRequestSchema,
  routes,
  StopRequestSchema,
} from '../../src/protocol/api.js';
import { JOB_NAME_PATTERN } from '../../src/protocol/job.js';
import { newNote, parseAuditQuery } from '../audit/entries.js';
import type { AuthOutcome } from '../auth/verifier.js';
import type { DeployOptions, JobService, ProgressSink } from '../jobs/service.js';
import { type LeaseChange, LeaseTable } from '../leases/lease-table.js';
import type { CertificatePair } from '../tls/certificate.js';
import { AuditRecorder, type AuditSink } from './audit-recorder.js';
import { readJson } from './body.js';
import { HttpError, toErrorResponse } from './errors.js';
import { LeaseGate } from './lease-gate.js';
import { leaseIdOf, leaseTakeOf, markLease, renewCarriedLease } from './lease-headers.js';
import { streamOperation } from './ndjson.js';
import { sendError, sendJson } from './respond.js';
import { type RouteContext, Router } from './router.js';
import { createTlsServer, tlsServerOptions } from './tls.js';

/** What the server needs from the key check (`KeyVerifier` from `agent/auth`). */
export interface RequestAuthorizer {
  authorize(req: IncomingMessage): Promise<AuthOutcome>;
}

export interface AgentServerOptions {
  service: JobService;
  verifier: RequestAuthorizer;
  /** Without one, nothing is recorded and `GET /v1/audit` answers 404. */
  audit?: AuditSink;
  /** Clock for audit times (default `Date.now`). */
  now?: () => number;
  logger: Logger;
  agentVersion: string;
  /** Default `MAX_BODY_BYTES`. */
  maxBodyBytes?: number;
  /** See `StreamOptions.headerDelayMs`. */
  streamHeaderDelayMs?: number;
  /** The jobs' leases (default: a table of this server's own). */
  leases?: LeaseTable;
  /** Told of every lease taken, renewed, given back or broken (besides the log and the audit log). */
  onLeaseChange?: (change: LeaseChange) => void;
  /** Told when a job's list entry changed without an operation (a lease taken or released, a promotion). */
  onJobChange?: (job: string) => void;
  /** Serve HTTPS (and WSS) with this certificate; without it, plain HTTP (`--insecure-http`). */
  tls?: CertificatePair;
}

export interface AgentServer extends Server {
  /** Long operations (deploy, rollback, stop) still running, whether or not their client is connected. */
  readonly activeOperations: number;
  /** From now on every request gets 503 `interrupted`; running operations go on. */
  beginShutdown(): void;
  /** Resolves true once no operation runs, or false when `timeoutMs` passed first. */
  waitForOperations(timeoutMs: number): Promise<boolean>;
  /** True when it serves HTTPS. */
  readonly tls: boolean;
  /**
   * Serves this certificate to new connections from now on (a reload); open connections keep
   * theirs. Throws when the pair is unusable (the old one stays) or the server is plain HTTP.
   */
  setCertificate(pair: CertificatePair): void;
}

const HEALTH_BODY = JSON.stringify({ ok: true });

export function createAgentServer(options: AgentServerOptions): AgentServer {
  const { service, verifier, logger, agentVersion } = options;
  const now = options.now ?? Date.now;
  const maxBody = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const gate = new LeaseGate(options.leases ?? new LeaseTable(), {
    logger,
    onLeaseChange: options.onLeaseChange,
    onJobChange: options.onJobChange,
  });
  const { leases } = gate;
  /** A streamed change (deploy, rollback, stop) run past the lease gate (see `LeaseGate.checkChange`). */
  const leasedOperation = (
    context: RouteContext,
    job: string,
    run: (progress: ProgressSink) => Promise<OperationResult>,
  ) => {
    const giveBack = gate.checkChange(context.req, context.res, job);
    return operation(context, async (progress) => {
      try {
        return await run(progress);
      } finally {
        giveBack?.();
      }
    });
  };
  let shuttingDown = false;
  let activeOperations = 0;
  const idleWaiters = new Set<() => void>();

  /** Keeps count of running operations for a graceful shutdown. */
  const tracked = async (run: () => Promise<OperationResult>): Promise<OperationResult> => {
    activeOperations++;
    try {
      return await run();
    } finally {
      activeOperations--;
      if (activeOperations === 0) for (const wake of idleWaiters) wake();
    }
  };

  const operation = (context: RouteContext, run: (progress: ProgressSink) => Promise<OperationResult>) =>
    streamOperation(context.res, (progress) => tracked(() => run(progress)), {
      headerDelayMs: options.streamHeaderDelayMs,
      onUnexpectedError: (error) =>
        logger.error({ err: error, path: context.path }, 'operation threw instead of reporting a result'),
    });

  /** The request's JSON body; a client gone before its end is a 400 like any bad body, not a crash. */
  const body = <T extends z.ZodType>(req: IncomingMessage, schema: T): Promise<z.infer<T>> =>
    readJson(req, schema, maxBody).catch((error: unknown) => {
      if (clientWentAway(error) || req.readableAborted) {
        logger.debug(
          { path: req.url, remote: req.socket.remoteAddress },
          'client went away before its request body ended',
        );
        throw new HttpError(400, 'invalid_request', 'client closed the request before its body ended');
      }
      throw error;
    });

  const auditing = new AuditRecorder({ audit: options.audit, logger, now });

  const router = new Router()
    .get(routes.info, async ({ res }) => sendJson(res, 200, await service.info()))
    .get(routes.jobs, async ({ res }) => {
      const list = await service.listJobs();
      sendJson(res, 200, { jobs: list.jobs.map((job) => ({ ...job, lease: leases.get(job.name) })) });
    })
    .get(routes.containers, async ({ res }) => sendJson(res, 200, await service.listContainers()))
    .get(namedRoute(routes.job), async ({ res, params }) => {
      const name = jobName(params);
      sendJson(res, 200, { ...(await service.status(name)), lease: leases.get(name) });
    })
    .get(namedRoute(routes.history), async ({ res, params }) =>
      sendJson(res, 200, await service.history(jobName(params))),
    )
    .get(routes.audit, async ({ res, query }) => {
      if (!options.audit) throw new HttpError(404, 'not_found', 'this agent keeps no audit log');
      sendJson(res, 200, await options.audit.read(parseAuditQuery(query, now())));
    })
    .post(namedRoute(routes.plan), async (context) => {
      const { req, res, params } = context;
      const started = now();
      let taking = false;
      try {
        const name = jobName(params);
        const planRequest = await body(req, PlanRequestSchema);
        if (planRequest.operation === 'deploy') assertSameJob(name, planRequest.spec.name);
        // The lease taken with the plan (a refusal names its holder), or renewed by it.
        const take = leaseTakeOf(req);
        if (take) {
          taking = true;
          gate.changed(leases.acquire(name, take));
          taking = false;
          markLease(res, 'held');
        } else gate.changed(renewCarriedLease(req, res, leases, name));
        sendJson(res, 200, await service.plan(name, planRequest));
      } catch (error) {
        // A plan changes nothing, but one the agent refuses (its policy, a bad spec) is an attempt,
        // and so is a lease it could not take (recorded as the lease route records it).
        const refusal = toErrorResponse(error);
        if (refusal.status < 500) {
          const job = JOB_NAME_PATTERN.test(params['name'] ?? '') ? params['name']! : null;
          const note = newNote(taking ? 'lease' : 'plan', job);
          note.refusal = { status: refusal.status, error: refusal.body.error };
          await auditing.record(context, note, started);
        }
        throw error;
      }
    })
    .post(
      namedRoute(routes.deploy),
      auditing.route('deploy', async (context, note, settle) => {
        const name = jobName(context.params);
        note.job = name;
        // The credentials go to the pulls of this operation only; the body is never logged.
        const { spec, registryAuth, canary } = await body(context.req, DeployRequestSchema);
        assertSameJob(name, spec.name);
        const deployOptions: DeployOptions = { registryAuth, ...(canary === undefined ? {} : { canary }) };
        await leasedOperation(context, name, async (progress) =>
          settle(await service.deploy(spec, progress, { ...auditing.hooksOf(note), ...deployOptions })),
        );
      }),
    )
    .post(
      namedRoute(routes.rollback),
      auditing.route('rollback', async (context, note, settle) => {
        const name = jobName(context.params);
        note.job = name;
        const { to, registryAuth } = await body(context.req, RollbackRequestSchema);
        await leasedOperation(context, name, async (progress) =>
          settle(await service.rollback(name, to, progress, { ...auditing.hooksOf(note), registryAuth })),
        );
      }),
    )
    .post(
      namedRoute(routes.stop),
      auditing.route('stop', async (context, note, settle) => {
        const name = jobName(context.params);
        note.job = name;
        const { purge } = await body(context.req, StopRequestSchema);
        if (purge) note.operation = 'purge';
        await leasedOperation(context, name, async (progress) =>
          settle(await service.stop(name, purge, progress, auditing.hooksOf(note))),
        );
      }),
    )
    .post(
      namedRoute(routes.promote),
      auditing.route('promote', async (context, note) => {
        const name = jobName(context.params);
        note.job = name;
        const { version } = await body(context.req, PromoteRequestSchema);
        note.versionTo = version;
        gate.check(context.req, context.res, name);
        const promoted = await service.promote(name, version);
        if (promoted.promoted) options.onJobChange?.(name);
        note.done = {
          message: promoted.promoted
            ? `canary ${version} promoted`
            : `no canary of ${version} on this node: nothing to promote`,
        };
        sendJson(context.res, 200, promoted);
      }),
    )
    .get(namedRoute(routes.lease), (context) => {
      const name = jobName(context.params);
      sendJson(context.res, 200, leaseState(name, leaseIdOf(context.req)));
    })
    .put(
      namedRoute(routes.lease),
      auditing.route('lease', async (context, note) => {
        const name = jobName(context.params);
        note.job = name;
        const { renew, ...request } = await body(context.req, LeaseRequestSchema);
        gate.changed(leases.acquire(name, request, renew ?? false));
        // Taking and renewing one's lease is the routine of every rollout (whose changes have
        // entries of their own): only a refusal (another operator's lease, a lost one) is recorded.
        note.skip = true;
        // Since 0.4 a plan takes the lease too, and a request that carries it renews it.
        sendJson(context.res, 200, { ...leaseState(name, request.id), takesWithPlan: true });
      }),
    )
    .post(
      namedRoute(routes.leaseRelease),
      auditing.route('lease-break', async (context, note) => {
        const name = jobName(context.params);
        note.job = name;
        const request = await body(context.req, LeaseReleaseSchema);
        const change = leases.release(name, request);
        gate.changed(change);
        // A holder giving its lease back is routine; breaking another's (`lock release`) is not.
        if (change?.kind === 'broken') note.done = { message: leaseMessage(change) };
        else note.skip = true;
        sendJson(context.res, 200, {
          job: name,
          released: change?.lease ?? null,
          broken: change?.kind === 'broken',
        });
      }),
    );

  function leaseState(job: string, id: string | undefined): LeaseState {
    return { job, lease: leases.get(job), held: leases.holds(job, id) };
  }

  async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (shuttingDown) {
      sendError(res, 503, 'interrupted', 'the agent is shutting down', { Connection: 'close' });
      return;
    }
    if (path === routes.health) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        throw new HttpError(405, 'invalid_request', `${req.method} is not allowed here; use GET`, undefined, {
          Allow: 'GET, HEAD',
        });
      }
      // Deliberately nothing else: the probe is unauthenticated.
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': HEALTH_BODY.length });
      res.end(req.method === 'HEAD' ? undefined : HEALTH_BODY);
      return;
    }
    // Authentication comes before routing so that strangers cannot map the API. A refusal is
    // answered straight away (no exception, no stack): a flood of wrong keys costs little.
    const auth = await verifier.authorize(req);
    if (!auth.ok) {
      if (auth.reason === 'throttled') {
        sendError(
          res,
          429,
          'unauthorized',
          `too many wrong keys from this address; try again in ${auth.retryAfterSeconds}s`,
          {
            'Retry-After': String(auth.retryAfterSeconds),
          },
        );
      } else {
        sendError(
          res,
          401,
          'unauthorized',
          auth.reason === 'missing' ? 'missing Authorization: Bearer <key> header' : 'wrong API key',
          { 'WWW-Authenticate': 'Bearer' },
        );
      }
      return;
    }
    res.setHeader('X-Dokkup-Agent-Version', agentVersion);
    const match = router.match(req.method ?? '', path);
    if (match.kind === 'not_found') throw new HttpError(404, 'not_found', `no such route: ${path}`);
    if (match.kind === 'method_not_allowed') {
      const allowed = match.allowed.join(', ');
      throw new HttpError(
        405,
        'invalid_request',
        `${req.method} is not allowed on ${path}; use ${allowed}`,
        undefined,
        {
          Allow: allowed,
        },
      );
    }
    const query = new URL(req.url ?? '/', 'http://agent').searchParams;
    await match.handler({ req, res, params: match.params, path, query, keyId: auth.keyId });
  }

  const serverOptions = {
    noDelay: true,
    // Bounds for slow or stalled clients (the body limit bounds memory, these bound time).
    headersTimeout: 20_000,
    requestTimeout: 60_000,
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    let logged = false;
    const accessLog = (aborted: boolean) => {
      if (logged) return;
      logged = true;
      const entry = {
        method: req.method,
        path,
        status: res.statusCode,
        ms: Math.round((performance.now() - started) * 10) / 10,
        remote: req.socket.remoteAddress,
        ...(aborted ? { aborted: true } : {}),
      };
      if (path === routes.health) logger.debug(entry, 'request');
      else logger.info(entry, 'request');
    };
    res.once('finish', () => accessLog(false));
    res.once('close', () => accessLog(!res.writableFinished));
    handle(req, res, path).catch((error: unknown) => {
      const response = toErrorResponse(error);
      if (response.unexpected) logger.error({ err: error, method: req.method, path }, 'request failed');
      if (res.headersSent) {
        // Nothing sane can be appended to a response already under way: cut it short.
        res.destroy();
        return;
      }
      const headers =
        response.status === 413 ? { ...response.headers, Connection: 'close' } : response.headers;
      sendJson(res, response.status, response.body, headers);
    });
  };
  const tlsServer: HttpsServer | undefined = options.tls
    ? createTlsServer(serverOptions, options.tls, onRequest)
    : undefined;
  // An https.Server is an http.Server in all that matters here (listen, close, connections).
  const server = (tlsServer ?? createServer(serverOptions, onRequest)) as unknown as AgentServer;

  Object.defineProperty(server, 'tls', { value: tlsServer !== undefined });
  server.setCertificate = (pair) => {
    if (!tlsServer) throw new Error('this agent serves plain HTTP (--insecure-http): no certificate to set');
    tlsServer.setSecureContext(tlsServerOptions(pair));
  };

  Object.defineProperty(server, 'activeOperations', { get: () => activeOperations });
  server.beginShutdown = () => {
    shuttingDown = true;
  };
  server.waitForOperations = (timeoutMs: number) =>
    new Promise<boolean>((resolve) => {
      if (activeOperations === 0) {
        resolve(true);
        return;
      }
      const done = (idle: boolean) => {
        clearTimeout(timer);
        idleWaiters.delete(wake);
        resolve(idle);
      };
      const wake = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      idleWaiters.add(wake);
    });
  return server;
}

/** `/v1/jobs/:name/...` from the protocol's URL builders (which percent-encode `:`). */
function namedRoute(build: (name: string) => string): string {
  const placeholder = 'dokkupjobnameparam';
  return build(placeholder).replace(placeholder, ':name');
}

/** The error a request stream emits when its client disconnects mid-body (`aborted`, ECONNRESET). */
function clientWentAway(error: unknown): boolean {
  const { code, message } = (error ?? {}) as NodeJS.ErrnoException;
  return code === 'ECONNRESET' || message === 'aborted';
}

function jobName(params: Record<string, string>): string {
  const name = params['name'] ?? '';
  if (!JOB_NAME_PATTERN.test(name)) {
    throw new HttpError(
      400,
      'invalid_request',
      `invalid job name ${JSON.stringify(name)}: must start with a letter or digit and use only letters, digits, _ . - (max 63)`,
      'name',
    );
  }
  return name;
}

/** A lease change in the audit log's words: what happened and to whose lease. */
function leaseMessage(change: LeaseChange): string {
  const { operator, host, command, acquiredAt } = change.lease;
  const holder = `${operator}@${host} (${command})`;
  return `${change.kind === 'broken' ? 'broke' : change.kind} the lease of ${holder}, taken ${acquiredAt}`;
}

function assertSameJob(pathName: string, specName: string): void {
  if (pathName !== specName) {
    throw new HttpError(
      400,
      'invalid_request',
      `spec.name: the spec is for job ${JSON.stringify(specName)} but was sent to job ${JSON.stringify(pathName)}`,
      'spec.name',
    );
  }
}
