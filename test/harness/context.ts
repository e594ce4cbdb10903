/**
 * What test files use from the harness: the injected description of the engines, registry and
 * images, a describe() that fails loudly without Docker, and docker-CLI helpers that check an
 * engine's state independently of the agent under test.
 */
import { describe, inject, it } from 'vitest';
import { docker, lines } from './docker-cli.js';
import { removeAllImages, type TestImages } from './images.js';
import { type EngineInfo, HARNESS_KEY, type HarnessInfo } from './info.js';

export type { EngineInfo, HarnessInfo, TestImages };

export function harness(): HarnessInfo {
  const info = inject(HARNESS_KEY);
  if (!info)
    throw new Error(
      'the dokkup harness was not provided: is test/harness/global-setup.ts in vitest.config.ts?',
    );
  return info;
}

/**
 * describe() for suites that need real Docker engines. Without them (outside CI the global setup
 * only warns; in CI it throws) the suite is one failing test that says why: a Docker suite that
 * did not run is never reported as passed, nor as skipped.
 */
export function describeDocker(name: string, fn: () => void): void {
  const info = harness();
  if (info.dockerAvailable) describe(name, fn);
  else
    describe(name, () => {
      it('runs on real Docker engines', () => {
        throw new Error(`needs Docker: ${info.reason ?? 'unavailable'} (see DESIGN.md: the test harness)`);
      });
    });
}

/**
 * The engine with this name (node1..node3) or index. Without Docker it returns a placeholder
 * (whose socket does not exist), so that code outside a describeDocker() body can still be
 * collected.
 */
export function engine(which: string | number = 0): EngineInfo {
  const { engines, dockerAvailable } = harness();
  if (!dockerAvailable) {
    const name = typeof which === 'number' ? `node${which + 1}` : which;
    const socketPath = `/nonexistent/dokkup-harness/${name}.sock`;
    return {
      name,
      dockerHost: `unix://${socketPath}`,
      socketPath,
      bridge: '',
      subnet: '',
      portRange: [0, 0],
      logFile: '',
    };
  }
  const found = typeof which === 'number' ? engines[which] : engines.find((e) => e.name === which);
  if (!found)
    throw new Error(`no harness engine ${which} (have: ${engines.map((e) => e.name).join(', ') || 'none'})`);
  return found;
}

/** The test image references (placeholders without Docker, like engine()). */
export function images(): TestImages {
  const refs = harness().images;
  if (refs) return refs;
  const none = 'unavailable.invalid/dokkup-test/none:none';
  return {
    webV1: none,
    webV2: none,
    crash: none,
    unhealthy: none,
    healthy: none,
    healthyV2: none,
    logger: none,
    busy: none,
    stubborn: none,
    signals: none,
    proxy: none,
    neverPushed: none,
  };
}

type EngineRef = EngineInfo | string;
const hostOf = (e: EngineRef): string => (typeof e === 'string' ? e : e.dockerHost);

export interface ResetOptions {
  /** Also remove every image, so the next deploy has to pull (default false). */
  images?: boolean;
}

/**
 * Removes every container of an engine (running or not) with its anonymous volumes, and
 * unused networks and volumes; with `images`, every image too. For use between tests.
 */
export async function resetEngine(e: EngineRef, opts: ResetOptions = {}): Promise<void> {
  const host = hostOf(e);
  const ids = lines((await docker(host, ['ps', '-aq'])).stdout);
  if (ids.length > 0) await docker(host, ['rm', '-f', '-v', ...ids]);
  await docker(host, ['network', 'prune', '-f']);
  await docker(host, ['volume', 'prune', '-f']);
  if (opts.images) await removeAllImages(host);
}

export interface ContainerState {
  id: string;
  /** Without Docker's leading slash. */
  name: string;
  /** The image reference the container was created from. */
  image: string;
  /** sha256:… */
  imageId: string;
  /** created, running, exited, … */
  state: string;
  /** healthy, unhealthy, starting, or null without a health check. */
  health: string | null;
  exitCode: number;
  labels: Record<string, string>;
  created: string;
  /** Published ports: container port (`8000/tcp`) → host port numbers. */
  ports: Record<string, number[]>;
}

interface InspectJson {
  Id: string;
  Name: string;
  Image: string;
  Created: string;
  Config: { Image: string; Labels: Record<string, string> | null };
  State: { Status: string; ExitCode: number; Health?: { Status: string } };
  NetworkSettings: { Ports: Record<string, { HostIp: string; HostPort: string }[] | null> | null };
}

function toState(c: InspectJson): ContainerState {
  const ports: Record<string, number[]> = {};
  for (const [port, bindings] of Object.entries(c.NetworkSettings.Ports ?? {})) {
    if (bindings) ports[port] = bindings.map((b) => Number(b.HostPort));
  }
  return {
    id: c.Id,
    name: c.Name.replace(/^\//, ''),
    image: c.Config.Image,
    imageId: c.Image,
    state: c.State.Status,
    health: c.State.Health?.Status ?? null,
    exitCode: c.State.ExitCode,
    labels: c.Config.Labels ?? {},
    created: c.Created,
    ports,
  };
}

async function listContainers(e: EngineRef, labels: Record<string, string>, all: boolean) {
  const host = hostOf(e);
  const filters = Object.entries(labels).flatMap(([k, v]) => ['--filter', `label=${k}=${v}`]);
  const ids = lines(
    (await docker(host, ['ps', '-q', '--no-trunc', ...(all ? ['-a'] : []), ...filters])).stdout,
  );
  if (ids.length === 0) return [];
  // A container can vanish between ps and inspect; inspect then fails for it only.
  const res = await docker(host, ['inspect', ...ids], { allowFail: true });
  const parsed = res.stdout.trim() ? (JSON.parse(res.stdout) as InspectJson[]) : [];
  return parsed.map(toState).sort((a, b) => a.created.localeCompare(b.created));
}

/** Running containers of an engine carrying all the given labels, oldest first (docker CLI). */
export function runningContainers(
  e: EngineRef,
  labels: Record<string, string> = {},
): Promise<ContainerState[]> {
  return listContainers(e, labels, false);
}

/** All containers (any state) of an engine carrying all the given labels, oldest first. */
export function allContainers(e: EngineRef, labels: Record<string, string> = {}): Promise<ContainerState[]> {
  return listContainers(e, labels, true);
}

/** The host port (on 127.0.0.1) that a container's port is published on. */
export function publishedPort(c: ContainerState, containerPort: string): number {
  const port = c.ports[containerPort]?.[0];
  if (port === undefined) throw new Error(`container ${c.name} does not publish ${containerPort}`);
  return port;
}

/** Body of GET http://127.0.0.1:<port><path>, or throws (with a short timeout). */
export async function httpGet(port: number, path = '/', timeoutMs = 2000): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`GET 127.0.0.1:${port}${path} answered ${res.status}`);
  return res.text();
}

export { docker } from './docker-cli.js';
export {
  copyImages,
  LOGGER_STDERR_PREFIX,
  LOGGER_STDOUT_PREFIX,
  loadImages,
  WEB_BODY,
  WEB_PORT,
} from './images.js';
