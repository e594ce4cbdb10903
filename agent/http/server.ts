/**
 * The agent's HTTP server, built but not listening (tests run it on port 0). Routes are the
 * ones in `src/protocol/api.ts`; every route but the health probe needs the node's key.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import {
  DeployRequestSchema,
  LEASE_HEADER,
  LEASE_ID_PATTERN,
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
import type { AuthOutcome } from '../auth/verifier.js';
import type { JobService, ProgressSink } from '../jobs/service.js';
import { type LeaseChange, LeaseTable } from '../leases/lease-table.js';
import { readJson } from './body.js';
import { HttpError, toErrorResponse } from './errors.js';
import { streamOperation } from './ndjson.js';
import { sendError, sendJson } from './respond.js';
import { type RouteContext, Router } from './router.js';

/** What the server needs from the key check (`KeyVerifier` from `agent/auth`). */
export interface RequestAuthorizer {
  authorize(req: IncomingMessage): Promise<AuthOutcome>;
}

export interface AgentServerOptions {
  service: JobService;
  verifier: RequestAuthorizer;
  logger: Logger;
  agentVersion: string;
  /** Default `MAX_BODY_BYTES`. */
  maxBodyBytes?: number;
  /** See `StreamOptions.headerDelayMs`. */
  streamHeaderDelayMs?: number;
  /** The jobs' leases (default: a table of this server's own). */
  leases?: LeaseTable;
  /** Told of every lease taken, renewed, given back or broken (the log; the audit log once there). */
  onLeaseChange?: (change: LeaseChange) => void;
}

export interface AgentServer extends Server {
  /** Long operations (deploy, rollback, stop) still running, whether or not their client is connected. */
  readonly activeOperations: number;
  /** From now on every request gets 503 `interrupted`; running operations go on. */
  beginShutdown(): void;
  /** Resolves true once no operation runs, or false when `timeoutMs` passed first. */
  waitForOperations(timeoutMs: number): Promise<boolean>;
}

const HEALTH_BODY = JSON.stringify({ ok: true });

export function createAgentServer(options: AgentServerOptions): AgentServer {
  const { service, verifier, logger, agentVersion } = options;
  const maxBody = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const leases = options.leases ?? new LeaseTable();
  const leaseChanged = (change: LeaseChange | null) => {
    if (!change) return;
    // Renewals come every few seconds per rollout: logged at debug, the rest at info.
    logger[change.kind === 'renewed' ? 'debug' : 'info'](
      { job: change.job, lease: change.lease, change: change.kind },
      `lease ${change.kind}`,
    );
    options.onLeaseChange?.(change);
  };
  /** A change to a job: refused while somebody else holds its lease (see lease-table.ts). */
  const leaseCheck = (context: RouteContext, job: string) => leases.check(job, leaseIdOf(context.req));
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
    .post(namedRoute(routes.plan), async ({ req, res, params }) => {
      const name = jobName(params);
      const body = await readJson(req, PlanRequestSchema, maxBody);
      if (body.operation === 'deploy') assertSameJob(name, body.spec.name);
      sendJson(res, 200, await service.plan(name, body));
    })
    .post(namedRoute(routes.deploy), async (context) => {
      const name = jobName(context.params);
      const { spec, canary } = await readJson(context.req, DeployRequestSchema, maxBody);
      assertSameJob(name, spec.name);
      leaseCheck(context, name);
      await operation(context, (progress) =>
        service.deploy(spec, progress, canary === undefined ? {} : { canary }),
      );
    })
    .post(namedRoute(routes.rollback), async (context) => {
      const name = jobName(context.params);
      const { to } = await readJson(context.req, RollbackRequestSchema, maxBody);
      leaseCheck(context, name);
      await operation(context, (progress) => service.rollback(name, to, progress));
    })
    .post(namedRoute(routes.stop), async (context) => {
      const name = jobName(context.params);
      const { purge } = await readJson(context.req, StopRequestSchema, maxBody);
      leaseCheck(context, name);
      await operation(context, (progress) => service.stop(name, purge, progress));
    })
    .post(namedRoute(routes.promote), async (context) => {
      const name = jobName(context.params);
      const { version } = await readJson(context.req, PromoteRequestSchema, maxBody);
      leaseCheck(context, name);
      sendJson(context.res, 200, await service.promote(name, version));
    })
    .get(namedRoute(routes.lease), (context) => {
      const name = jobName(context.params);
      sendJson(context.res, 200, leaseState(name, leaseIdOf(context.req)));
    })
    .put(namedRoute(routes.lease), async (context) => {
      const name = jobName(context.params);
      const { renew, ...request } = await readJson(context.req, LeaseRequestSchema, maxBody);
      leaseChanged(leases.acquire(name, request, renew ?? false));
      sendJson(context.res, 200, leaseState(name, request.id));
    })
    .post(namedRoute(routes.leaseRelease), async (context) => {
      const name = jobName(context.params);
      const request = await readJson(context.req, LeaseReleaseSchema, maxBody);
      const change = leases.release(name, request);
      leaseChanged(change);
      sendJson(context.res, 200, {
        job: name,
        released: change?.lease ?? null,
        broken: change?.kind === 'broken',
      });
    });

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
    // Authentication comes before routing so that strangers cannot map the API.
    const auth = await verifier.authorize(req);
    if (!auth.ok) {
      if (auth.reason === 'throttled') {
        throw new HttpError(
          429,
          'unauthorized',
          `too many wrong keys from this address; try again in ${auth.retryAfterSeconds}s`,
          undefined,
          { 'Retry-After': String(auth.retryAfterSeconds) },
        );
      }
      throw new HttpError(
        401,
        'unauthorized',
        auth.reason === 'missing' ? 'missing Authorization: Bearer <key> header' : 'wrong API key',
        undefined,
        { 'WWW-Authenticate': 'Bearer' },
      );
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
    await match.handler({ req, res, params: match.params, path });
  }

  const server = createServer(
    {
      noDelay: true,
      // Bounds for slow or stalled clients (the body limit bounds memory, these bound time).
      headersTimeout: 20_000,
      requestTimeout: 60_000,
    },
    (req, res) => {
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
    },
  ) as AgentServer;

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

/** The `Dokkup-Lease` header: the caller's lease id, checked like any input. */
function leaseIdOf(req: IncomingMessage): string | undefined {
  const value = req.headers[LEASE_HEADER];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !LEASE_ID_PATTERN.test(value)) {
    throw new HttpError(
      400,
      'invalid_request',
      `${LEASE_HEADER} header: must be one lease id of 16 to 64 characters of A-Z a-z 0-9 _ -`,
      LEASE_HEADER,
    );
  }
  return value;
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
