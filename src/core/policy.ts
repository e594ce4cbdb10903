/**
 * What an agent refuses to run. The agent's key is already a root password for the host (it
 * drives Docker); a job must not be able to turn a leaked *inventory* into a leaked *host* by
 * binding the Docker socket or the host's root into a container. Binds that do are refused
 * unless the agent itself was started with `--allow-host-binds`.
 */
import { posix } from 'node:path';
import type { JobSpec } from '../protocol/job.js';

export interface AgentPolicy {
  /** Allow binds of `/`, the Docker socket and the directories that hold it. */
  allowHostBinds: boolean;
}

export const DEFAULT_POLICY: AgentPolicy = { allowHostBinds: false };

/** Host paths whose bind gives a container control of the host. */
const DANGEROUS = new Map<string, string>([
  ['/', "the host's whole filesystem"],
  ['/var/run/docker.sock', 'control of Docker (root on the host)'],
  ['/run/docker.sock', 'control of Docker (root on the host)'],
  ['/var/run', 'the Docker socket (root on the host)'],
  ['/run', 'the Docker socket (root on the host)'],
  ['/var', 'the Docker socket (root on the host)'],
  ['/var/lib/docker', "Docker's own data (root on the host)"],
  ['/proc', "the host's processes"],
  ['/sys', "the host's kernel settings"],
  ['/etc', "the host's configuration"],
  ['/root', "root's home directory"],
  ['/boot', "the host's kernel"],
  ['/dev', "the host's devices"],
]);

/** `src:dst[:mode]` → the host path when `src` is an absolute path (a bind), else null (a named volume). */
export function hostPathOf(volume: string): string | null {
  const src = volume.split(':')[0] ?? '';
  if (!src.startsWith('/')) return null;
  const normal = posix.normalize(src);
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
}

/** Human-readable reasons the spec breaks the policy; empty when it is allowed. */
export function policyViolations(spec: JobSpec, policy: AgentPolicy): { field: string; message: string }[] {
  if (policy.allowHostBinds) return [];
  const out: { field: string; message: string }[] = [];
  spec.container.forEach((entry, e) => {
    entry.volumes.forEach((volume, i) => {
      const host = hostPathOf(volume);
      const what = host === null ? undefined : DANGEROUS.get(host);
      if (what) {
        out.push({
          field: `container.${e}.volumes.${i}`,
          message: `volume "${volume}" would give the container ${what}; this agent refuses it (start it with --allow-host-binds to allow)`,
        });
      }
    });
  });
  return out;
}
