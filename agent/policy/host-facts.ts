/**
 * What the policy needs to know about the host, looked up on the host: where each bind source
 * really leads (symlinks followed by the kernel's own realpath, as Docker's mount would follow
 * them), what is there (a directory, a socket, a device node), and which network Docker would
 * put a container on for each name in the spec. The decision itself is pure (src/core/policy).
 *
 * Looked up at plan time and again right before a deploy creates anything; a symlink swapped in
 * between the look-up and Docker's mount is the one race left (README, Security).
 */
import type { Stats } from 'node:fs';
import { lstat, realpath, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import {
  type HostFacts,
  type HostPathKind,
  hostPathOf,
  normalizeHostPath,
  type ResolvedHostPath,
} from '../../src/core/policy.js';
import type { JobSpec } from '../../src/protocol/job.js';
import { splitVolume } from '../../src/protocol/spec-rules.js';
import type { ContainerRuntime } from '../docker/runtime.js';

function kindOf(stats: Stats): HostPathKind {
  if (stats.isDirectory()) return 'directory';
  if (stats.isFile()) return 'file';
  if (stats.isSocket()) return 'socket';
  if (stats.isBlockDevice() || stats.isCharacterDevice()) return 'device';
  if (stats.isFIFO()) return 'fifo';
  return 'other';
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException)?.code;
}

/**
 * `raw` as the host resolves it. A path that does not exist yet resolves through its deepest
 * existing ancestor (Docker creates the rest as directories there); an ancestor that is a
 * symlink pointing nowhere, a loop or a path the agent may not look into is `dangling`.
 */
export async function resolveHostPath(raw: string): Promise<ResolvedHostPath> {
  const lexical = normalizeHostPath(raw) ?? raw;
  try {
    // The path as written, `..` and all: the kernel follows a symlink before the `..` after it.
    const real = await realpath(raw);
    return { path: real, kind: kindOf(await stat(real)) };
  } catch (error) {
    if (errorCode(error) !== 'ENOENT' && errorCode(error) !== 'ENOTDIR')
      return { path: lexical, kind: 'dangling' };
  }
  let existing = lexical;
  const rest: string[] = [];
  while (existing !== '/') {
    try {
      await lstat(existing);
      break;
    } catch (error) {
      if (errorCode(error) !== 'ENOENT' && errorCode(error) !== 'ENOTDIR')
        return { path: lexical, kind: 'dangling' };
    }
    rest.unshift(posix.basename(existing));
    existing = posix.dirname(existing);
  }
  try {
    const real = await realpath(existing);
    return { path: posix.join(real, ...rest), kind: rest.length > 0 ? 'missing' : kindOf(await stat(real)) };
  } catch {
    // It exists (lstat saw it) but cannot be resolved: a symlink to nowhere, or a loop.
    return { path: lexical, kind: 'dangling' };
  }
}

/** Docker's built-in networks, which no ID or prefix can stand for. */
const BUILTIN_NETWORKS = new Set(['bridge', 'host', 'none', 'default']);

/** Looks up every bind source, bind-backed named volume and user-defined network of `spec` on this host. */
export async function hostFacts(
  spec: JobSpec,
  runtime: Pick<ContainerRuntime, 'networkDriver' | 'volumeBindDevice'>,
): Promise<HostFacts> {
  const binds = new Map<number, ResolvedHostPath>();
  const volumeDevices = new Map<number, string>();
  await Promise.all(
    spec.container.volumes.map(async (volume, i) => {
      const source = splitVolume(volume)?.source;
      if (source === undefined) return;
      if (hostPathOf(volume) !== null) {
        binds.set(i, await resolveHostPath(source));
        return;
      }
      // A named volume may be a bind made beforehand (`docker volume create -o o=bind …`).
      const device = await runtime.volumeBindDevice(source);
      if (device === null) return;
      volumeDevices.set(i, device);
      binds.set(i, await resolveHostPath(device));
    }),
  );
  const networkDrivers = new Map<string, string | null>();
  for (const network of spec.container.networks) {
    if (BUILTIN_NETWORKS.has(network) || network.includes(':')) continue;
    networkDrivers.set(network, await runtime.networkDriver(network));
  }
  return { binds, networkDrivers, volumeDevices };
}
