/**
 * Fleet rollouts as plain data: which of a job's target nodes a rollout carries out, in which
 * waves, which it holds back behind a canary, and how that is said. Pure: the nodes' plans come
 * in (what each would change, the canary mark it carries), a schedule goes out; the rollout
 * (src/client/rollout.ts) carries it out for the CLI and the TUI alike.
 *
 * - Waves: at most `update.max_parallel` nodes at once (a number, or a percentage of the target
 *   nodes rounded up, at least 1); a wave starts once every node of the one before is healthy on
 *   the new version.
 * - Canary: a deploy of a new version with `update.canary` moves only the canary nodes and stops;
 *   the others are held until `promote`. Nodes that already carry a canary mark are canaries
 *   again (a changed file during a canary is a new canary of the new version, on the same nodes);
 *   the set is filled up to the canary count from the nodes that update, in target order. A
 *   job's first deploy (no node runs another version) has no canary: there is nothing to compare.
 * - While a canary of the file's own version is out, a deploy never moves the other nodes: that
 *   is `promote`'s job, so a re-run of `run job` cannot promote by accident.
 */
import type { CanaryMark, PlanAction } from '../protocol/api.js';
import type { Share, UpdatePolicy } from '../protocol/job.js';

/**
 * A quarter of the fleet per wave: four health-gated steps whatever the fleet's size (a
 * thousand nodes do not take a thousand steps), a failure in the first wave touches a quarter of
 * the nodes at most, and fleets of up to four nodes go one node at a time, like Nomad and Swarm.
 */
export const DEFAULT_MAX_PARALLEL: Share = { percent: 25 };
/** A fleet left on two versions by accident is what operators fear most: revert by default. */
export const DEFAULT_AUTO_REVERT = true;

/** `3` or `25%`. */
export function formatShare(share: Share): string {
  return 'nodes' in share ? String(share.nodes) : `${share.percent}%`;
}

/** How many of `total` nodes a share is: a percentage is rounded up, and is never below 1. */
export function shareCount(share: Share, total: number): number {
  if ('nodes' in share) return share.nodes;
  // The epsilon keeps 10% of 1000 at 100 whatever the floating point does with it.
  return Math.max(1, Math.ceil((share.percent * total) / 100 - 1e-9));
}

/** Consecutive groups of at most `size` (the last one may be smaller). */
export function splitIntoWaves<T>(items: readonly T[], size: number): T[][] {
  const waves: T[][] = [];
  const step = Math.max(1, Math.floor(size));
  for (let i = 0; i < items.length; i += step) waves.push(items.slice(i, i + step));
  return waves;
}

/** One target node of a rollout, as far as scheduling cares. */
export interface ScheduleNode {
  name: string;
  /** It answered its plan and the plan changes something. */
  changes: boolean;
  /** The plan's action; null when the node could not be planned. */
  action: PlanAction | null;
  versionFrom: string | null;
  /** The node's canary mark (its current version is an unpromoted canary). */
  canary: CanaryMark | null;
}

export type RolloutMode = 'deploy' | 'promote' | 'rollback' | 'stop';

export interface ScheduleInput {
  mode: RolloutMode;
  /** Every target node, in target (inventory) order. */
  nodes: readonly ScheduleNode[];
  /** The job file's update policy (defaults apply to what it leaves out). */
  policy?: Partial<UpdatePolicy>;
  /** deploy / promote: the version rolled out. */
  version?: string | null;
}

export interface RolloutSchedule {
  mode: RolloutMode;
  /** The wave size the policy comes to for this fleet. */
  waveSize: number;
  maxParallel: Share;
  /** The nodes carried out, wave by wave, in target order. */
  waves: string[][];
  /** This rollout puts out (or keeps) a canary of `version` on `nodes`. */
  canary: { version: string; nodes: string[] } | null;
  /**
   * Nodes whose plan changes something but that this rollout leaves alone: behind the canary it
   * puts out (`canary`), or behind one already out that only `promote` moves past (`canary-out`).
   */
  held: { nodes: string[]; reason: 'canary' | 'canary-out' } | null;
  /** `update.canary` is set but this is the job's first deploy: it goes out in waves, no canary. */
  canaryNotApplied: boolean;
}

export function planSchedule(input: ScheduleInput): RolloutSchedule {
  const { mode, nodes, policy = {} } = input;
  const maxParallel = policy.maxParallel ?? DEFAULT_MAX_PARALLEL;
  const waveSize = shareCount(maxParallel, nodes.length);
  const changing = nodes.filter((n) => n.changes);
  const base = { mode, waveSize, maxParallel, canary: null, held: null, canaryNotApplied: false };
  const inWaves = (picked: readonly ScheduleNode[]) =>
    splitIntoWaves(
      picked.map((n) => n.name),
      waveSize,
    );
  if (mode !== 'deploy' || !input.version) return { ...base, waves: inWaves(changing) };

  const version = input.version;
  const marked = nodes.filter((n) => n.canary !== null);
  const updating = changing.filter((n) => n.action === 'update' && n.canary === null);
  const wanted = policy.canary ? shareCount(policy.canary, nodes.length) : 0;
  const outAlready = marked.some((n) => n.canary!.version === version);
  if (!outAlready && (wanted === 0 || (updating.length === 0 && marked.length === 0))) {
    // A canary compares a new version with the one the fleet runs; a first deploy has none.
    const firstDeploy = wanted > 0 && changing.length > 0 && changing.every((n) => n.action === 'fresh');
    return { ...base, waves: inWaves(changing), canaryNotApplied: firstDeploy };
  }
  const canaries = new Set(marked.map((n) => n.name));
  for (const n of updating) {
    if (canaries.size >= wanted) break;
    canaries.add(n.name);
  }
  const run = changing.filter((n) => canaries.has(n.name));
  const held = changing.filter((n) => !canaries.has(n.name));
  return {
    ...base,
    waves: inWaves(run),
    canary: { version, nodes: nodes.filter((n) => canaries.has(n.name)).map((n) => n.name) },
    held:
      held.length === 0
        ? null
        : {
            nodes: held.map((n) => n.name),
            reason: outAlready && run.length === 0 ? 'canary-out' : 'canary',
          },
  };
}

/** Why `promote` cannot go on, or null when it can; `nothing` when there is nothing to promote. */
export type PromoteCheck =
  | { ok: true }
  | { ok: false; nothing: true; message: string }
  | { ok: false; nothing: false; message: string };

/** Whether the canary out on the fleet is the file's version, so that `promote` may roll it out. */
export function checkPromote(job: string, nodes: readonly ScheduleNode[], version: string): PromoteCheck {
  const marked = nodes.filter((n) => n.canary !== null);
  const other = marked.find((n) => n.canary!.version !== version);
  if (other) {
    return {
      ok: false,
      nothing: false,
      message:
        `the canary out on ${other.name} runs ${other.canary!.version}, but the job file is version ${version}: ` +
        'promote with the job file the canary came from, or put this version out as a new canary with `dokkup run job`',
    };
  }
  if (marked.length > 0) return { ok: true };
  if (nodes.every((n) => n.action === null || (!n.changes && n.versionFrom === version))) {
    return {
      ok: false,
      nothing: true,
      message: `Nothing to promote: no canary of ${job} is out, and every reachable node runs ${version}.`,
    };
  }
  return {
    ok: false,
    nothing: false,
    message: `no canary of ${job} is out on any reachable node: \`dokkup run job\` rolls a new version out`,
  };
}

/** `lab1, lab2`, or `n0001, n0002, … n0100 (100 nodes)` for long lists. */
export function nodeList(names: readonly string[], limit = 4): string {
  if (names.length <= limit) return names.join(', ');
  return `${names.slice(0, limit - 1).join(', ')}, … ${names[names.length - 1]} (${names.length} nodes)`;
}

/** The longest `wave 1: … · wave 2: …` line before the waves go one per line. */
const ONE_LINE_WAVES = 100;

/**
 * What the plan, the confirmation and the TUI's pane say about the schedule, as lines:
 * `Waves (update.max_parallel 25%: 1 node at a time):` then `wave 1: lab1 · wave 2: lab2`, the
 * canary and the nodes it holds back. `promote` and `rollback` are the commands that go on from a
 * canary (the face spells them with its own file and inventory).
 */
export function scheduleLines(
  schedule: RolloutSchedule,
  commands: { promote: string; rollback: string },
): string[] {
  const lines: string[] = [];
  const { waves, waveSize } = schedule;
  if (schedule.held?.reason === 'canary-out' && waves.length === 0) {
    return [
      `A canary of ${schedule.canary!.version} is out on ${nodeList(schedule.canary!.nodes)}; ` +
        `${nodeList(schedule.held.nodes)} wait${schedule.held.nodes.length === 1 ? 's' : ''} for it to be promoted.`,
      `Promote it with \`${commands.promote}\`, or take it back with \`${commands.rollback}\`.`,
    ];
  }
  if (waves.length > 0) {
    const size = `${waveSize} node${waveSize === 1 ? '' : 's'} at a time`;
    lines.push(`Waves (update.max_parallel ${formatShare(schedule.maxParallel)}: ${size}):`);
    const parts = waves.map((wave, i) => `wave ${i + 1}: ${nodeList(wave)}`);
    const joined = `  ${parts.join(' · ')}`;
    if (joined.length <= ONE_LINE_WAVES) lines.push(joined);
    else for (const part of parts) lines.push(`  ${part}`);
  }
  if (schedule.canary && schedule.held) {
    const n = schedule.canary.nodes.length;
    lines.push(
      `Canary: ${nodeList(schedule.canary.nodes)} ${n === 1 ? 'moves' : 'move'} to ${schedule.canary.version}, then the rollout stops; ` +
        `${nodeList(schedule.held.nodes)} wait${schedule.held.nodes.length === 1 ? 's' : ''} for \`${commands.promote}\`.`,
    );
  } else if (schedule.canary) {
    lines.push(`Canary: ${nodeList(schedule.canary.nodes)} (every node that changes is a canary).`);
  }
  if (schedule.canaryNotApplied) {
    lines.push('No canary: this is the job’s first version on these nodes, so it goes out in waves.');
  }
  return lines;
}
