/**
 * How containers are asked to stop (docker-compose's `stop_signal`, `stop_grace_period`,
 * `init`): parsing the user's spelling into the one normalised form, and the defaults Docker
 * applies when a job leaves them out.
 */

import type { ContainerSpec } from '../protocol/job.js';
import { MAX_SIGNAL, MAX_STOP_GRACE_MS, SIGNAL_NUMBERS } from '../protocol/job.js';
import { formatDurationMs, parseDurationMs } from './duration.js';
import { InputError } from './errors.js';

/** Docker's own grace period when a container sets none (`docker stop` without `-t`). */
export const DEFAULT_STOP_GRACE_MS = 10_000;

const ALIASES: Readonly<Record<string, string>> = { SIGIOT: 'SIGABRT', SIGPOLL: 'SIGIO', SIGCLD: 'SIGCHLD' };
const NAME_OF = new Map(Object.entries(SIGNAL_NUMBERS).map(([name, n]) => [n, name]));
/** glibc's SIGRTMIN (32 and 33 are taken by the threads library). */
const RTMIN = 34;

const SIGNAL_HINT = 'a signal name like SIGTERM, SIGQUIT or SIGINT, or a number from 1 to 64';

/**
 * `SIGTERM`, `term`, `15`, `SIGRTMIN+3` → the normalised form: the signal's name when it has a
 * fixed one (so `15` and `SIGTERM` are the same version), else its number as a string.
 */
export function parseStopSignal(value: string | number): string {
  const text = String(value).trim();
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < 1 || n > MAX_SIGNAL)
      throw new InputError(`must be ${SIGNAL_HINT}, got ${JSON.stringify(value)} (Linux signals stop at 64)`);
    return NAME_OF.get(n) ?? String(n);
  }
  const upper = text.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  const canonical = ALIASES[name] ?? name;
  if (canonical in SIGNAL_NUMBERS) return canonical;
  const rt = /^SIGRT(MIN|MAX)(?:([+-])(\d+))?$/.exec(canonical);
  if (rt) {
    const offset = rt[2] ? Number(`${rt[2]}${rt[3]}`) : 0;
    const n = (rt[1] === 'MIN' ? RTMIN : MAX_SIGNAL) + offset;
    if (n >= RTMIN && n <= MAX_SIGNAL) return String(n);
  }
  throw new InputError(`must be ${SIGNAL_HINT}, got ${JSON.stringify(value)}`);
}

/** A grace period as written (`30s`, `1m`, `45`) → whole milliseconds, within Docker's and dokkup's limits. */
export function parseStopGracePeriodMs(value: string | number): number {
  const ms = parseDurationMs(value);
  if (ms % 1000 !== 0)
    throw new InputError(
      `must be a whole number of seconds (Docker counts the grace period in seconds), got ${JSON.stringify(value)}`,
    );
  if (ms > MAX_STOP_GRACE_MS)
    throw new InputError(
      `must be at most ${formatDurationMs(MAX_STOP_GRACE_MS)} (an update waits for it, within the CLI's 30-minute operation timeout), got ${JSON.stringify(value)}`,
    );
  return ms;
}

/** The grace period the job's containers get when they are stopped. */
export function stopGraceMs(container: Pick<ContainerSpec, 'stopGracePeriodMs'>): number {
  return container.stopGracePeriodMs ?? DEFAULT_STOP_GRACE_MS;
}
