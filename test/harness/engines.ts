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
import { dockerSync } from './docker-cli.js';
import { runSync, sleep } from './proc.js';
import { BRIDGE_PREFIX, createOwnedDir, destroyDirSync, newId, reapStaleSync } from './resources.js';

const MAX_ENGINE_SLOTS = 64;

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
  // vitest turns SIGINT/SIGTERM into process.exit(), so this also covers an interrupted run.
  process.on('exit', () => {
    for (const live of liveDirs) destroyDirSync(live);
    liveDirs.clear();
  });
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

export async function startEngine(name: string, opts: EngineOptions = {}): Promise<Engine> {
  assertRoot();
  reapStaleOnce();
  const bridge = `${BRIDGE_PREFIX}${newId().slice(0, 8)}`;
  const owned = createOwnedDir('engines', { bridge, cgroup: bridge, name }, MAX_ENGINE_SLOTS);
  trackLiveDir(owned.dir);
  const run = owned.runDir;
  const socketPath = join(run, 'docker.sock');
  const logFile = join(run, 'dockerd.log');
  const subnet = `10.99.${owned.slot}.0/24`;
  let stopped = false;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    destroyDirSync(owned.dir);
    untrackLiveDir(owned.dir);
  };

  try {
    const inUse = runSync('ip', ['-4', '-o', 'addr', 'show'], { allowFail: true }).stdout;
    if (inUse.includes(` 10.99.${owned.slot}.`)) {
      throw new Error(`subnet ${subnet} is already on an interface of this host:\n${inUse}`);
    }
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
      `base=10.${100 + owned.slot}.0.0/16,size=24`,
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
    //   stays mounted on the host even after a kill -9.
    // unshare execs (no fork), so the spawned pid is dockerd's. Detached: a Ctrl-C reaches
    // vitest, whose exit handler destroys the engine as a whole, rather than dockerd alone.
    const script = 'hostname "$1" && mount --bind "$2" /etc/docker && shift 2 && exec dockerd "$@"';
    mkdirSync('/etc/docker', { recursive: true });
    const child = spawn(
      'unshare',
      ['--mount', '--uts', '--propagation', 'private', 'sh', '-c', script, 'sh', name, etcDocker, ...args],
      { detached: true, stdio: ['ignore', logFd, logFd] },
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

  return { name, dockerHost: `unix://${socketPath}`, socketPath, dir: run, bridge, subnet, logFile, stop };
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
