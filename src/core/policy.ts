/**
 * What an agent lets a job do on its host. The agent's key already drives Docker (root on the
 * host); the policy keeps a leaked *inventory* from becoming a leaked *host*: a job may leave its
 * container only where the agent's operator said so.
 *
 * - **Binds** are an allow-list: a host path may be bound only when it lies under one of the
 *   agent's bind roots (`--bind-root DIR`, none by default), both as written (after
 *   normalisation: `//`, `.`, `..`, a trailing `/`) and as the host resolves it (symlinks
 *   followed, done by the agent: `HostFacts`). Paths that give a container the host — `/`,
 *   system directories, Docker's and containerd's sockets and data, device nodes, kernel
 *   interfaces, users' ssh keys, the agent's own data — are refused even under a root, and a
 *   root may not contain them. `--allow-host-binds` lifts all of it (0.3's escape hatch).
 * - **Namespaces**: `network: host` and `container:NAME` (which may be a container on the host
 *   network) are refused unless the agent allows them (`--allow-host-network`). The spec has no
 *   other way out (no privileged, devices, capabilities, pid or ipc fields; the schema refuses
 *   unknown keys).
 *
 * Pure: the agent resolves paths and networks on the host and passes what it found.
 */
import { posix } from 'node:path';
import type { JobSpec } from '../protocol/job.js';
import { splitVolume } from '../protocol/spec-rules.js';

export interface AgentPolicy {
  /**
   * Host directories jobs may bind, absolute and normalised; give both the path as written and
   * as resolved when it is a symlink (`bindRootForms`). Empty: no binds at all.
   */
  bindRoots: readonly string[];
  /** Anything may be bound: the Docker socket, `/`, system paths (the agent says so loudly). */
  allowHostBinds: boolean;
  /** `network: host` and `container:NAME` network modes. */
  allowHostNetwork: boolean;
  /** The host's filesystem folds case (paths compared case-insensitively under the roots). */
  foldCase?: boolean;
  /** Paths refused besides the built-in ones (the agent's data directory, its Docker socket). */
  protectedPaths?: readonly ProtectedPath[];
}

export const DEFAULT_POLICY: AgentPolicy = { bindRoots: [], allowHostBinds: false, allowHostNetwork: false };

export interface ProtectedPath {
  /** Absolute; a `*` segment matches any one name (`/home/*\/.ssh`). */
  path: string;
  /** What a container would get: "the host's configuration". */
  what: string;
}

/** Host paths whose bind gives a container (part of) the host. */
export const PROTECTED_PATHS: readonly ProtectedPath[] = [
  { path: '/', what: "the host's whole filesystem" },
  { path: '/etc', what: "the host's configuration (users, sudoers, cron)" },
  { path: '/root', what: "root's home directory" },
  { path: '/home/*/.ssh', what: "a user's ssh keys" },
  { path: '/boot', what: "the host's kernel and boot loader" },
  { path: '/usr', what: "the host's programs" },
  { path: '/bin', what: "the host's programs" },
  { path: '/sbin', what: "the host's programs" },
  { path: '/lib', what: "the host's libraries" },
  { path: '/lib32', what: "the host's libraries" },
  { path: '/lib64', what: "the host's libraries" },
  { path: '/libx32', what: "the host's libraries" },
  { path: '/proc', what: "the host's processes and kernel interfaces" },
  { path: '/sys', what: "the host's kernel interfaces" },
  { path: '/dev', what: "the host's devices" },
  { path: '/run', what: "the host's runtime sockets (Docker, containerd)" },
  { path: '/var/run', what: "the host's runtime sockets (Docker, containerd)" },
  { path: '/var/lib/docker', what: "Docker's data (every container's files)" },
  { path: '/var/lib/containerd', what: "containerd's data" },
  { path: '/var/lib/containers', what: "the container engine's data" },
  { path: '/var/lib/kubelet', what: "the kubelet's data" },
];

/** What the agent found at a bind source on the host. */
export type HostPathKind =
  | 'directory'
  | 'file'
  | 'socket'
  | 'device'
  | 'fifo'
  /** Nothing there yet: Docker creates it as a directory. */
  | 'missing'
  /** A symlink on the way that points nowhere (or loops): where it leads cannot be told. */
  | 'dangling'
  | 'other';

export interface ResolvedHostPath {
  /** Absolute, symlinks resolved as far as the path exists. */
  path: string;
  kind: HostPathKind;
}

/** What the agent looked up on its host for one spec. */
export interface HostFacts {
  /** Per bind (by index into `container.volumes`), named volumes that are binds included. */
  binds: ReadonlyMap<number, ResolvedHostPath>;
  /**
   * Per named volume that Docker already has as a bind of a host path (the local driver with
   * `o=bind`): that path. Such a volume is a bind by another name, and judged as one.
   */
  volumeDevices?: ReadonlyMap<number, string>;
  /** Per network name in the spec: the driver of the network Docker resolves it to (null: none yet). */
  networkDrivers: ReadonlyMap<string, string | null>;
}

export interface PolicyViolation {
  /** Into the spec: `container.volumes.2`. */
  field: string;
  message: string;
}

// ---------------------------------------------------------------------------------------------
// Paths

/** `//srv/./a/../b/` → `/srv/b`; null for a path that is not absolute. */
export function normalizeHostPath(path: string): string | null {
  if (!path.startsWith('/')) return null;
  const normal = posix.normalize(path).replace(/^\/+/, '/');
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
}

/** `src:dst[:mode]` → the host path when `src` is an absolute path (a bind), else null (a named volume). */
export function hostPathOf(volume: string): string | null {
  const source = splitVolume(volume)?.source;
  return source === undefined ? null : normalizeHostPath(source);
}

function segments(path: string, foldCase: boolean): string[] {
  const text = foldCase ? path.toLowerCase() : path;
  return text === '/' ? [] : text.slice(1).split('/');
}

/** `prefix` is `path` or one of its ancestors; a `*` segment (in either) matches any one name. */
function startsWith(path: string[], prefix: string[]): boolean {
  if (prefix.length > path.length) return false;
  return prefix.every((part, i) => part === '*' || path[i] === '*' || part === path[i]);
}

/** True when `path` is `root` or lies under it (component-wise: `/srv/ab` is not under `/srv/a`). */
export function isUnder(path: string, root: string, foldCase = false): boolean {
  return startsWith(segments(path, foldCase), segments(root, foldCase));
}

/** The protected path `path` reaches (it is inside one, or contains one), or null. */
export function protectedPathOf(path: string, extra: readonly ProtectedPath[] = []): ProtectedPath | null {
  // Always case-insensitive: a false refusal of `/ETC` costs nothing, missing it on a folding
  // filesystem would cost the host.
  const parts = segments(path, true);
  const all = [...extra, ...PROTECTED_PATHS];
  // `/` itself holds everything and everything lies in it: only the exact path counts.
  if (parts.length === 0) return all.find((entry) => entry.path === '/') ?? null;
  const guarded = all
    .filter((entry) => entry.path !== '/')
    .map((entry) => ({ entry, parts: segments(entry.path, true) }));
  // The most telling reason first: a path inside a protected one, then one that holds one.
  return (
    guarded.find((g) => startsWith(parts, g.parts))?.entry ??
    guarded.find((g) => startsWith(g.parts, parts))?.entry ??
    null
  );
}

// ---------------------------------------------------------------------------------------------
// The decision

function describeRoots(policy: AgentPolicy): string {
  if (policy.bindRoots.length === 0)
    return 'this agent allows no host binds (start it with --bind-root DIR to allow some; named volumes need nothing)';
  return `this agent allows binds only under ${policy.bindRoots.join(', ')} (--bind-root)`;
}

function bindViolation(
  volume: string,
  written: string,
  resolved: ResolvedHostPath,
  policy: AgentPolicy,
): string | null {
  const quoted = JSON.stringify(volume);
  const via = resolved.path !== written ? ` (it resolves to ${resolved.path} on the host)` : '';
  const refuse = (what: string, how = '') =>
    `volume ${quoted} would give the container ${what}${how}; this agent refuses it (start it with --allow-host-binds to allow)`;
  // The path as written first: its reason is the one the operator can see in the job file.
  const writtenGuard = protectedPathOf(written, policy.protectedPaths);
  if (writtenGuard) return refuse(writtenGuard.what);
  if (resolved.kind === 'socket' || resolved.kind === 'device') {
    const what = resolved.kind === 'socket' ? 'a socket' : 'a device node';
    return `volume ${quoted} binds ${what}${via}; this agent refuses it (start it with --allow-host-binds to allow)`;
  }
  if (resolved.kind === 'dangling') {
    return `volume ${quoted} goes through a symbolic link that points nowhere on the host, so where it leads cannot be checked; this agent refuses it`;
  }
  const resolvedGuard = protectedPathOf(resolved.path, policy.protectedPaths);
  if (resolvedGuard) return refuse(resolvedGuard.what, via);
  const inRoots = (path: string) => policy.bindRoots.some((root) => isUnder(path, root, policy.foldCase));
  if (!inRoots(written))
    return `volume ${quoted} binds ${written}, outside the bind roots: ${describeRoots(policy)}`;
  if (!inRoots(resolved.path)) {
    return `volume ${quoted} binds ${written}, which resolves to ${resolved.path} on the host through a symbolic link, outside the bind roots: ${describeRoots(policy)}`;
  }
  return null;
}

function networkViolation(network: string, driver: string | null | undefined): string | null {
  const quoted = JSON.stringify(network);
  const flag = 'start the agent with --allow-host-network to allow';
  if (network === 'host' || driver === 'host') {
    return `network ${quoted} puts the container in the host's network namespace (it can reach every service on the host's loopback); this agent refuses it (${flag})`;
  }
  const mode = /^(container|service):/.exec(network)?.[1];
  if (mode) {
    return `network ${quoted} joins another ${mode}'s network namespace (possibly the host's); this agent refuses it (${flag})`;
  }
  return null;
}

/**
 * Why the spec breaks the policy, one entry per offending field; empty when it is allowed.
 * Without `facts` the decision is lexical only (what a caller without the host can say).
 */
export function policyViolations(spec: JobSpec, policy: AgentPolicy, facts?: HostFacts): PolicyViolation[] {
  const out: PolicyViolation[] = [];
  if (!policy.allowHostBinds) {
    spec.container.volumes.forEach((volume, i) => {
      const device = facts?.volumeDevices?.get(i);
      const written = hostPathOf(volume) ?? (device ? normalizeHostPath(device) : null);
      if (written === null) return;
      const resolved = facts?.binds.get(i) ?? { path: written, kind: 'missing' as const };
      const message = bindViolation(volume, written, resolved, policy);
      const named = device ? ` (it names a Docker volume that binds ${device})` : '';
      if (message) out.push({ field: `container.volumes.${i}`, message: `${message}${named}` });
    });
  }
  if (!policy.allowHostNetwork) {
    spec.container.networks.forEach((network, i) => {
      const message = networkViolation(network, facts?.networkDrivers.get(network));
      if (message) out.push({ field: `container.networks.${i}`, message });
    });
  }
  return out;
}

/**
 * Why a directory cannot be a bind root (it is, holds or lies in a protected path), or null.
 * Checked when the agent starts, on the path as given and as resolved.
 */
export function bindRootProblem(root: string, extra: readonly ProtectedPath[] = []): string | null {
  const normal = normalizeHostPath(root);
  if (normal === null) return `${JSON.stringify(root)} is not an absolute path`;
  const guarded = protectedPathOf(normal, extra);
  if (!guarded) return null;
  const parts = segments(normal, true);
  const guardedParts = segments(guarded.path, true);
  const relation = !startsWith(parts, guardedParts)
    ? 'contains'
    : parts.length === guardedParts.length
      ? 'is'
      : 'lies in';
  return `${normal} ${relation} ${guarded.path} (${guarded.what}); name a narrower directory (or use --allow-host-binds to allow every bind)`;
}
