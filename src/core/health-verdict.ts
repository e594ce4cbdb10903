/**
 * The health gate's rules: what one inspection of a new container means, and when the gate gives
 * up. The gate (agent/jobs/health-gate.ts) inspects and waits; these decide. Pure: the container's
 * state and the time come in.
 *
 * Healthy = running and, with a health check, reported healthy; without one, running without a
 * restart for `min_healthy_time`, counted from the first time it was known to run (its start
 * call returning, or else the gate's first sight of it running). Exited, restarted or unhealthy
 * containers fail at once.
 */
import type { ContainerState, Health } from '../protocol/api.js';

/** What the gate reads from one inspection (the runtime's `ContainerInspect`). */
export interface InspectedContainer {
  id: string;
  state: ContainerState;
  health: Health;
  exitCode: number | null;
  restartCount: number;
  /** Docker's last health-check output, if any. */
  healthLog: string | null;
}

export interface GateRules {
  /** True when the container has a health check (the spec's or the image's). */
  gated: boolean;
  minHealthyMs: number;
  /** The job entry the container runs, named in failures (jobs with named entries). */
  entry?: string | undefined;
}

export type HealthVerdict =
  | { verdict: 'failed'; code: 'start_failed' | 'unhealthy'; message: string }
  | { verdict: 'ready' }
  /** Not yet: `runningSince` is when it was first known to run (null: not running yet). */
  | { verdict: 'pending'; runningSince: number | null };

/**
 * The verdict on one inspection at `now`. `runningSince` is what the previous verdict on this
 * container returned (null the first time).
 */
export function healthVerdict(
  c: InspectedContainer,
  rules: GateRules,
  now: number,
  runningSince: number | null,
): HealthVerdict {
  const short = `${c.id.slice(0, 12)}${rules.entry === undefined ? '' : ` (${rules.entry})`}`;
  if (c.state === 'exited' || c.state === 'dead') {
    return {
      verdict: 'failed',
      code: 'start_failed',
      message: `new container ${short} exited with code ${c.exitCode ?? '?'}`,
    };
  }
  if (c.restartCount > 0 || c.state === 'restarting') {
    return {
      verdict: 'failed',
      code: 'start_failed',
      message: `new container ${short} crashed and was restarted`,
    };
  }
  if (rules.gated) {
    if (c.health === 'unhealthy') {
      return {
        verdict: 'failed',
        code: 'unhealthy',
        message: `new container ${short} is unhealthy${c.healthLog ? `: ${c.healthLog}` : ''}`,
      };
    }
    return c.state === 'running' && c.health === 'healthy'
      ? { verdict: 'ready' }
      : { verdict: 'pending', runningSince };
  }
  if (c.state !== 'running') return { verdict: 'pending', runningSince };
  const since = runningSince ?? now;
  return now - since >= rules.minHealthyMs
    ? { verdict: 'ready' }
    : { verdict: 'pending', runningSince: since };
}

/** What the gate waits for, in its progress lines and messages. */
export function gateGoal(gated: boolean): 'healthy' | 'running' {
  return gated ? 'healthy' : 'running';
}

/**
 * After a round of inspections at `now` with `pending` containers still not ready: the failure
 * once the deadline (`startedAt + healthyDeadlineMs`) has passed, else null (poll again).
 */
export function gateExpired(
  pending: number,
  rules: { gated: boolean; healthyDeadlineMs: number },
  startedAt: number,
  now: number,
): { code: 'unhealthy'; message: string } | null {
  if (pending === 0 || now <= startedAt + rules.healthyDeadlineMs) return null;
  return {
    code: 'unhealthy',
    message: `${pending} new container(s) not ${gateGoal(rules.gated)} within ${Math.round(rules.healthyDeadlineMs / 1000)}s`,
  };
}
