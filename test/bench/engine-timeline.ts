/**
 * An update's milestones read from the engine's own event log (`docker events`), the same way
 * for dokkup and for Docker Swarm, so both sides are timed to the same points whatever their
 * commands report: the first new container created, the last new container started, the first
 * and the last old container stopped, the last old stop call returned (the engine publishes
 * `stop` after it released the container's network), the last old container removed. Read after the update, from the engine's clock (the
 * same host clock as `Date.now()`): nothing polls the engine while the update runs.
 */
import { docker, lines } from '../harness/docker-cli.js';

export interface UpdateMilestones {
  /** The first new container's `create` (ms after the update began): the engine work began. */
  newCreated: number;
  /** The last new container's `start` (ms after the update began). */
  newStarted: number;
  /** The first old container's `kill` or `die`: the stop of the old version began. */
  oldStopBegan: number;
  /**
   * The last old container's `die`: the old version is stopped. Docker 20.10 publishes `die` when
   * the process exited; Docker 26 once the exit was handled (task deleted, network released),
   * beside `stop`, so there it marks the end of the teardown, not the exit.
   */
  oldStopped: number;
  /**
   * The last old container's `stop`: the engine published it when that stop call returned,
   * after the container's network was torn down (NaN if no stop call stopped it).
   */
  oldStopReturned: number;
  /** The last old container's `destroy`, or null if some were kept (Swarm's task history). */
  oldRemoved: number | null;
}

interface EngineEvent {
  id: string;
  action: string;
  /** Unix time, ms (fractional). */
  at: number;
}

/** Container events between two unix times (ms) carrying `label` (`key=value`). */
async function containerEvents(
  dockerHost: string,
  sinceMs: number,
  untilMs: number,
  label: string,
): Promise<EngineEvent[]> {
  const stamp = (ms: number) => (ms / 1000).toFixed(3);
  const out = await docker(dockerHost, [
    'events',
    '--since',
    stamp(sinceMs),
    '--until',
    stamp(untilMs),
    '--filter',
    'type=container',
    '--filter',
    `label=${label}`,
    '--format',
    '{{json .}}',
  ]);
  return lines(out.stdout).map((l) => {
    const e = JSON.parse(l) as { id: string; Action: string; timeNano: number };
    return { id: e.id, action: e.Action.split(':')[0]!, at: e.timeNano / 1e6 };
  });
}

/**
 * The milestones of an update that began at `beganMs` (unix ms) and whose engine work is over by
 * now, for the containers carrying `label`; `oldIds` are the containers of the old version (full
 * IDs, as `docker ps --no-trunc` gives them).
 */
export async function updateMilestones(
  dockerHost: string,
  label: string,
  beganMs: number,
  oldIds: readonly string[],
): Promise<UpdateMilestones> {
  // The engine publishes an event after the work it names: let the last ones land.
  await new Promise((r) => setTimeout(r, 200));
  const events = await containerEvents(dockerHost, beganMs - 50, Date.now(), label);
  const old = new Set(oldIds);
  const isOld = (id: string) => old.has(id);
  const after = (at: number) => at - beganMs;
  const last = (xs: number[]) => (xs.length === 0 ? Number.NaN : Math.max(...xs));
  const first = (xs: number[]) => (xs.length === 0 ? Number.NaN : Math.min(...xs));
  const ofNew = (action: string) =>
    events.filter((e) => e.action === action && !isOld(e.id)).map((e) => after(e.at));
  const oldOf = (action: string) => events.filter((e) => e.action === action && isOld(e.id));
  const dies = oldOf('die');
  const destroys = oldOf('destroy');
  const diedIds = new Set(dies.map((e) => e.id));
  if (diedIds.size < old.size) {
    throw new Error(`only ${diedIds.size} of ${old.size} old containers stopped (label ${label})`);
  }
  return {
    newCreated: first(ofNew('create')),
    newStarted: last(ofNew('start')),
    oldStopBegan: first([...oldOf('kill'), ...dies].map((e) => after(e.at))),
    oldStopped: last(dies.map((e) => after(e.at))),
    oldStopReturned: last(oldOf('stop').map((e) => after(e.at))),
    oldRemoved:
      new Set(destroys.map((e) => e.id)).size < old.size ? null : last(destroys.map((e) => after(e.at))),
  };
}
