/**
 * Private Docker engines, one per simulated node, each in its own directory with its own
 * bridge. Several run at once beside each other (and beside other engineers' test runs).
 *
 * What makes several dockerd coexist on one host:
 * - their own --data-root, --exec-root (which also holds the managed containerd's socket and
 *   state, so each engine gets its own containerd), -H socket and --pidfile;
 * - --config-file pointing at an empty file, so the host's /etc/docker/daemon.json is not read;
 * - their own bridge (`--bridge`) with a subnet no other engine uses, and their own
 *   --default-address-pool so user-defined networks do not overlap either;
 * - --iptables=false --ip-masq=false --ip-forward=false: engines must not rewrite the host's
 *   shared iptables chains under each other, and containers need no route off the host;
 * - --userland-proxy with --ip=127.0.0.1: published ports are served by docker-proxy on
 *   127.0.0.1:<hostport> (no NAT rules needed) and never on the machine's outside interfaces;
 * - --cgroup-parent: each engine's containers sit in their own cgroup subtree;
 * - a private mount and UTS namespace (see startEngine) for its own /etc/docker and hostname.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { dockerSync, harnessPath } from './docker-cli.js';
import { runSync, sleep } from './proc.js';
import {
  BRIDGE_PREFIX,
  createOwnedDir,
  destroyDirSync,
  ENGINE_POOL_BASE,
  MAX_ENGINE_SLOTS,
  newId,
  type OwnedDir,
  reapStaleSync,
} from './resources.js';

/**
 * Random published ports of engine slot N come from PORT_RANGE_BASE + N * PORTS_PER_ENGINE
 * onwards (20000-29599 for the 64 slots): below the kernel's ephemeral range (32768+), which
 * agents, registries and loopback simulators get their ports from.
 */
export const PORT_RANGE_BASE = 20_000;
export const PORTS_PER_ENGINE = 150;

export interface EngineOptions {
  /** Extra dockerd arguments. */
  extraArgs?: readonly string[];
  /** How long dockerd may take to answer (default 60 s). */
  startTimeoutMs?: number;
}

export interface Engine {
  name: string;
  /** For DOCKER_HOST or dockerode: `unix:///…/docker.sock`. */
  dockerHost: string;
  socketPath: string;
  /** The engine's directory (data, exec root, socket, log). */
  dir: string;
  bridge: string;
  /** Subnet of the default bridge network, e.g. 10.99.3.0/24. */
  subnet: string;
  /** Host ports this engine picks random published ports from (inclusive). */
  portRange: [number, number];
  /** dockerd's own log, for diagnosing a failed test. */
  logFile: string;
  stop(): Promise<void>;
}

/** Directories of engines (and other resources) this process started and has not destroyed. */
const liveDirs = new Set<string>();
let exitHookInstalled = false;
let reapedThisProcess = false;

/** Registers a directory to be destroyed if this process exits without stopping it. */
export function trackLiveDir(dir: string): void {
  liveDirs.add(dir);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const destroyAll = (): void => {
    for (const live of liveDirs) destroyDirSync(live);
    liveDirs.clear();
  };
  // In vitest's main process SIGINT/SIGTERM become process.exit(), so 'exit' covers them.
  process.on('exit', destroyAll);
  // A test worker is stopped with SIGTERM (then SIGKILL after 500 ms), which skips 'exit':
  // destroy first, then let the signal do what it would have done. Where someone else
  // handles the signal (vitest's main process), leave the rest to them.
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(sig, () => {
      destroyAll();
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

export function untrackLiveDir(dir: string): void {
  liveDirs.delete(dir);
}

/** Reaps leftovers of crashed runs once per process, before the first resource is made. */
export function reapStaleOnce(): void {
  if (reapedThisProcess) return;
  reapedThisProcess = true;
  const { reaped } = reapStaleSync();
  if (reaped > 0) console.warn(`[dokkup harness] removed ${reaped} leftover(s) of earlier crashed test runs`);
}

export function assertRoot(): void {
  if (process.getuid?.() !== 0)
    throw new Error('the Docker test harness must run as root (it starts dockerd)');
}

/** GET /_ping on the engine's socket: true when dockerd answers OK. */
function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', method: 'GET', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

function tail(file: string, lineCount = 15): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lineCount).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Whether the host already routes an engine slot's subnets (someone else's bridge). */
function slotSubnetsInUse(slot: number): boolean {
  const routes = runSync('ip', ['-4', 'route', 'show', 'table', 'all'], { allowFail: true }).stdout;
  return routes
    .split('\n')
    .some(
      (line) =>
        /^(local |broadcast )?10\.99\.(\d+)\./.exec(line)?.[2] === String(slot) ||
        line.startsWith(`10.${ENGINE_POOL_BASE + slot}.`),
    );
}

/**
 * Claims the lowest free engine slot whose subnets (bridge 10.99.<slot>.0/24, networks from
 * 10.<100+slot>.0.0/16) no interface of the host uses yet. Slots that clash are held while
 * looking further, so the next claim cannot pick them again, then released.
 */
function claimEngineSlot(files: Record<string, string>): OwnedDir {
  const clashing: OwnedDir[] = [];
  try {
    for (;;) {
      const owned = createOwnedDir('engines', files, MAX_ENGINE_SLOTS);
      trackLiveDir(owned.dir);
      // Written before dockerd can make any network, so destroying finds all of them.
      writeFileSync(join(owned.dir, 'pool-prefix'), `10.${ENGINE_POOL_BASE + owned.slot}.`);
      if (!slotSubnetsInUse(owned.slot)) return owned;
      clashing.push(owned);
    }
  } finally {
    for (const c of clashing) {
      destroyDirSync(c.dir);
      untrackLiveDir(c.dir);
    }
  }
}

export async function startEngine(name: string, opts: EngineOptions = {}): Promise<Engine> {
  assertRoot();
  reapStaleOnce();
  const bridge = `${BRIDGE_PREFIX}${newId().slice(0, 8)}`;
  const owned = claimEngineSlot({ bridge, cgroup: bridge, name });
  const run = owned.runDir;
  const socketPath = join(run, 'docker.sock');
  const logFile = join(run, 'dockerd.log');
  const subnet = `10.99.${owned.slot}.0/24`;
  const portRange: [number, number] = [
    PORT_RANGE_BASE + owned.slot * PORTS_PER_ENGINE,
    PORT_RANGE_BASE + (owned.slot + 1) * PORTS_PER_ENGINE - 1,
  ];
  let stopped = false;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    destroyDirSync(owned.dir);
    untrackLiveDir(owned.dir);
  };

  try {
    runSync('ip', ['link', 'add', bridge, 'type', 'bridge']);
    runSync('ip', ['addr', 'add', `10.99.${owned.slot}.1/24`, 'dev', bridge]);
    runSync('ip', ['link', 'set', bridge, 'up']);

    const configFile = join(run, 'daemon.json');
    writeFileSync(configFile, '{}\n');
    const args = [
      '--config-file',
      configFile,
      '--data-root',
      join(run, 'data'),
      '--exec-root',
      join(run, 'exec'),
      '--pidfile',
      join(run, 'docker.pid'),
      '-H',
      `unix://${socketPath}`,
      '--bridge',
      bridge,
      '--default-address-pool',
      `base=10.${ENGINE_POOL_BASE + owned.slot}.0.0/16,size=24`,
      '--iptables=false',
      '--ip-masq=false',
      '--ip-forward=false',
      '--userland-proxy=true',
      '--ip',
      '127.0.0.1',
      '--cgroup-parent',
      `/${bridge}`,
      '--log-level',
      'warn',
      ...(opts.extraArgs ?? []),
    ];
    const etcDocker = join(run, 'etc-docker');
    mkdirSync(etcDocker);
    const logFd = openSync(logFile, 'a');
    // dockerd runs in its own mount and UTS namespaces:
    // - its /etc/docker is private, so each engine makes its own key.json and has its own
    //   engine ID (dockerd 20.10 has no flag for that file's path);
    // - its hostname (docker info's Name) is the node name;
    // - every mount it makes (overlay, netns) lives and dies with its processes, so nothing
    //   stays mounted on the host even after a kill -9;
    // - its view of ip_local_port_range is the engine's own port range: dockerd hands out
    //   random published ports from that file, each engine counting up from the same start
    //   and never checking the host, so engines (and anything else using the kernel's
    //   ephemeral range) would otherwise collide on the first random port.
    // unshare execs (no fork), so the spawned pid is dockerd's. Detached: a Ctrl-C reaches
    // vitest, whose exit handler destroys the engine as a whole, rather than dockerd alone.
    const portRangeFile = join(run, 'ip_local_port_range');
    writeFileSync(portRangeFile, `${portRange[0]}\t${portRange[1]}\n`);
    const script =
      'hostname "$1" && mount --bind "$2" /etc/docker && mount --bind "$3" /proc/sys/net/ipv4/ip_local_port_range && shift 3 && exec dockerd "$@"';
    mkdirSync('/etc/docker', { recursive: true });
    const child = spawn(
      'unshare',
      [
        '--mount',
        '--uts',
        '--propagation',
        'private',
        'sh',
        '-c',
        script,
        'sh',
        name,
        etcDocker,
        portRangeFile,
        ...args,
      ],
      // PATH: the dockerd (and its containerd) of DOKKUP_TEST_DOCKERD_PATH if set.
      { detached: true, stdio: ['ignore', logFd, logFd], env: { ...process.env, PATH: harnessPath() } },
    );
    closeSync(logFd);
    child.unref();
    let exited: string | undefined;
    child.on('error', (e) => {
      exited = `could not start dockerd: ${e.message}`;
    });
    child.on('exit', (code, sig) => {
      exited = `dockerd exited (${sig ?? code})`;
    });

    const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
    while (!(await ping(socketPath))) {
      if (exited) throw new Error(exited);
      if (Date.now() > deadline) throw new Error('dockerd did not answer in time');
      await sleep(50);
    }
    // The brief's readiness criterion, and a check that the CLI talks to this engine.
    dockerSync(`unix://${socketPath}`, ['info', '--format', '{{.ServerVersion}}']);
  } catch (e) {
    const log = tail(logFile);
    await stop();
    const message = e instanceof Error ? e.message : String(e);
    throw new Error(`engine ${name} failed to start: ${message}\n--- dockerd log ---\n${log}`);
  }

  return {
    name,
    dockerHost: `unix://${socketPath}`,
    socketPath,
    dir: run,
    bridge,
    subnet,
    portRange,
    logFile,
    stop,
  };
}

/** Starts several engines at once; if any fails, the others are stopped too. */
export async function startEngines(names: readonly string[], opts: EngineOptions = {}): Promise<Engine[]> {
  const results = await Promise.allSettled(names.map((n) => startEngine(n, opts)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(results.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
    throw failed.reason;
  }
  return results.map((r) => (r as PromiseFulfilledResult<Engine>).value);
}
