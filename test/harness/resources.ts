/**
 * Ownership and cleanup of everything the harness leaves on the machine: engine and registry
 * directories, their processes, mounts, bridges and cgroups.
 *
 * Several engineers run tests on one machine at once, so "clean up leftovers" must never touch a
 * live run's resources. Every resource lives in a directory under HARNESS_BASE holding an `owner`
 * file (`pid:starttime` of the process that made it). A directory whose owner is gone is stale:
 * it is taken over with an atomic rename (only one reaper wins) and destroyed.
 *
 * Destroying is the same for a clean stop and for a crashed run's leftovers: SIGKILL every
 * process whose command line names the directory, and all their descendants (dockerd,
 * containerd, shims, container processes, docker-proxy), then unmount what is left under the
 * directory, delete the bridge and cgroups it names, and remove it. Everything in it is
 * throw-away, so there is nothing to shut down gracefully, and this takes milliseconds where
 * dockerd's own SIGTERM path takes seconds.
 */
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  listProcesses,
  ownerAlive,
  ownerStamp,
  runSync,
  signal,
  sleepSync,
  withDescendants,
} from './proc.js';

export const HARNESS_BASE = process.env.DOKKUP_HARNESS_DIR ?? join(tmpdir(), 'dokkup-harness');

/** Every bridge the harness makes is named `dokkup-<8 hex>` (15 characters, the kernel's limit). */
export const BRIDGE_PREFIX = 'dokkup-';

export type ResourceKind = 'engines' | 'registries' | 'builds';
const KINDS: readonly ResourceKind[] = ['engines', 'registries', 'builds'];
const TRASH = join(HARNESS_BASE, 'trash');

/** 12 hex characters: unique enough to find a run's processes by the path segment `/<id>/`. */
export function newId(): string {
  return randomBytes(6).toString('hex');
}

/**
 * Makes a directory owned by this process, with `files` written into it before it becomes
 * visible under its final name (so a reaper never sees one without its owner or bridge file).
 * With `slots`, the final name is the lowest free slot number (0..slots-1), which the caller
 * uses to pick non-overlapping subnets; without, it is a random id.
 */
export interface OwnedDir {
  /** The directory that holds the owner file (and is renamed away when reaped). */
  dir: string;
  /** Slot number when slots were asked for, else -1. */
  slot: number;
  /**
   * `<dir>/<id>`: where processes keep their files. Processes are found by this path in their
   * command line; the id makes it unique even when a later run claims the same slot number.
   */
  runDir: string;
}

export function createOwnedDir(
  kind: ResourceKind,
  files: Record<string, string> = {},
  slots?: number,
): OwnedDir {
  const parent = join(HARNESS_BASE, kind);
  mkdirSync(parent, { recursive: true });
  const id = newId();
  const staging = join(parent, `.new-${id}`);
  mkdirSync(join(staging, id), { recursive: true, mode: 0o700 });
  writeFileSync(join(staging, 'owner'), ownerStamp());
  writeFileSync(join(staging, 'id'), id);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(staging, name), content);
  if (slots === undefined) {
    const dir = join(parent, id);
    renameSync(staging, dir);
    return { dir, slot: -1, runDir: join(dir, id) };
  }
  for (let slot = 0; slot < slots; slot++) {
    const dir = join(parent, String(slot));
    try {
      // Renaming onto an existing (non-empty) directory fails, so the rename claims the slot.
      renameSync(staging, dir);
      return { dir, slot, runDir: join(dir, id) };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') {
        rmSync(staging, { recursive: true, force: true });
        throw e;
      }
    }
  }
  rmSync(staging, { recursive: true, force: true });
  throw new Error(`all ${slots} ${kind} slots under ${parent} are in use by live test runs`);
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Removes the cgroup directories (deepest first) under /sys/fs/cgroup/<controller>/<name>. */
function removeCgroups(name: string): void {
  const root = '/sys/fs/cgroup';
  let controllers: string[];
  try {
    controllers = readdirSync(root);
  } catch {
    return;
  }
  const removeTree = (path: string): void => {
    try {
      for (const entry of readdirSync(path, { withFileTypes: true })) {
        if (entry.isDirectory()) removeTree(join(path, entry.name));
      }
      rmdirSync(path);
    } catch {
      // Not there, or still busy: cgroups of dead processes are empty and harmless.
    }
  };
  for (const controller of controllers) {
    const path = join(root, controller, name);
    if (existsSync(path)) removeTree(path);
  }
}

function mountsUnder(dir: string): string[] {
  const text = readOptional('/proc/mounts') ?? '';
  const prefix = `${dir}/`;
  return text
    .split('\n')
    .map((line) => line.split(' ')[1]?.replace(/\\040/g, ' ') ?? '')
    .filter((mountPoint) => mountPoint.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

/**
 * Kills every process whose command line names a path inside the run directory with this id,
 * and their descendants, and waits (bounded) until they are gone. Pid files are not trusted:
 * a crashed run's pid may belong to someone else's process by now.
 */
function killProcessesOf(id: string): void {
  const marker = `/${id}/`;
  for (let round = 0; round < 20; round++) {
    const procs = listProcesses();
    const roots = procs.filter((p) => p.cmdline.includes(marker)).map((p) => p.pid);
    const doomed = [...withDescendants(procs, roots)].filter((pid) => pid !== process.pid && !isZombie(pid));
    if (doomed.length === 0) return;
    for (const pid of doomed) signal(pid, 'SIGKILL');
    sleepSync(50);
  }
}

function isZombie(pid: number): boolean {
  const stat = readOptional(`/proc/${pid}/stat`);
  if (stat === undefined) return true;
  const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  return state === 'Z' || state === 'X';
}

/**
 * Destroys a resource directory and everything it names. Synchronous so that it also works
 * from a process 'exit' handler. Idempotent: safe to run twice, or on a half-made directory.
 */
export function destroyDirSync(dir: string): void {
  // Processes keep the path they were started with, which for a directory already moved to
  // the trash is not `dir` any more: they are found by the unique id in that path.
  const id = readOptional(join(dir, 'id'));
  if (id) killProcessesOf(id);
  for (const mountPoint of mountsUnder(dir)) {
    if (runSync('umount', [mountPoint], { allowFail: true }).code !== 0) {
      runSync('umount', ['-l', mountPoint], { allowFail: true });
    }
  }
  const bridge = readOptional(join(dir, 'bridge'));
  if (bridge?.startsWith(BRIDGE_PREFIX)) runSync('ip', ['link', 'del', bridge], { allowFail: true });
  // Bridges dockerd made for user-defined networks live in the host's network namespace and
  // outlive a killed dockerd; they are the `br-*` interfaces in the engine's address pool.
  const poolPrefix = readOptional(join(dir, 'pool-prefix'));
  if (poolPrefix) {
    for (const { dev } of ipv4Interfaces().filter((i) => i.address.startsWith(poolPrefix))) {
      if (dev.startsWith('br-')) runSync('ip', ['link', 'del', dev], { allowFail: true });
    }
  }
  const cgroup = readOptional(join(dir, 'cgroup'));
  if (cgroup?.startsWith(BRIDGE_PREFIX)) removeCgroups(cgroup);
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Takes a directory away from its (dead) owner by moving it into the trash under a name that
 * carries this process's stamp. Returns the new path, or undefined when another reaper won.
 */
function takeOver(dir: string): string | undefined {
  mkdirSync(TRASH, { recursive: true });
  const target = join(TRASH, `${ownerStamp().replace(':', '-')}-${newId()}`);
  try {
    renameSync(dir, target);
    return target;
  } catch {
    return undefined;
  }
}

/** The owner stamp encoded in a trash directory name (`pid-starttime-id`). */
function trashOwner(name: string): string {
  const [pid, start] = name.split('-');
  return `${pid}:${start}`;
}

function listDirs(parent: string): string[] {
  try {
    return readdirSync(parent).map((name) => join(parent, name));
  } catch {
    return [];
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Removes what crashed or killed test runs left behind: their directories (with processes,
 * mounts, bridges, cgroups) and bridges with our prefix that no directory names any more.
 * Never touches resources whose owner is still running.
 */
export function reapStaleSync(): { reaped: number } {
  let reaped = 0;
  // Bridges first: a bridge is only created after the directory naming it exists, so a bridge
  // seen now whose name no directory holds afterwards is an orphan, never a run's new bridge.
  const bridgesBefore = listHarnessBridges();

  for (const kind of KINDS) {
    for (const dir of listDirs(join(HARNESS_BASE, kind))) {
      const name = dir.slice(dir.lastIndexOf('/') + 1);
      if (name.startsWith('.new-')) {
        // A staging directory is renamed within microseconds; an old one is a crash's leftover.
        if (ageMs(dir) > 60_000) rmSync(dir, { recursive: true, force: true });
        continue;
      }
      const owner = readOptional(join(dir, 'owner'));
      if (owner !== undefined && ownerAlive(owner)) continue;
      const taken = takeOver(dir);
      if (taken) {
        destroyDirSync(taken);
        reaped++;
      }
    }
  }
  for (const dir of listDirs(TRASH)) {
    const name = dir.slice(dir.lastIndexOf('/') + 1);
    if (ownerAlive(trashOwner(name))) continue;
    const taken = takeOver(dir);
    if (taken) {
      destroyDirSync(taken);
      reaped++;
    }
  }

  const named = new Set<string>();
  for (const parent of [...KINDS.map((k) => join(HARNESS_BASE, k)), TRASH]) {
    for (const dir of listDirs(parent)) {
      const bridge = readOptional(join(dir, 'bridge'));
      if (bridge) named.add(bridge);
    }
  }
  for (const bridge of bridgesBefore) {
    if (!named.has(bridge) && runSync('ip', ['link', 'del', bridge], { allowFail: true }).code === 0)
      reaped++;
  }
  for (const dev of orphanNetworkBridges()) {
    if (runSync('ip', ['link', 'del', dev], { allowFail: true }).code === 0) reaped++;
  }
  return { reaped };
}

export function ipv4Interfaces(): { dev: string; address: string }[] {
  const out = runSync('ip', ['-4', '-o', 'addr', 'show'], { allowFail: true }).stdout;
  const found: { dev: string; address: string }[] = [];
  for (const line of out.split('\n')) {
    const match = /^\d+:\s+(\S+)\s+inet\s+(\S+)/.exec(line);
    if (match?.[1] && match[2]) found.push({ dev: match[1], address: match[2] });
  }
  return found;
}

/**
 * Engine slot N hands out user-defined networks from 10.<ENGINE_POOL_BASE + N>.0.0/16; the
 * bridge of such a network is `br-<network id>`.
 */
export const ENGINE_POOL_BASE = 100;
export const MAX_ENGINE_SLOTS = 64;

/** `br-*` bridges in an engine slot's pool whose slot no directory holds: a killed engine's. */
function orphanNetworkBridges(): string[] {
  const interfaces = ipv4Interfaces();
  // Interfaces first, directories second (see reapStaleSync).
  const slotsHeld = new Set(
    listDirs(join(HARNESS_BASE, 'engines')).map((d) => d.slice(d.lastIndexOf('/') + 1)),
  );
  const orphans: string[] = [];
  for (const { dev, address } of interfaces) {
    const match = /^10\.(\d+)\./.exec(address);
    const slot = Number(match?.[1]) - ENGINE_POOL_BASE;
    if (!dev.startsWith('br-') || !(slot >= 0 && slot < MAX_ENGINE_SLOTS)) continue;
    if (!slotsHeld.has(String(slot))) orphans.push(dev);
  }
  return orphans;
}

export function listHarnessBridges(): string[] {
  const out = runSync('ip', ['-o', 'link', 'show', 'type', 'bridge'], { allowFail: true }).stdout;
  const names: string[] = [];
  for (const line of out.split('\n')) {
    const match = /^\d+:\s+([^:@\s]+)/.exec(line);
    if (match?.[1]?.startsWith(BRIDGE_PREFIX)) names.push(match[1]);
  }
  return names;
}
