/**
 * The agent, assembled: job engine, container runtime, history store, HTTP server and live feeds,
 * built but not listening (the fastify build/listen split). `dokkup agent` (main.ts) adds the
 * key file, signals and exit codes; the TUI's embedded mode (embedded.ts) a throwaway key on
 * loopback; tests pass a runtime of their own and need no Docker at all.
 *
 *   const agent = createAgent({ dataDir, verifier, logger, tls: { cert, key } });
 *   await agent.listen(8080, '0.0.0.0');
 *   …
 *   await agent.close(30_000);   // the one shutdown sequence
 */

import type { AddressInfo } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { packageVersion } from '../src/build-info.js';
import { engineAdvisories } from '../src/core/engine-advisories.js';
import { type AgentPolicy, DEFAULT_POLICY } from '../src/core/policy.js';
import { AuditLog } from './audit/audit-log.js';
import { connectDocker } from './docker/connect.js';
import { DockerRuntime } from './docker/docker.js';
import type { FeedRuntime } from './docker/feed-runtime.js';
import { DockerProxyHost } from './docker/proxy-container.js';
import type { ContainerRuntime } from './docker/runtime.js';
import { attachFeeds, type FeedsHandle } from './feeds/index.js';
import type { AuditSink } from './http/audit-recorder.js';
import { type AgentServer, createAgentServer, type RequestAuthorizer } from './http/server.js';
import { JobEngine } from './jobs/engine.js';
import { LeaseTable } from './leases/lease-table.js';
import { agentProtectedPaths } from './policy/bind-roots.js';
import { CaddyAdmin } from './proxy/caddy-admin.js';
import { ProxyManager } from './proxy/manager.js';
import { FileJobStateStore, type JobStateStore } from './store/job-store.js';
import type { CertificatePair } from './tls/certificate.js';

export type { AgentServer } from './http/server.js';

/** How long a shutdown waits for running deploys/rollbacks/stops before closing anyway. */
export const SHUTDOWN_GRACE_MS = 30_000;

export interface CreateAgentOptions {
  /** Key hash (for `dokkup agent`) and job history. */
  dataDir: string;
  /** The key check: a `KeyVerifier` from agent/auth. */
  verifier: RequestAuthorizer & Parameters<typeof attachFeeds>[1]['verifier'];
  logger: Logger;
  /** The Docker engine to drive (unix://, tcp://); default the local socket. Unused with `runtimes`. */
  dockerHost?: string;
  /** Engines of one's own instead of Docker (tests, simulations): jobs and live feeds. */
  runtimes?: { containers: ContainerRuntime; feeds: FeedRuntime };
  /** Default: a file store in `dataDir`. */
  store?: JobStateStore;
  /**
   * What jobs may do on this host (default: no host binds, no host network). The agent's data
   * directory and Docker socket are added to its protected paths either way.
   */
  policy?: AgentPolicy;
  /** Where operations are recorded; default `audit.log` in `dataDir`. */
  audit?: AuditSink;
  /** Default: dokkup's package version. */
  agentVersion?: string;
  /** Default: the machine's host name. */
  hostname?: string;
  /**
   * The certificate to serve HTTPS and WSS with (agent/tls makes or loads it). Absent: plain
   * HTTP, which `dokkup agent` does only when told `--insecure-http`.
   */
  tls?: CertificatePair;
  /** The node proxy's image (default DEFAULT_PROXY_IMAGE). Unused with `runtimes` (no proxy then). */
  proxyImage?: string;
}

/** The image of the node's proxy (Caddy) unless `--proxy-image` names another. */
export const DEFAULT_PROXY_IMAGE = 'caddy:2.6.2-alpine';

export interface Agent {
  /** The HTTP server (not listening until `listen`). */
  readonly server: AgentServer;
  readonly engine: JobEngine;
  readonly runtime: ContainerRuntime;
  readonly agentVersion: string;
  /** Logs whether the engine answers; never throws: without Docker the agent serves 503s until it is back. */
  checkDocker(timeoutMs?: number): Promise<boolean>;
  /**
   * Makes the node's proxy serve the routes of the jobs' current versions (at start: whatever it
   * held). Logs and resolves false on failure; never throws.
   */
  reconcileProxy(): Promise<boolean>;
  /** Starts accepting connections; rejects (e.g. `EADDRINUSE`) when it cannot. */
  listen(port: number, host: string): Promise<AddressInfo>;
  /**
   * The one shutdown sequence: new requests get 503, idle connections close, running operations
   * get `graceMs` to finish, then every connection and feed closes. Resolves true when nothing
   * was still running. Idempotent.
   */
  close(graceMs?: number): Promise<boolean>;
}

export function createAgent(options: CreateAgentOptions): Agent {
  const { logger } = options;
  const agentVersion = options.agentVersion ?? packageVersion();
  const docker = options.runtimes ? undefined : connectDocker(options.dockerHost);
  const dockerRuntime = docker ? new DockerRuntime(docker) : undefined;
  const runtime = options.runtimes?.containers ?? dockerRuntime!;
  // The proxy lives beside a real engine only; its state directory sits in the data directory.
  const stateDir = join(options.dataDir, 'proxy');
  const proxy =
    docker && dockerRuntime
      ? new ProxyManager({
          host: new DockerProxyHost(
            docker,
            (name) => dockerRuntime.ensureNetwork(name),
            async (image) => {
              if ((await dockerRuntime.imageId(image)) === null)
                await dockerRuntime.pullImage(image, () => {});
            },
          ),
          admin: new CaddyAdmin(join(stateDir, 'admin.sock'), join(stateDir, 'probe.sock')),
          stateDir,
          image: options.proxyImage ?? DEFAULT_PROXY_IMAGE,
          ...(typeof process.getuid === 'function' && process.getuid() !== 0
            ? { user: `${process.getuid()}:${process.getgid?.() ?? process.getuid()}` }
            : {}),
          logger: logger.child({ component: 'proxy' }),
          now: Date.now,
          sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        })
      : undefined;
  const engine = new JobEngine({
    runtime,
    store: options.store ?? new FileJobStateStore(options.dataDir, logger),
    logger,
    agentVersion,
    hostname: options.hostname ?? osHostname(),
    ...(proxy ? { proxy } : {}),
    policy: withAgentPaths(
      options.policy ?? DEFAULT_POLICY,
      agentProtectedPaths(options.dataDir, options.dockerHost),
    ),
  });
  // Rollout leases (one per job, with a TTL): agent-wide, in memory (see leases/lease-table.ts).
  const leases = new LeaseTable();
  const jobListeners = new Set<() => void>();
  const server = createAgentServer({
    onJobChange: () => {
      for (const listener of jobListeners) listener();
    },
    service: engine,
    verifier: options.verifier,
    logger,
    agentVersion,
    leases,
    audit: options.audit ?? new AuditLog(options.dataDir),
    ...(options.tls ? { tls: options.tls } : {}),
  });
  // Live feeds (events, stats, logs) over a WebSocket on the same server, same key.
  const feeds: FeedsHandle = attachFeeds(server, {
    verifier: options.verifier,
    ...(options.runtimes ? { runtime: options.runtimes.feeds } : { docker }),
    engine,
    // The job list as `GET /v1/jobs` gives it: with each job's lease.
    summary: {
      info: () => engine.info(),
      listContainers: () => engine.listContainers(),
      listJobs: async () => {
        const list = await engine.listJobs();
        return { jobs: list.jobs.map((job) => ({ ...job, lease: leases.get(job.name) })) };
      },
      onJobsChanged: (listener) => {
        jobListeners.add(listener);
        return () => jobListeners.delete(listener);
      },
    },
    logger,
  });

  let closing: Promise<boolean> | undefined;

  return {
    server,
    engine,
    runtime,
    agentVersion,

    async checkDocker(timeoutMs = 5000) {
      try {
        const info = await withTimeout(runtime.info(), timeoutMs);
        logger.info({ dockerVersion: info.version, apiVersion: info.apiVersion }, 'connected to Docker');
        for (const advisory of engineAdvisories(info.version)) {
          logger.warn({ dockerVersion: info.version, see: advisory.reference }, advisory.message);
        }
        return true;
      } catch (error) {
        logger.warn(
          {
            dockerHost: options.dockerHost ?? 'unix:///var/run/docker.sock',
            error: (error as Error).message,
          },
          'Docker is not reachable; serving anyway (requests that need Docker answer 503 until it is back)',
        );
        return false;
      }
    },

    async reconcileProxy() {
      try {
        await engine.reconcileRoutes();
        return true;
      } catch (error) {
        logger.error({ error: (error as Error).message }, 'cannot reconcile the proxy routes');
        return false;
      }
    },

    listen(port, host) {
      return new Promise((resolve, reject) => {
        const onError = (error: Error) => reject(error);
        server.once('error', onError);
        server.listen(port, host, () => {
          server.off('error', onError);
          resolve(server.address() as AddressInfo);
        });
      });
    },

    close(graceMs = SHUTDOWN_GRACE_MS) {
      closing ??= (async () => {
        server.beginShutdown();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const [httpIdle, engineIdle] = await Promise.all([
          server.waitForOperations(graceMs),
          engine.drain(graceMs),
        ]);
        if (!httpIdle || !engineIdle)
          logger.warn('operations still running after the grace period; closing anyway');
        server.closeAllConnections();
        await feeds.close();
        await closed;
        return httpIdle && engineIdle;
      })();
      return closing;
    },
  };
}

function withAgentPaths(policy: AgentPolicy, paths: AgentPolicy['protectedPaths'] = []): AgentPolicy {
  const known = new Set((policy.protectedPaths ?? []).map((p) => p.path));
  const added = paths.filter((p) => !known.has(p.path));
  return added.length === 0
    ? policy
    : { ...policy, protectedPaths: [...(policy.protectedPaths ?? []), ...added] };
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
