/**
 * `ContainerRuntime` on a real Docker engine through dockerode. The only file (with the feeds'
 * Docker adapter) that knows Docker's API shapes.
 */
import type Docker from 'dockerode';
import { DokkupError } from '../../src/core/errors.js';
import { DOCKER_HUB, DOCKER_HUB_CONFIG_KEY, registryOfImage } from '../../src/core/image-ref.js';
import {
  type ContainerState,
  ContainerStateSchema,
  type ErrorCode,
  type Health,
  type PublishedPort,
} from '../../src/protocol/api.js';
import type { ContainerSpec } from '../../src/protocol/job.js';
import type { RegistryAuth } from '../../src/protocol/registry.js';
import { engineRef } from './engine-ref.js';
import type {
  ContainerInspect,
  ContainerRuntime,
  CreateContainerRequest,
  EngineInfo,
  PullProgress,
  RuntimeContainer,
} from './runtime.js';

const CONTAINER_STATES = new Set<string>(ContainerStateSchema.options);

const MS_TO_NS = 1_000_000;

function toState(s: string | undefined): ContainerState {
  return s !== undefined && CONTAINER_STATES.has(s) ? (s as ContainerState) : 'dead';
}

/** Docker puts the health in the human status: `Up 8 minutes (healthy)`. */
export function healthFromStatus(status: string): Health {
  if (status.includes('(healthy)')) return 'healthy';
  if (status.includes('(unhealthy)')) return 'unhealthy';
  if (status.includes('(health: starting)')) return 'starting';
  return 'none';
}

function toHealth(s: string | undefined): Health {
  return s === 'healthy' || s === 'unhealthy' || s === 'starting' ? s : 'none';
}

/** Errors from dockerode carry `statusCode` and Docker's JSON message in `json.message`. */
function dockerMessage(err: unknown): string {
  const e = err as { json?: { message?: string }; reason?: string; message?: string };
  return e?.json?.message ?? e?.message ?? e?.reason ?? String(err);
}
function statusCode(err: unknown): number | undefined {
  return (err as { statusCode?: number })?.statusCode;
}
function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EACCES' || code === 'ECONNRESET';
}

function wrap(code: ErrorCode, what: string, err: unknown): DokkupError {
  if (err instanceof DokkupError) return err;
  if (isConnectionError(err))
    return new DokkupError('docker_unavailable', `Docker engine unreachable: ${dockerMessage(err)}`);
  return new DokkupError(code, `${what}: ${dockerMessage(err)}`);
}

export function containerConfig(req: CreateContainerRequest): Docker.ContainerCreateOptions {
  const spec: ContainerSpec = req.spec;
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of spec.ports) {
    const key = `${p.in}/${p.protocol}`;
    exposed[key] = {};
    const binding = { HostIp: '', HostPort: p.out === null ? '' : String(p.out) };
    bindings[key] = [...(bindings[key] ?? []), binding];
  }
  const hc = spec.healthcheck;
  const [primaryNetwork] = spec.networks;
  return {
    name: req.name,
    Image: spec.image,
    ...(spec.command ? { Cmd: spec.command } : {}),
    ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
    Env: Object.entries(spec.environment).map(([k, v]) => `${k}=${v}`),
    Labels: { ...spec.labels, ...req.labels },
    ExposedPorts: exposed,
    ...(spec.stopSignal !== undefined ? { StopSignal: spec.stopSignal } : {}),
    ...(spec.stopGracePeriodMs !== undefined ? { StopTimeout: spec.stopGracePeriodMs / 1000 } : {}),
    ...(hc
      ? {
          Healthcheck: {
            ...(hc.test ? { Test: hc.test } : {}),
            ...(hc.intervalMs !== null ? { Interval: hc.intervalMs * MS_TO_NS } : {}),
            ...(hc.timeoutMs !== null ? { Timeout: hc.timeoutMs * MS_TO_NS } : {}),
            ...(hc.retries !== null ? { Retries: hc.retries } : {}),
            ...(hc.startPeriodMs !== null ? { StartPeriod: hc.startPeriodMs * MS_TO_NS } : {}),
          },
        }
      : {}),
    HostConfig: {
      PortBindings: bindings,
      RestartPolicy: { Name: spec.restart === 'no' ? '' : spec.restart },
      Binds: spec.volumes,
      NetworkMode: primaryNetwork ?? 'bridge',
      ...(spec.init !== undefined ? { Init: spec.init } : {}),
      ...(spec.resources.nanoCpus ? { NanoCpus: spec.resources.nanoCpus } : {}),
      ...(spec.resources.memoryBytes ? { Memory: spec.resources.memoryBytes } : {}),
    },
  };
}

const BUILTIN_NETWORKS = new Set(['bridge', 'host', 'none']);

export class DockerRuntime implements ContainerRuntime {
  constructor(private readonly docker: Docker) {}

  async info(): Promise<EngineInfo> {
    try {
      const v = await this.docker.version();
      return { version: v.Version, apiVersion: v.ApiVersion, os: v.Os, arch: v.Arch };
    } catch (err) {
      throw wrap('docker_unavailable', 'Docker version', err);
    }
  }

  async listContainers(labels: Record<string, string | true>): Promise<RuntimeContainer[]> {
    const label = Object.entries(labels).map(([k, v]) => (v === true ? k : `${k}=${v}`));
    try {
      const list = await this.docker.listContainers({ all: true, filters: { label } });
      return list.map((c) => ({
        id: c.Id,
        name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
        labels: c.Labels ?? {},
        image: c.Image,
        imageId: c.ImageID,
        state: toState(c.State),
        status: c.Status,
        health: healthFromStatus(c.Status),
        ports: (c.Ports ?? []).map(
          (p): PublishedPort => ({
            privatePort: p.PrivatePort,
            publicPort: p.PublicPort ?? null,
            protocol: p.Type === 'udp' || p.Type === 'sctp' ? p.Type : 'tcp',
            ip: p.IP ?? null,
          }),
        ),
        createdAt: c.Created,
      }));
    } catch (err) {
      throw wrap('internal', 'listing containers', err);
    }
  }

  async inspectContainer(id: string): Promise<ContainerInspect> {
    try {
      const c = await this.docker.getContainer(engineRef(id)).inspect();
      const log = c.State.Health?.Log ?? [];
      const last = log[log.length - 1];
      return {
        id: c.Id,
        state: toState(c.State.Status),
        health: toHealth(c.State.Health?.Status),
        exitCode: c.State.Running ? null : c.State.ExitCode,
        restartCount: c.RestartCount ?? 0,
        healthLog: last ? String(last.Output).trim().slice(0, 500) : null,
      };
    } catch (err) {
      if (statusCode(err) === 404) throw new DokkupError('not_found', `container ${id.slice(0, 12)} is gone`);
      throw wrap('internal', `inspecting ${id.slice(0, 12)}`, err);
    }
  }

  async imageId(ref: string): Promise<string | null> {
    try {
      return (await this.docker.getImage(engineRef(ref)).inspect()).Id;
    } catch (err) {
      if (statusCode(err) === 404) return null;
      throw wrap('internal', `inspecting image ${ref}`, err);
    }
  }

  async imageHasHealthcheck(ref: string): Promise<boolean> {
    try {
      const test = (await this.docker.getImage(engineRef(ref)).inspect()).Config?.Healthcheck?.Test;
      return Array.isArray(test) && test.length > 0 && test[0] !== 'NONE';
    } catch (err) {
      if (statusCode(err) === 404) return false;
      throw wrap('internal', `inspecting image ${ref}`, err);
    }
  }

  async networkDriver(nameOrId: string): Promise<string | null> {
    try {
      return (await this.docker.getNetwork(engineRef(nameOrId)).inspect()).Driver ?? null;
    } catch (err) {
      if (statusCode(err) === 404) return null;
      throw wrap('internal', `inspecting network ${nameOrId}`, err);
    }
  }

  async volumeBindDevice(name: string): Promise<string | null> {
    try {
      const volume = (await this.docker.getVolume(engineRef(name)).inspect()) as {
        Driver?: string;
        Options?: Record<string, string> | null;
      };
      const options = volume.Options ?? {};
      const bind = (options['o'] ?? '').split(',').includes('bind');
      const device = options['device'];
      return volume.Driver === 'local' && bind && device?.startsWith('/') ? device : null;
    } catch (err) {
      if (statusCode(err) === 404) return null;
      throw wrap('internal', `inspecting volume ${name}`, err);
    }
  }

  async pullImage(ref: string, onProgress: (p: PullProgress) => void, auth?: RegistryAuth): Promise<void> {
    try {
      // dockerode sends `authconfig` as X-Registry-Auth (and keeps it out of the URL).
      const stream = await this.docker.pull(ref, auth ? { authconfig: authConfig(auth) } : {});
      const layers = new Map<string, { current: number; total: number }>();
      let pullError: string | null = null;
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.followProgress(
          stream,
          (err: unknown) => (err ? reject(err) : resolve()),
          (event: {
            id?: string;
            status?: string;
            error?: string;
            progressDetail?: { current?: number; total?: number };
          }) => {
            if (event.error) {
              pullError = event.error;
              return;
            }
            if (event.id && event.progressDetail?.total) {
              layers.set(event.id, {
                current: event.progressDetail.current ?? 0,
                total: event.progressDetail.total,
              });
            }
            let current = 0;
            let total = 0;
            for (const l of layers.values()) {
              current += l.current;
              total += l.total;
            }
            onProgress({
              message: `Pulling ${ref}: ${event.status ?? ''}${total ? ` ${formatBytes(current)} / ${formatBytes(total)}` : ''}`,
              ...(total ? { current, total } : {}),
            });
          },
        );
      });
      if (pullError) throw new DokkupError('pull_failed', describePullFailure(ref, pullError, auth));
    } catch (err) {
      if (err instanceof DokkupError || isConnectionError(err))
        throw wrap('pull_failed', `pulling ${ref}`, err);
      throw new DokkupError('pull_failed', describePullFailure(ref, dockerMessage(err), auth));
    }
  }

  async checkPull(ref: string, auth?: RegistryAuth): Promise<string | null> {
    try {
      // The registry's manifest for the tag, asked through the engine (its registry settings,
      // its network), with the same credentials the pull would use. Nothing is downloaded.
      const asked = this.docker
        .getImage(engineRef(ref))
        .distribution(auth ? ({ authconfig: authConfig(auth) } as object) : {}) as Promise<unknown>;
      await withDeadline(asked, CHECK_PULL_TIMEOUT_MS);
      return null;
    } catch (err) {
      if (err instanceof DeadlineError)
        return `could not ask registry ${registryOfImage(ref)} about ${ref} within ${CHECK_PULL_TIMEOUT_MS / 1000} s`;
      if (isConnectionError(err)) return null; // the engine itself: the deploy will say so
      return describePullFailure(ref, dockerMessage(err), auth, 'cannot pull');
    }
  }

  async createContainer(req: CreateContainerRequest): Promise<string> {
    try {
      const [, ...extraNetworks] = req.spec.networks;
      for (const net of req.spec.networks) await this.ensureNetwork(net);
      const container = await this.docker.createContainer(containerConfig(req));
      for (const net of extraNetworks)
        await this.docker.getNetwork(engineRef(net)).connect({ Container: container.id });
      return container.id;
    } catch (err) {
      throw wrap('create_failed', `creating ${req.name}`, err);
    }
  }

  /** User-defined networks named in a job are created (as bridges) when missing, like compose does. */
  private async ensureNetwork(name: string): Promise<void> {
    if (BUILTIN_NETWORKS.has(name)) return;
    const existing = await this.docker.listNetworks({ filters: { name: [name] } });
    if (existing.some((n) => n.Name === name)) return;
    try {
      await this.docker.createNetwork({ Name: name, Driver: 'bridge', Labels: { 'dokkup.managed': 'true' } });
    } catch (err) {
      if (statusCode(err) !== 409) throw err; // created concurrently: fine
    }
  }

  async startContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(engineRef(id)).start();
    } catch (err) {
      if (statusCode(err) === 304) return; // already started
      throw wrap('start_failed', `starting ${id.slice(0, 12)}`, err);
    }
  }

  async stopContainer(id: string, timeoutSec: number): Promise<void> {
    try {
      await this.docker.getContainer(engineRef(id)).stop({ t: timeoutSec });
    } catch (err) {
      if (statusCode(err) === 304 || statusCode(err) === 404) return;
      throw wrap('internal', `stopping ${id.slice(0, 12)}`, err);
    }
  }

  async removeContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(engineRef(id)).remove({ force: true });
    } catch (err) {
      if (statusCode(err) === 404) return;
      // 409: removal already in progress.
      if (statusCode(err) === 409 && /already in progress/.test(dockerMessage(err))) return;
      throw wrap('internal', `removing ${id.slice(0, 12)}`, err);
    }
  }
}

/** Docker's auth config for X-Registry-Auth, as the Docker CLI builds it. */
function authConfig(auth: RegistryAuth): Record<string, string> {
  const serveraddress = auth.server === DOCKER_HUB ? DOCKER_HUB_CONFIG_KEY : auth.server;
  return auth.identitytoken !== undefined
    ? { identitytoken: auth.identitytoken, serveraddress }
    : { username: auth.username ?? '', password: auth.password ?? '', serveraddress };
}

/** How long a plan waits for a registry to answer whether it would serve an image. */
const CHECK_PULL_TIMEOUT_MS = 10_000;

class DeadlineError extends Error {}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError()), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

const UNAUTHORIZED =
  /unauthorized|authentication required|no basic auth credentials|incorrect username or password|\b401\b|pull access denied|denied: requested access/i;

/**
 * A failed pull, said plainly: which registry refused, and whether credentials were sent (never
 * what they were: any trace of them in Docker's message is cut out).
 */
export function describePullFailure(
  ref: string,
  message: string,
  auth: RegistryAuth | undefined,
  verb = 'pulling',
): string {
  const registry = registryOfImage(ref);
  // dockerode puts its own `(HTTP code 500) server error - ` before Docker's message.
  const detail = redactCredentials(message, auth)
    .replace(/^\(HTTP code \d+\)[^-]*-\s*/, '')
    .trim();
  if (UNAUTHORIZED.test(detail)) {
    return auth
      ? `${verb} ${ref}: registry ${registry} refused the credentials sent for it: unauthorized (${detail})`
      : `${verb} ${ref}: registry ${registry} needs credentials: unauthorized; none were sent (docker login ${registry} on your machine, or add it to registries: in the inventory) (${detail})`;
  }
  return `${verb} ${ref}: ${detail}`;
}

/** `text` without the secrets of `auth` (as sent, or base64-encoded as in an X-Registry-Auth). */
export function redactCredentials(text: string, auth: RegistryAuth | undefined): string {
  if (!auth) return text;
  let out = text;
  const secrets = [auth.password, auth.identitytoken].filter((s): s is string => !!s && s.length >= 3);
  for (const secret of secrets) {
    for (const form of [secret, Buffer.from(secret).toString('base64'), encodeURIComponent(secret)])
      out = out.split(form).join('[redacted]');
  }
  return out;
}

function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}
