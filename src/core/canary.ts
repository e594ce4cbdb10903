/**
 * Whether a canary stays healthy while `--promote-after` (or `update.auto_promote`) watches it:
 * judged from the node's job status (polled) and its live container events. Pure.
 *
 * Healthy means: the node still runs the canary version with its canary mark, every container
 * of it is running and not unhealthy, none was replaced since the watch began, and no container
 * of it died, was killed by the OOM killer, restarted or turned unhealthy in between.
 */
import type { JobStatus } from '../protocol/api.js';
import type { ContainerEvent } from '../protocol/feeds.js';

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

/** Why a canary node is not healthy now, or null when it is. `baseline`: container IDs at the start. */
export function canaryStatusProblem(
  status: JobStatus,
  version: string,
  baseline: ReadonlySet<string> | null,
): string | null {
  if (status.version !== version) return `it runs ${status.version ?? 'nothing'} instead of ${version}`;
  if (!status.canary || status.canary.version !== version) {
    return 'it is no longer a canary (promoted or rolled back meanwhile)';
  }
  for (const c of status.containers) {
    if (c.version !== version) continue;
    if (c.state !== 'running') return `container ${short(c.id)} is ${c.state} (${c.status})`;
    if (c.health === 'unhealthy') return `container ${short(c.id)} is unhealthy`;
    if (baseline && !baseline.has(c.id)) return `container ${short(c.id)} replaced one that was running`;
  }
  const running = status.containers.filter((c) => c.version === version && c.state === 'running').length;
  if (status.desired !== null && running < status.desired) {
    return `only ${running} of ${status.desired} containers are running`;
  }
  return null;
}

/** Why a container event of the canary's job means it is not healthy, or null. */
export function canaryEventProblem(event: ContainerEvent, job: string, version: string): string | null {
  if (event.job !== job || (event.version !== null && event.version !== version)) return null;
  const id = short(event.containerId);
  switch (event.action) {
    case 'die':
      return `container ${id} died${event.exitCode === undefined ? '' : ` (exit ${event.exitCode})`}`;
    case 'oom':
      return `container ${id} ran out of memory`;
    case 'restart':
      return `container ${id} restarted`;
    case 'health_status':
      return event.health === 'unhealthy' ? `container ${id} turned unhealthy` : null;
    default:
      return null;
  }
}
