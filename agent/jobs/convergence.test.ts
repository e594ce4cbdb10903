/**
 * A generated test of the engine's safety rules: many random sequences of deploy (a random spec
 * version and count), scale, rollback, stop and purge, each step with a random injected fault
 * (a failing create/start/stop/remove, a container that crashes, restarts, turns unhealthy or
 * never gets healthy, a failing restore, the agent process dying somewhere, before or after the
 * history commit). Deterministic: a seeded PRNG; a failure prints the seed and the steps
 * (re-run one with DOKKUP_GEN_SEED=<seed>).
 *
 * The versions include jobs with two entries (a server and a sidecar: each replica runs one
 * container of each), so sequences also move between one-entry and two-entry versions.
 *
 * Invariants, checked after every runtime call and after every step:
 * - no replica (the containers sharing a replica label) ever mixes versions;
 * - while a start-first update (or a scale) is in flight, some single version always has at
 *   least min(what ran before, count) whole replicas running (every entry present and running);
 * - after a successful deploy/rollback: exactly `count` replicas, each whole (one container of
 *   every entry), all running, all of the history's current version (nothing the history does
 *   not explain);
 * - after a failure that says `restored`, the history is unchanged and the old version runs as
 *   much as before (stop-first: every stopped container is running again); after one that says
 *   `committed`, the history names the new version and it runs `count` times;
 * - the job's status tells the truth: its version is the history's, its counts the runtime's;
 * - whatever happened, a final deploy without faults converges.
 */
import { describe, expect, it } from 'vitest';
import { LABEL_VERSION } from '../../src/core/labels.js';
import { testEntry, testJob, testSpec } from '../../src/core/spec.fixture.js';
import { specVersion } from '../../src/core/version.js';
import type { OperationResult, Plan } from '../../src/protocol/api.js';
import type { ContainerSpec, JobSpec } from '../../src/protocol/job.js';
import type { ContainerScript, RuntimeOp } from '../../test/fakes/container-runtime.js';
import { EngineRig, type RigContainer } from '../../test/fakes/engine-rig.js';

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEQUENCES = 250;
const STEPS = 12;
const HEALTHCHECKED = new Set(['web:v2']);
const VARIANTS = 7;
/** Variants whose web binds a fixed host port (one replica per node). */
const FIXED = new Set([3, 6]);

/**
 * Seven versions: one-entry start-first (0, 1), health-checked (2), stop-first (3); two entries
 * (web + side) start-first (4), with a health-checked web (5), stop-first (6).
 */
function specOf(variant: number, count: number): JobSpec {
  const fixed = FIXED.has(variant);
  const web: Partial<ContainerSpec> = {
    image: variant === 2 || variant === 5 ? 'web:v2' : 'web:v1',
    environment: { VARIANT: String(variant) },
    ports: [{ in: 8000, protocol: 'tcp', out: fixed ? 8080 : null }],
  };
  const job = { count, update: { healthyDeadlineMs: 5000, minHealthyMs: 500 } };
  if (variant < 4) return testSpec(web, job);
  return testJob(
    [
      testEntry({ ...web, name: 'web', networks: ['app'] }),
      testEntry({ name: 'side', image: 'side:v1', networks: ['app'], environment: { V: String(variant) } }),
    ],
    job,
  );
}

type Step =
  | { op: 'deploy'; variant: number; count: number }
  | { op: 'scale'; count: number }
  | { op: 'rollback'; to: 'previous' | number }
  | { op: 'stop' }
  | { op: 'purge' };

type Fault =
  | { kind: 'none' }
  | { kind: 'fail'; op: RuntimeOp; nth: number }
  | { kind: 'script'; nth: number; script: ContainerScript }
  | { kind: 'die'; op: RuntimeOp; nth: number }
  | { kind: 'die-at-commit'; when: 'before' | 'after' }
  | { kind: 'restore-fails' };

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}
const int = (rand: () => number, lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

function randomStep(rand: () => number): Step {
  const r = rand();
  if (r < 0.5) {
    // A fixed host port can be bound once per node: that variant runs one container.
    const variant = int(rand, 0, VARIANTS - 1);
    return { op: 'deploy', variant, count: FIXED.has(variant) ? 1 : int(rand, 1, 4) };
  }
  if (r < 0.65) return { op: 'scale', count: int(rand, 1, 5) };
  if (r < 0.8) return { op: 'rollback', to: rand() < 0.6 ? 'previous' : int(rand, 0, 5) };
  if (r < 0.93) return { op: 'stop' };
  return { op: 'purge' };
}

function randomFault(rand: () => number): Fault {
  const r = rand();
  if (r < 0.35) return { kind: 'none' };
  if (r < 0.55)
    return {
      kind: 'fail',
      op: pick(rand, ['create', 'start', 'stop', 'remove', 'inspect', 'list'] as const),
      nth: int(rand, 1, 5),
    };
  if (r < 0.75) {
    const script = pick<ContainerScript>(rand, [
      { kind: 'exits', afterMs: 200, code: 3 },
      { kind: 'restarts', afterMs: 300 },
      { kind: 'unhealthy', afterMs: 250 },
      { kind: 'healthy', afterMs: Number.POSITIVE_INFINITY },
      { kind: 'exits', afterMs: 499, code: 1 },
    ]);
    return { kind: 'script', nth: int(rand, 1, 4), script };
  }
  if (r < 0.85)
    return {
      kind: 'die',
      op: pick(rand, ['create', 'start', 'stop', 'remove', 'inspect', 'list'] as const),
      nth: int(rand, 1, 6),
    };
  if (r < 0.93) return { kind: 'die-at-commit', when: rand() < 0.5 ? 'before' : 'after' };
  return { kind: 'restore-fails' };
}

interface Snapshot {
  current: string | null;
  running: Map<string, string[]>;
}

async function snapshot(r: EngineRig): Promise<Snapshot> {
  const running = new Map<string, string[]>();
  for (const c of r.containers()) {
    if (c.state !== 'running' || !c.version) continue;
    running.set(c.version, [...(running.get(c.version) ?? []), c.id].sort());
  }
  return { current: (await r.engine.history('demo')).current, running };
}

/** A replica is whole for its version: one container of every entry of that version's spec. */
function isWholeReplica(replica: RigContainer[]): boolean {
  const spec = replica[0]?.version ? specOfVersion(replica[0].version) : undefined;
  if (!spec || replica.some((c) => c.version !== replica[0]!.version)) return false;
  const names = spec.container.map((e) => e.name ?? null).sort();
  return JSON.stringify(replica.map((c) => c.entry).sort()) === JSON.stringify(names);
}

/** Whole, running replicas per version. */
const wholeRunning = (r: EngineRig) => {
  const by = new Map<string, number>();
  for (const replica of r.replicas()) {
    if (!isWholeReplica(replica) || !replica.every((c) => c.state === 'running')) continue;
    by.set(replica[0]!.version!, (by.get(replica[0]!.version!) ?? 0) + 1);
  }
  return by;
};
/** The most whole, running replicas any one version has. */
const maxWholeRunning = (r: EngineRig) => Math.max(0, ...wholeRunning(r).values());

/** Replicas whose containers carry more than one version (there must never be any). */
const mixedReplicas = (r: EngineRig) =>
  r.replicas().filter((replica) => new Set(replica.map((c) => c.version)).size > 1).length;

async function runSequence(seed: number, log: string[]): Promise<void> {
  const rand = prng(seed);
  const r = new EngineRig({ memoryStore: true, runtime: { healthcheckImages: HEALTHCHECKED }, pollMs: 100 });
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new Error(`invariant broken: ${what}`);
  };
  try {
    for (let i = 0; i < STEPS; i++) {
      const step = randomStep(rand);
      const fault = randomFault(rand);
      const before = await snapshot(r);
      const history = await r.engine.history('demo');

      // What the step asks for, and the plan the engine makes for it (read before any fault).
      let target: JobSpec | null = null;
      let plan: Plan | null = null;
      let rollbackTo: string | undefined;
      if (step.op === 'deploy') target = specOf(step.variant, step.count);
      if (step.op === 'scale') {
        const current = await currentSpec(r);
        target = current ? { ...current, count: fixedPort(current) ? 1 : step.count } : null;
      }
      if (step.op === 'rollback' && step.to !== 'previous')
        rollbackTo = history.entries[step.to]?.version ?? 'fffffff';
      if (target) plan = await r.engine.plan('demo', { operation: 'deploy', spec: target });
      if (step.op === 'rollback')
        plan = await r.engine.plan('demo', {
          operation: 'rollback',
          ...(rollbackTo ? { to: rollbackTo } : {}),
        });

      // The floor while the step runs: start-first updates and scales keep what ran (up to count),
      // in whole running replicas.
      const ranBefore = before.current ? (wholeRunning(r).get(before.current) ?? 0) : maxWholeRunning(r);
      const targetCount = target?.count ?? (plan?.versionTo ? replicasOf(plan.desired, plan.versionTo) : 0);
      const floor = plan?.changes && plan.strategy !== 'stop-first' ? Math.min(ranBefore, targetCount) : 0;

      switch (fault.kind) {
        case 'fail':
          r.runtime.fault({ op: fault.op, nth: fault.nth });
          break;
        case 'script':
          r.runtime.scriptCreate(fault.nth, fault.script);
          break;
        case 'die':
          r.runtime.dieAt(fault.op, fault.nth);
          break;
        case 'die-at-commit':
          r.store.dieAtNextWrite(fault.when);
          break;
        case 'restore-fails': {
          const current = before.current;
          r.runtime.fault({
            op: 'start',
            when: (c) => c.container?.labels[LABEL_VERSION] === current,
            times: 99,
          });
          break;
        }
      }
      let lowest = Number.POSITIVE_INFINITY;
      let mixed = 0;
      r.runtime.afterCall = () => {
        lowest = Math.min(lowest, maxWholeRunning(r));
        mixed = Math.max(mixed, mixedReplicas(r));
      };

      let result: OperationResult | null = null;
      if (step.op === 'deploy' || step.op === 'scale') {
        if (target) result = (await r.deploy(target)).result;
      } else if (step.op === 'rollback') result = (await r.rollback('demo', rollbackTo)).result;
      else result = (await r.stop('demo', step.op === 'purge')).result;
      r.runtime.afterCall = null;

      const died = r.runtime.died !== null;
      log.push(
        `${i}: ${JSON.stringify(step)} fault=${JSON.stringify(fault)} plan=${plan ? `${plan.action}/${plan.strategy}/${plan.desired}` : '-'} → ${
          result
            ? `${result.ok ? 'ok' : 'FAILED'} ${result.action} ${result.message}${result.restored !== undefined ? ` restored=${result.restored}` : ''}${result.committed ? ' committed' : ''}`
            : 'skipped'
        }${died ? ' [process died]' : ''}`,
      );
      if (lowest !== Number.POSITIVE_INFINITY)
        check(
          lowest >= floor,
          `during the step only ${lowest} whole replicas of one version, floor ${floor}`,
        );
      check(mixed === 0, `during the step ${mixed} replica(s) mixed versions`);
      if (died) {
        r.restart();
      }
      r.runtime.clearFaults();
      r.runtime.settleScripts();
      r.store.clearFault();
      if (!result) continue;

      const after = await snapshot(r);
      const status = await r.engine.status('demo');
      const counts = r.runtime.counts();
      check(status.running === counts.running && status.total === counts.total, 'status counts the runtime');
      if (after.current) check(status.version === after.current, 'status version is the history');
      if (died) continue;

      if (result.ok) {
        if (step.op === 'stop') check(counts.running === 0, 'stop leaves nothing running');
        else if (step.op === 'purge')
          check(counts.total === 0 && after.current === null, 'purge leaves nothing');
        else {
          const wanted = target ? target.count * target.container.length : (plan?.desired ?? -1);
          const all = r.containers();
          const replicas = r.replicas();
          check(after.current === result.versionTo, 'history names the version converged to');
          check(status.desired === wanted, `the history records the count (${status.desired} for ${wanted})`);
          check(all.length === wanted, `exactly count × entries containers (${all.length} of ${wanted})`);
          check(
            all.every((c) => c.state === 'running' && c.version === after.current),
            'every container runs the current version',
          );
          check(replicas.every(isWholeReplica), 'every replica has every entry, once');
          check(
            replicas.length === replicasOf(wanted, after.current ?? ''),
            `exactly count replicas (${replicas.length})`,
          );
        }
      } else if (result.committed) {
        check(result.restored === false, 'committed is never restored');
        check(after.current === result.versionTo, 'a committed failure names the new version');
        check(
          (after.running.get(result.versionTo ?? '')?.length ?? 0) >= plan!.desired,
          'a committed failure runs count of the new version',
        );
      } else if (result.restored === true && step.op !== 'stop' && step.op !== 'purge') {
        check(after.current === before.current, 'a restored failure keeps the history');
        const was = before.current ? (before.running.get(before.current) ?? []) : [];
        const now = before.current ? (after.running.get(before.current) ?? []) : [];
        if (plan?.strategy === 'stop-first' || plan?.action === 'update' || plan?.action === 'rollback')
          check(
            was.every((id) => now.includes(id)),
            `a restored update leaves every old container running (${now.length} of ${was.length})`,
          );
        else
          check(
            now.length >= Math.min(was.length, plan?.desired ?? 0),
            'a restored scale keeps enough running',
          );
      }
    }

    // Whatever happened, a clean deploy converges.
    r.runtime.clearFaults();
    const variant = int(rand, 0, VARIANTS - 1);
    const final = specOf(variant, FIXED.has(variant) ? 1 : int(rand, 1, 4));
    const { result } = await r.deploy(final);
    log.push(
      `final: deploy ${specVersion(final)} ×${final.count} → ${result.ok ? 'ok' : 'FAILED'} ${result.message}`,
    );
    check(result.ok, 'a clean deploy after the sequence succeeds');
    const all = r.containers();
    check(all.length === final.count * final.container.length, 'final: exactly count × entries containers');
    check(
      all.every((c) => c.state === 'running' && c.version === specVersion(final)),
      'final: every container runs the deployed version',
    );
    check(r.replicas().length === final.count && r.replicas().every(isWholeReplica), 'final: whole replicas');
    check((await r.engine.history('demo')).current === specVersion(final), 'final: history names it');
  } finally {
    r.cleanup();
  }
}

/** The history's current version as a spec (with its count). */
async function currentSpec(r: EngineRig): Promise<JobSpec | null> {
  const entry = (await r.engine.history('demo')).entries.find((e) => e.current);
  const base = entry ? specOfVersion(entry.version) : undefined;
  return base && entry ? { ...base, count: entry.count } : null;
}

const fixedPort = (spec: JobSpec) => spec.container.some((e) => e.ports.some((p) => p.out !== null));

/** The spec of a generated version (the generator has only seven variants, at any count). */
const VARIANT_SPECS = new Map(
  Array.from({ length: VARIANTS }, (_, v) => [specVersion(specOf(v, 1)), specOf(v, 1)] as const),
);
function specOfVersion(version: string): JobSpec | undefined {
  return VARIANT_SPECS.get(version);
}

/** Containers → replicas of a generated version. */
function replicasOf(containers: number, version: string): number {
  return containers / (specOfVersion(version)?.container.length ?? 1);
}

describe('generated: random operations with random faults keep the safety invariants', () => {
  it(`${SEQUENCES} seeded sequences of ${STEPS} steps`, async () => {
    const only = process.env['DOKKUP_GEN_SEED'];
    const seeds = only ? [Number(only)] : Array.from({ length: SEQUENCES }, (_, i) => 1000 + i);
    let faultsHit = 0;
    const stats: string[] = [];
    for (const seed of seeds) {
      const log: string[] = [];
      try {
        await runSequence(seed, log);
      } catch (err) {
        throw new Error(
          `seed ${seed} (DOKKUP_GEN_SEED=${seed} to re-run): ${(err as Error).message}\n${log.join('\n')}`,
        );
      }
      if (process.env['DOKKUP_GEN_STATS']) stats.push(...log);
      faultsHit += log.filter((l) => l.includes('FAILED') || l.includes('[process died]')).length;
    }
    if (stats.length > 0) {
      const tally = (re: RegExp) => stats.filter((l) => re.test(l)).length;
      console.log({
        steps: stats.length,
        ok: tally(/→ ok/),
        failed: tally(/FAILED/),
        restoredTrue: tally(/restored=true/),
        restoredFalse: tally(/restored=false/),
        committed: tally(/committed/),
        died: tally(/process died/),
        stopFirst: tally(/stop-first/),
        rollbackOk: tally(/"rollback".*→ ok rollback/),
      });
    }
    // The generator must really exercise failures, not only happy paths.
    if (!only) expect(faultsHit).toBeGreaterThan(SEQUENCES);
  });
});
