/**
 * Fleet rollouts end to end: the BUILT CLI against three real agents (the built binary) on three
 * real Docker engines from the harness. Waves (`max_parallel: 1`, checked against Docker's own
 * timestamps: containers' creation times and health events), a version that fails on one node
 * only (auto-revert), a canary with promote and rollback, Ctrl-C between waves then a re-run, two
 * operators at once (leases), and a killed CLI whose lease lapses.
 *
 * Every job here has its own name, so the tests do not see each other's containers.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseJobText } from '../../src/config/index.js';
import { specVersion } from '../../src/core/version.js';
import { LockJsonSchema, OperationJsonSchema, ShowJobJsonSchema } from '../../src/protocol/cli-json.js';
import { type AgentProcess, agentBinary, startAgentProcess } from '../harness/agent-process.js';
import { explainRun, runCli, startCli } from '../harness/cli-process.js';
import {
  allContainers,
  type ContainerState,
  describeDocker,
  docker,
  engine,
  harness,
  images,
  resetEngine,
} from '../harness/context.js';
import { waitFor } from '../harness/proc.js';

const BIN = agentBinary();

const start = startCli;
const dokkup = runCli;
const explain = explainRun;

/**
 * The rows of the last `Summary:` table as NAME, RESULT, MESSAGE (columns are at least five
 * spaces apart; the CUTOVER and TOTAL times between RESULT and MESSAGE vary from run to run).
 */
function summaryRows(stdout: string): string[][] {
  const summary = stdout.slice(stdout.lastIndexOf('Summary:'));
  const lines = summary.split('\n').slice(2);
  expect(lines[0]).toMatch(/^NAME +RESULT +(CUTOVER +TOTAL +)?MESSAGE$/);
  const rows: string[][] = [];
  for (const line of lines.slice(1)) {
    if (line === '') break;
    const cells = line.split(/ {5,}/);
    rows.push([cells[0]!, cells[1]!, cells[cells.length - 1]!]);
  }
  return rows;
}

/** An RFC 3339 time with nanoseconds (Docker's `Created`) as nanoseconds since the epoch. */
function nanos(rfc3339: string): bigint {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(rfc3339);
  if (!m) throw new Error(`not an RFC 3339 time: ${rfc3339}`);
  const seconds = BigInt(Date.parse(`${m[1]}${m[3]}`) / 1000);
  return seconds * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0').slice(0, 9));
}

describeDocker('fleet rollouts (built CLI, three real agents on three real Docker engines)', () => {
  const engines = [engine(0), engine(1), engine(2)];
  const agents: AgentProcess[] = [];
  let dir: string;

  const write = (file: string, text: string) => writeFileSync(path.join(dir, file), text);
  const containers = (i: number, job: string): Promise<ContainerState[]> =>
    allContainers(engines[i]!, { 'dokkup.job.name': job });
  const running = async (i: number, job: string) =>
    (await containers(i, job)).filter((c) => c.state === 'running');
  const idsOn = async (job: string) =>
    Promise.all([0, 1, 2].map(async (i) => (await running(i, job)).map((c) => c.id).sort()));
  const versionsOn = async (job: string) =>
    Promise.all(
      [0, 1, 2].map(async (i) => [
        ...new Set((await running(i, job)).map((c) => c.labels['dokkup.job.version'])),
      ]),
    );

  /** A job of one container per node on lab1..lab3. */
  function job(name: string, image: string, update: string[] = [], extra = ''): string {
    return `name: ${name}
group: labs
count: 1
container:
  - image: "${image}"
    ports:
      - in: 8000
${extra}update:
  min_healthy_time: 1s
${update.map((line) => `  ${line}\n`).join('')}`;
  }
  const versionOf = (text: string) => specVersion(parseJobText(text, 'x.yaml'));

  beforeAll(async () => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first`);
    dir = mkdtempSync(path.join(tmpdir(), 'dokkup-e2e-rollouts-'));
    await Promise.all(engines.map((e) => resetEngine(e)));
    agents.push(...(await Promise.all(engines.map((e) => startAgentProcess({ dockerHost: e.dockerHost })))));
    const nodes = agents
      .map(
        (a, i) =>
          ` - name: "lab${i + 1}"\n   location: "127.0.0.1:${a.port}"\n   key: "${a.key}"\n   fingerprint: "${a.fingerprint}"\n`,
      )
      .join('');
    write('inventory.yaml', `nodes:\n${nodes}groups:\n - name: "labs"\n   nodes: ["lab1", "lab2", "lab3"]\n`);
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    if (harness().dockerAvailable) await Promise.all(engines.map((e) => resetEngine(e)));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('max_parallel: 1 — a node’s new containers are created only after the node before was healthy', async () => {
    const v1 = job('waves', images().healthy, ['max_parallel: 1']);
    const v2 = job('waves', images().healthyV2, ['max_parallel: 1']);
    write('waves.yaml', v1);
    const first = await dokkup(dir, ['run', 'job', '-y', 'waves.yaml']);
    expect(first.code, explain(first)).toBe(0);
    // The plan said how it would go.
    expect(first.stdout).toContain(
      'Waves (update.max_parallel 1: 1 node at a time):\n  wave 1: lab1 · wave 2: lab2 · wave 3: lab3\n',
    );
    const since = new Date(Date.now() - 1000).toISOString();
    write('waves.yaml', v2);
    const second = await dokkup(dir, ['run', 'job', '-y', 'waves.yaml']);
    expect(second.code, explain(second)).toBe(0);
    expect(second.stdout).toMatch(
      /Wave 1\/3: lab1\n[\s\S]*lab1: Update successful\n[\s\S]*Wave 2\/3: lab2\n[\s\S]*Wave 3\/3: lab3\n/,
    );

    // From Docker itself: when each node's new container became healthy, and when the next
    // node's new container was created.
    const version = versionOf(v2);
    const until = new Date(Date.now() + 1000).toISOString();
    const healthyAt: bigint[] = [];
    const createdAt: bigint[] = [];
    for (let i = 0; i < 3; i++) {
      const [fresh] = (await running(i, 'waves')).filter((c) => c.labels['dokkup.job.version'] === version);
      expect(fresh, `lab${i + 1} runs ${version}`).toBeDefined();
      createdAt.push(nanos(fresh!.created));
      const events = await docker(engines[i]!.dockerHost, [
        'events',
        '--since',
        since,
        '--until',
        until,
        '--filter',
        `container=${fresh!.id}`,
        '--filter',
        'event=health_status',
        '--format',
        '{{json .}}',
      ]);
      const healthy = events.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { status: string; timeNano: number | string })
        .filter((e) => e.status === 'health_status: healthy')
        .map((e) => BigInt(e.timeNano));
      expect(healthy.length, `lab${i + 1}: a healthy event of ${fresh!.id}`).toBeGreaterThan(0);
      // The first time it was healthy (bigints: Math.min does not take them).
      healthyAt.push([...healthy].sort((a, b) => (a < b ? -1 : 1))[0]!);
    }
    expect(createdAt[1]! > healthyAt[0]!, 'lab2 created after lab1 was healthy').toBe(true);
    expect(createdAt[2]! > healthyAt[1]!, 'lab3 created after lab2 was healthy').toBe(true);
  });

  it('a version that fails on one node: the node before goes back, the one after is untouched; exit 1', async () => {
    // The new version's image exists only on lab1 and lab3 (never pushed: lab2 cannot pull it).
    const only13 = images().webV1.replace(/:v1$/, ':only-on-1-and-3');
    await Promise.all(
      [0, 2].map(async (i) => {
        await docker(engines[i]!.dockerHost, ['pull', images().webV2]);
        await docker(engines[i]!.dockerHost, ['tag', images().webV2, only13]);
      }),
    );
    const v1 = job('failing', images().webV1, ['max_parallel: 1']);
    const v2 = job('failing', only13, ['max_parallel: 1']);
    write('failing.yaml', v1);
    expect((await dokkup(dir, ['run', 'job', '-y', 'failing.yaml'])).code).toBe(0);
    const before = await idsOn('failing');
    write('failing.yaml', v2);
    const ran = await dokkup(dir, ['run', 'job', '-y', 'failing.yaml']);
    expect(ran.code, explain(ran)).toBe(1);
    const [V1, V2] = [versionOf(v1), versionOf(v2)];
    const rows = summaryRows(ran.stdout);
    const lab2 = rows.find((r) => r[0] === 'lab2')?.[2] ?? '';
    expect(lab2).toMatch(/only-on-1-and-3/);
    expect(lab2).toMatch(/\(the previous version was left running\)$/);
    expect(rows).toEqual([
      ['lab1', 'REVERTED', `reverted to ${V1} after lab2 failed`],
      ['lab2', 'FAILED', lab2],
      ['lab3', 'UNTOUCHED', 'not started: the rollout stopped after lab2 failed'],
    ]);
    expect(ran.stdout).toMatch(
      new RegExp(
        '\\n3 nodes: 1 failed, 1 reverted, 1 untouched\\n\\n' +
          'The rollout stopped after lab2 failed: no further wave started\\. Reverted: lab1\\.\\n' +
          `Now: ${V1} on lab1, lab2, lab3\\.\\n$`,
      ),
    );
    expect(ran.stdout).toContain('Reverting, wave 1/1: lab1');
    // On the engines: one version everywhere; lab2 and lab3 kept their very containers.
    expect(await versionsOn('failing')).toEqual([[V1], [V1], [V1]]);
    const after = await idsOn('failing');
    expect(after[1]).toEqual(before[1]);
    expect(after[2]).toEqual(before[2]);
    expect(after[0]).not.toEqual(before[0]);
    expect(V2).not.toBe(V1);
  });

  it('canary: 1 — one node moves and shows as a canary; promote moves the rest; a second canary is taken back', async () => {
    const at = (image: string) => job('canary', image, ['canary: 1']);
    const [v1, v2] = [at(images().webV1), at(images().webV2)];
    const v3 = job('canary', images().webV2, ['canary: 1'], '    environment:\n      - RELEASE=3\n');
    const [V1, V2, V3] = [versionOf(v1), versionOf(v2), versionOf(v3)];
    write('canary.yaml', v1);
    const first = await dokkup(dir, ['run', 'job', '-y', 'canary.yaml']);
    expect(first.code, explain(first)).toBe(0);
    // A first deploy has no canary.
    expect(first.stdout).toContain('No canary: this is the job’s first version on these nodes');
    const before = await idsOn('canary');

    write('canary.yaml', v2);
    const canary = await dokkup(dir, ['run', 'job', '-y', 'canary.yaml']);
    expect(canary.code, explain(canary)).toBe(0);
    expect(canary.stdout).toContain(
      `Canary: lab1 moves to ${V2}, then the rollout stops; lab2, lab3 wait for \`dokkup promote job canary.yaml\`.`,
    );
    expect(summaryRows(canary.stdout)).toEqual([
      ['lab1', 'OK', 'Update successful'],
      ['lab2', 'UNTOUCHED', `held back: canary of ${V2} on lab1`],
      ['lab3', 'UNTOUCHED', `held back: canary of ${V2} on lab1`],
    ]);
    expect(canary.stdout).toContain(`Canary: lab1 runs ${V2}. Now: ${V2} on lab1 · ${V1} on lab2, lab3.
  dokkup promote job canary.yaml    rolls it out to the other nodes, in waves
  dokkup rollback job canary.yaml   takes the canary back
`);
    expect(await versionsOn('canary')).toEqual([[V2], [V1], [V1]]);
    expect((await idsOn('canary')).slice(1)).toEqual(before.slice(1));

    // Another operator sees it: show job, history, --json.
    const show = await dokkup(dir, ['show', 'job', 'canary.yaml']);
    expect(show.stdout).toMatch(new RegExp(`lab1 .* ${V2} \\(canary\\)\\n`));
    expect(show.stdout).not.toMatch(/lab[23] .*\(canary\)/);
    const history = await dokkup(dir, ['history', 'job', 'canary.yaml']);
    expect(history.stdout).toMatch(new RegExp(`lab1 +ONLINE +${V2} .* true \\(canary\\)\\n`));
    const json = ShowJobJsonSchema.parse(
      JSON.parse((await dokkup(dir, ['show', 'job', '--json', 'canary.yaml'])).stdout),
    );
    expect(json.nodes.map((n) => n.job?.canary?.version ?? null)).toEqual([V2, null, null]);
    expect(json.nodes[0]!.job?.canary?.from).toBe(V1);

    // The same file again does not promote.
    const again = await dokkup(dir, ['run', 'job', '-y', 'canary.yaml']);
    expect(again.code, explain(again)).toBe(0);
    expect(again.stdout).toContain(
      `A canary of ${V2} is out on lab1; lab2, lab3 wait for it to be promoted.`,
    );
    expect(await versionsOn('canary')).toEqual([[V2], [V1], [V1]]);

    const promote = await dokkup(dir, ['promote', 'job', '-y', 'canary.yaml']);
    expect(promote.code, explain(promote)).toBe(0);
    expect(summaryRows(promote.stdout)).toEqual([
      ['lab1', 'OK', `Canary of ${V2} promoted`],
      ['lab2', 'OK', 'Update successful'],
      ['lab3', 'OK', 'Update successful'],
    ]);
    expect(await versionsOn('canary')).toEqual([[V2], [V2], [V2]]);
    expect((await dokkup(dir, ['show', 'job', 'canary.yaml'])).stdout).not.toContain('(canary)');
    const promoted = await idsOn('canary');

    // A second canary, taken back: lab1 returns to the fleet's version; the others never move.
    write('canary.yaml', v3);
    expect((await dokkup(dir, ['run', 'job', '-y', 'canary.yaml'])).code).toBe(0);
    expect(await versionsOn('canary')).toEqual([[V3], [V2], [V2]]);
    const back = await dokkup(dir, ['rollback', 'job', '-y', '--json', 'canary.yaml']);
    expect(back.code, explain(back)).toBe(0);
    const document = OperationJsonSchema.parse(JSON.parse(back.stdout));
    expect(document.nodes.map((n) => [n.node, n.outcome, n.versionAfter])).toEqual([
      ['lab1', 'succeeded', V2],
      ['lab2', 'unchanged', V2],
      ['lab3', 'unchanged', V2],
    ]);
    expect(await versionsOn('canary')).toEqual([[V2], [V2], [V2]]);
    expect((await idsOn('canary')).slice(1)).toEqual(promoted.slice(1));
    expect((await dokkup(dir, ['show', 'job', 'canary.yaml'])).stdout).not.toContain('(canary)');
  });

  it('--promote-after: a canary that stays healthy is promoted; one whose container dies is taken back', async () => {
    const v1 = job('watch', images().webV1, ['canary: 1']);
    const v2 = job('watch', images().webV2, ['canary: 1']);
    // Serves, then dies 4 s after it started: past the 1 s health gate, within the watch.
    const dying = job(
      'watch',
      images().webV1,
      ['canary: 1'],
      '    command: ["/bin/sh", "-c", "httpd -f -p 8000 -h /www & sleep 4; exit 3"]\n',
    );
    const [V2, V3] = [versionOf(v2), versionOf(dying)];
    write('watch.yaml', v1);
    expect((await dokkup(dir, ['run', 'job', '-y', 'watch.yaml'])).code).toBe(0);

    write('watch.yaml', v2);
    const healthy = await dokkup(dir, ['run', 'job', '-y', '--promote-after', '3s', 'watch.yaml']);
    expect(healthy.code, explain(healthy)).toBe(0);
    expect(healthy.stdout).toContain(
      'Watching the canary (lab1) for 3s: it is promoted if it stays healthy.',
    );
    expect(healthy.stdout).toContain('The canary stayed healthy for 3s: promoting it.');
    expect(summaryRows(healthy.stdout)).toEqual([
      ['lab1', 'OK', `Canary of ${V2} promoted`],
      ['lab2', 'OK', 'Update successful'],
      ['lab3', 'OK', 'Update successful'],
    ]);
    expect(await versionsOn('watch')).toEqual([[V2], [V2], [V2]]);

    write('watch.yaml', dying);
    const sick = await dokkup(dir, ['run', 'job', '-y', '--promote-after', '30s', 'watch.yaml']);
    expect(sick.code, explain(sick)).toBe(1);
    expect(sick.stdout).toMatch(
      /The canary is not healthy: lab1: container [0-9a-f]{12} died \(exit 3\)\. Taking it back\./,
    );
    expect(summaryRows(sick.stdout)[0]).toEqual(['lab1', 'OK', 'Rollback successful']);
    expect(await versionsOn('watch')).toEqual([[V2], [V2], [V2]]);
    expect((await dokkup(dir, ['show', 'job', 'watch.yaml'])).stdout).not.toContain('(canary)');
    expect(V3).not.toBe(V2);
  });

  it('Ctrl-C between waves stops before the next one and says where nodes stand; a re-run goes on', async () => {
    const v1 = job('ctrlc', images().webV1, ['max_parallel: 1']);
    const v2 = job('ctrlc', images().webV2, ['max_parallel: 1']);
    write('ctrlc.yaml', v1);
    expect((await dokkup(dir, ['run', 'job', '-y', 'ctrlc.yaml'])).code).toBe(0);
    const before = await idsOn('ctrlc');
    write('ctrlc.yaml', v2);
    const cli = start(dir, ['run', 'job', '-y', 'ctrlc.yaml']);
    await waitFor('lab1 done', () => (cli.out().includes('lab1: Update successful') ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 20,
    });
    cli.child.kill('SIGINT');
    const ran = await cli.done;
    expect(ran.code, explain(ran)).toBe(130);
    const [V1, V2] = [versionOf(v1), versionOf(v2)];
    const rows = summaryRows(ran.stdout);
    expect(rows[0]).toEqual(['lab1', 'OK', 'Update successful']);
    expect(rows[2]).toEqual(['lab3', 'SKIPPED', 'not carried out: interrupted']);
    expect(ran.stdout).toContain('Interrupted: no further wave was started.');
    expect(ran.stdout).toMatch(
      new RegExp(
        `Now: ${V2} on lab1(, lab2)? · ${V1} on (lab2, )?lab3\\. Run \`dokkup run job ctrlc\\.yaml\` again to go on\\.`,
      ),
    );
    // lab3 never moved.
    expect((await idsOn('ctrlc'))[2]).toEqual(before[2]);
    expect((await versionsOn('ctrlc'))[0]).toEqual([V2]);

    const again = await dokkup(dir, ['run', 'job', '-y', 'ctrlc.yaml']);
    expect(again.code, explain(again)).toBe(0);
    const rerun = summaryRows(again.stdout);
    expect(rerun[0]).toEqual(['lab1', 'OK', 'Already up to date']);
    expect(rerun[2]).toEqual(['lab3', 'OK', 'Update successful']);
    expect(await versionsOn('ctrlc')).toEqual([[V2], [V2], [V2]]);
  });

  it('two operators at once: one rolls out, the other is refused naming who holds the lease; nothing interleaves', async () => {
    const v1 = job('locks', images().webV1, ['max_parallel: 1']);
    const v2 = job('locks', images().webV2, ['max_parallel: 1']);
    const v3 = job('locks', images().webV2, ['max_parallel: 1'], '    environment:\n      - OTHER=yes\n');
    write('locks.yaml', v1);
    expect((await dokkup(dir, ['run', 'job', '-y', 'locks.yaml'])).code).toBe(0);
    write('locks.yaml', v2);
    write('locks-bob.yaml', v3);
    const since = new Date(Date.now() - 1000).toISOString();
    const alice = start(dir, ['run', 'job', '-y', 'locks.yaml'], { DOKKUP_OPERATOR: 'alice' });
    await waitFor('alice under way', () => (alice.out().includes('Wave 1/3') ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 20,
    });
    const bob = await dokkup(dir, ['run', 'job', '-y', 'locks-bob.yaml'], { DOKKUP_OPERATOR: 'bob' });
    expect(bob.code, explain(bob)).toBe(1);
    expect(bob.stderr).toMatch(
      /^dokkup: job locks is locked by alice@\S+ \(run job locks\.yaml\) since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, \d+s ago; it lapses in \d+s unless renewed \(on lab1\); nothing was changed\.\n/,
    );
    // Bob's tables were never printed: he was refused before any plan.
    expect(bob.stdout).toBe('');
    const done = await alice.done;
    expect(done.code, explain(done)).toBe(0);
    const [V2, V3] = [versionOf(v2), versionOf(v3)];
    expect(await versionsOn('locks')).toEqual([[V2], [V2], [V2]]);
    // No container of bob's version was ever created on any engine.
    for (const e of engines) {
      const created = await docker(e.dockerHost, [
        'events',
        '--since',
        since,
        '--until',
        new Date().toISOString(),
        '--filter',
        'event=create',
        '--filter',
        `label=dokkup.job.version=${V3}`,
        '--format',
        '{{.ID}}',
      ]);
      expect(created.stdout.trim()).toBe('');
    }
    // Alice gave the lease back: bob goes now.
    const lock = LockJsonSchema.parse(
      JSON.parse((await dokkup(dir, ['lock', 'status', 'job', '--json', 'locks.yaml'])).stdout),
    );
    expect(lock.nodes.map((n) => n.lease)).toEqual([null, null, null]);
    const bobAgain = await dokkup(dir, ['run', 'job', '-y', 'locks-bob.yaml'], { DOKKUP_OPERATOR: 'bob' });
    expect(bobAgain.code, explain(bobAgain)).toBe(0);
    expect(await versionsOn('locks')).toEqual([[V3], [V3], [V3]]);
  });

  it('a killed CLI leaves a lease that lapses by itself; lock status shows it meanwhile', async () => {
    const v1 = job('killed', images().webV1, ['max_parallel: 1']);
    const v2 = job('killed', images().webV2, ['max_parallel: 1']);
    write('killed.yaml', v1);
    expect((await dokkup(dir, ['run', 'job', '-y', 'killed.yaml'])).code).toBe(0);
    write('killed.yaml', v2);
    const ttl = { DOKKUP_LEASE_TTL: '5s' };
    const carol = start(dir, ['run', 'job', '-y', 'killed.yaml'], { ...ttl, DOKKUP_OPERATOR: 'carol' });
    await waitFor('carol under way', () => (carol.out().includes('Wave 1/3') ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 20,
    });
    carol.child.kill('SIGKILL');
    await carol.done;
    const refused = await dokkup(dir, ['run', 'job', '-y', 'killed.yaml'], { DOKKUP_OPERATOR: 'dave' });
    expect(refused.code, explain(refused)).toBe(1);
    expect(refused.stderr).toMatch(/job killed is locked by carol@/);
    const status = await dokkup(dir, ['lock', 'status', 'job', 'killed.yaml']);
    expect(status.stdout).toMatch(/lab1 +ONLINE +carol@\S+ +run job killed\.yaml +\S+Z +\S+Z\n/);
    // Nobody renews it: it lapses (within its TTL) on every node.
    await waitFor(
      'the lease to lapse',
      async () => {
        const json = await dokkup(dir, ['lock', 'status', 'job', '--json', 'killed.yaml']);
        const lock = LockJsonSchema.parse(JSON.parse(json.stdout));
        return lock.nodes.every((n) => n.lease === null) ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const dave = await dokkup(dir, ['run', 'job', '-y', 'killed.yaml'], { DOKKUP_OPERATOR: 'dave' });
    expect(dave.code, explain(dave)).toBe(0);
    expect(await versionsOn('killed')).toEqual([[versionOf(v2)], [versionOf(v2)], [versionOf(v2)]]);
  });
});
