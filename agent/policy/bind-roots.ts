/**
 * The agent's policy as its operator configured it, checked once at start: every `--bind-root`
 * must be an existing directory that neither is, holds nor lies in a protected path (as given
 * and as resolved), and the policy learns whether the filesystem folds case.
 */
import { readFileSync } from 'node:fs';
import { lstat, realpath, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import {
  type AgentPolicy,
  bindRootProblem,
  normalizeHostPath,
  type ProtectedPath,
} from '../../src/core/policy.js';

export class PolicyConfigError extends Error {
  override readonly name = 'PolicyConfigError';
}

export interface PolicyOptions {
  bindRoots: readonly string[];
  allowHostBinds: boolean;
  allowHostNetwork: boolean;
  /** Refused besides the built-in list: the agent's data directory, its Docker socket. */
  protectedPaths?: readonly ProtectedPath[];
}

/** True when `dir` is also reachable with the case of one of its names swapped. */
async function foldsCase(dir: string): Promise<boolean> {
  const parts = dir.split('/');
  for (let i = parts.length - 1; i > 0; i--) {
    const name = parts[i]!;
    const swapped = [...name]
      .map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()))
      .join('');
    if (swapped === name) continue;
    try {
      const [a, b] = await Promise.all([
        stat(dir),
        stat([...parts.slice(0, i), swapped, ...parts.slice(i + 1)].join('/')),
      ]);
      return a.dev === b.dev && a.ino === b.ino;
    } catch {
      return false;
    }
  }
  return false;
}

/** Checks the options and builds the policy; throws `PolicyConfigError` naming the bad root. */
export async function preparePolicy(options: PolicyOptions): Promise<AgentPolicy> {
  const protectedPaths = options.protectedPaths ?? [];
  const roots = new Set<string>();
  let foldCase = false;
  for (const given of options.bindRoots) {
    const normal = normalizeHostPath(given);
    if (normal === null) throw new PolicyConfigError(`--bind-root ${given}: must be an absolute path`);
    if (!options.allowHostBinds) {
      const problem = bindRootProblem(normal, protectedPaths);
      if (problem) throw new PolicyConfigError(`--bind-root ${given}: ${problem}`);
    }
    let real: string;
    try {
      real = await realpath(normal);
      if (!(await lstat(real)).isDirectory())
        throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT'
          ? 'no such directory'
          : code === 'ENOTDIR'
            ? 'not a directory'
            : (error as Error).message;
      throw new PolicyConfigError(
        `--bind-root ${given}: ${why} (create it first; when the agent runs in a container, mount it there at the same path, so the agent sees what Docker will bind)`,
      );
    }
    if (!options.allowHostBinds && real !== normal) {
      const problem = bindRootProblem(real, protectedPaths);
      if (problem) throw new PolicyConfigError(`--bind-root ${given} resolves to ${real}: ${problem}`);
    }
    roots.add(normal);
    roots.add(real);
    if (await foldsCase(real)) foldCase = true;
  }
  return {
    bindRoots: [...roots].map((r) => posix.normalize(r)),
    allowHostBinds: options.allowHostBinds,
    allowHostNetwork: options.allowHostNetwork,
    ...(foldCase ? { foldCase } : {}),
    ...(protectedPaths.length > 0 ? { protectedPaths } : {}),
  };
}

/** Shells that let no one log in: their users' ~/.ssh opens nothing. */
const NO_LOGIN = /(^|\/)(nologin|false|sync|halt|shutdown)$/;

/**
 * `~/.ssh` of every user of the passwd database who can log in (wherever their home is: /home
 * and /root are covered by the built-in list, a `git` user in /srv/git is not).
 */
export function sshDirsOf(passwd: string): ProtectedPath[] {
  const out = new Map<string, ProtectedPath>();
  for (const line of passwd.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 7 || line.startsWith('#')) continue;
    const [user, , , , , home = '', shell = ''] = fields;
    const normal = normalizeHostPath(home);
    if (normal === null || NO_LOGIN.test(shell.trim())) continue;
    const ssh = posix.join(normal, '.ssh');
    out.set(ssh, { path: ssh, what: `${user}'s ssh keys` });
  }
  return [...out.values()];
}

function readPasswd(): string {
  try {
    return readFileSync('/etc/passwd', 'utf8');
  } catch {
    return '';
  }
}

/**
 * What the agent protects besides the built-in list: its own data, its Docker socket, and the
 * ssh keys of the host's users who can log in (from /etc/passwd; in a container, the container's).
 */
export function agentProtectedPaths(
  dataDir: string,
  dockerHost?: string,
  passwd: string = readPasswd(),
): ProtectedPath[] {
  const paths: ProtectedPath[] = [
    {
      path: normalizeHostPath(dataDir) ?? dataDir,
      what: "the agent's own data (its key record, TLS key, history)",
    },
  ];
  const socket = dockerHost?.startsWith('unix://')
    ? normalizeHostPath(dockerHost.slice('unix://'.length))
    : null;
  if (socket) paths.push({ path: socket, what: 'control of Docker (root on the host)' });
  paths.push(...sshDirsOf(passwd));
  return paths;
}
