/**
 * vitest global setup: one loopback registry, three Docker engines (node1..node3) and the test
 * images, shared by every test file of the run; torn down at the end.
 *
 * Without root or the binaries the Docker tests skip with a loud warning, except in CI
 * (CI set), where that is a failure. DOKKUP_TEST_DOCKER=0 skips the engines on purpose, for a
 * quick run of pure unit tests on a developer machine (refused in CI).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { type Engine, startEngines, trackLiveDir, untrackLiveDir } from './engines.js';
import { BUSYBOX_PATH, buildTestImages, CADDY_PATH, isStaticExecutable } from './images.js';
import { HARNESS_KEY, type HarnessInfo } from './info.js';
import { hasCommand } from './proc.js';
import { type Registry, startRegistry } from './registry.js';
import { createOwnedDir, destroyDirSync } from './resources.js';

const ENGINE_NAMES = ['node1', 'node2', 'node3'];
const REQUIRED_COMMANDS = [
  'dockerd',
  'containerd',
  'runc',
  'docker',
  'docker-registry',
  'htpasswd',
  'ip',
  'tar',
  'unshare',
  'mount',
];

function isCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

/** What is missing for the Docker tests, or undefined when everything is there. */
export function missingPrerequisites(): string | undefined {
  const missing: string[] = [];
  if (process.platform !== 'linux') missing.push(`Linux (this is ${process.platform})`);
  if (process.getuid?.() !== 0) missing.push('root (dockerd needs it)');
  for (const cmd of REQUIRED_COMMANDS) if (!hasCommand(cmd)) missing.push(`the ${cmd} command`);
  if (!existsSync(BUSYBOX_PATH)) missing.push(`${BUSYBOX_PATH} (Debian package busybox-static)`);
  else if (!isStaticExecutable(BUSYBOX_PATH)) {
    missing.push(`a static ${BUSYBOX_PATH} (install busybox-static, not busybox)`);
  }
  if (!existsSync(CADDY_PATH))
    missing.push(`${CADDY_PATH} (Debian package caddy: the node proxy's test image)`);
  if (missing.length === 0) return undefined;
  return `missing ${missing.join(', ')}; install with: apt-get install -y docker.io busybox-static docker-registry apache2-utils caddy iproute2`;
}

function loudWarning(reason: string): void {
  const bar = '!'.repeat(78);
  console.warn(
    `\n${bar}\n!!! DOCKER TESTS WILL FAIL: ${reason}\n!!! Every suite that needs a real Docker engine fails with this reason.\n${bar}\n`,
  );
}

function unavailable(reason: string, started: number): HarnessInfo {
  return {
    dockerAvailable: false,
    reason,
    engines: [],
    registry: null,
    privateRegistry: null,
    images: null,
    imageIds: null,
    imageArchive: null,
    setupMs: Date.now() - started,
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const ci = isCi();

  if (process.env.DOKKUP_TEST_DOCKER === '0') {
    if (ci) throw new Error('DOKKUP_TEST_DOCKER=0 is not allowed in CI: the Docker tests must run');
    const reason = 'disabled with DOKKUP_TEST_DOCKER=0';
    loudWarning(reason);
    project.provide(HARNESS_KEY, unavailable(reason, started));
    return async () => {};
  }

  const missing = missingPrerequisites();
  if (missing) {
    if (ci) throw new Error(`Docker tests cannot run in CI: ${missing}`);
    loudWarning(missing);
    project.provide(HARNESS_KEY, unavailable(missing, started));
    return async () => {};
  }

  let engines: Engine[] = [];
  let registry: Registry | undefined;
  let privateRegistry: Registry | undefined;
  const build = createOwnedDir('builds');
  trackLiveDir(build.dir);
  const teardown = async (): Promise<void> => {
    const began = Date.now();
    await Promise.allSettled([...engines.map((e) => e.stop()), registry?.stop(), privateRegistry?.stop()]);
    destroyDirSync(build.dir);
    untrackLiveDir(build.dir);
    if (process.env.DOKKUP_HARNESS_VERBOSE)
      console.log(`[dokkup harness] teardown took ${Date.now() - began} ms`);
  };

  try {
    // The private registry's password is new every run: a grep for it finds only leaks.
    const privateAuth = { username: 'dokkup-ci', password: `dokkup-pw-${randomBytes(12).toString('hex')}` };
    const [startedRegistry, startedPrivate, startedEngines] = await Promise.all([
      startRegistry(),
      startRegistry(privateAuth),
      startEngines(ENGINE_NAMES),
    ]);
    registry = startedRegistry;
    privateRegistry = startedPrivate;
    engines = startedEngines;
    const enginesMs = Date.now() - started;
    const builder = engines[0]!;
    const images = await buildTestImages(builder.dockerHost, registry.host, build.runDir, {
      host: privateRegistry.host,
      ...privateAuth,
    });
    const info: HarnessInfo = {
      dockerAvailable: true,
      engines: engines.map((e) => ({
        name: e.name,
        dockerHost: e.dockerHost,
        socketPath: e.socketPath,
        bridge: e.bridge,
        subnet: e.subnet,
        portRange: e.portRange,
        logFile: e.logFile,
      })),
      registry: registry.host,
      privateRegistry: images.privateRegistry,
      images: images.refs,
      imageIds: images.ids,
      imageArchive: images.archive,
      setupMs: Date.now() - started,
    };
    console.log(
      `[dokkup harness] registries (open + private) + ${engines.length} engines in ${enginesMs} ms, images in ${info.setupMs - enginesMs} ms (setup ${info.setupMs} ms)`,
    );
    project.provide(HARNESS_KEY, info);
  } catch (e) {
    await teardown();
    throw e;
  }
  return teardown;
}
