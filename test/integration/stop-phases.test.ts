/**
 * Stopping on a real engine: the stop phase of an update stops the old containers all at once
 * (Docker's own stop times prove it, not a wall-clock budget); compose's `stop_signal`,
 * `stop_grace_period` and `init` reach Docker and the containers; bad values are refused at
 * `file:line:col` by the CLI and with a 400 naming the field by the agent (it is the boundary).
 * A real agent process (the built binary) on a harness engine, the real HTTP client and CLI.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, inject, it } from 'vitest';
import { AgentClient } from '../../src/client/index.js';
import { parseJobText } from '../../src/config/index.js';
import { specVersion } from '../../src/core/version.js';
import { type OperationResult, type ProgressLine, routes } from '../../src/protocol/api.js';
import type { JobSpec } from '../../src/protocol/job.js';
import { type AgentProcess, agentBinary, startAgentProcess } from '../harness/agent-process.js';
import { describeDocker } from '../harness/context.js';
import { docker, lines } from '../harness/docker-cli.js';
import { pinnedFetch } from '../harness/https-fetch.js';
import { run } from '../harness/proc.js';

const h = inject('dokkupHarness');

interface Inspected {
  Id: string;
  Config: { StopSignal?: string; StopTimeout?: number; Labels: Record<string, string> };
  HostConfig: { Init?: boolean | null };
  State: { StartedAt: string; FinishedAt: string; ExitCode: number; Status: string };
}

describeDocker('stop phases, stop_signal, stop_grace_period and init (real agent, real Docker)', () => {
  const engine = h.engines[0]!;
  const images = h.images!;
  let agent: AgentProcess;
  let client: AgentClient;
  let seq = 0;
  let job = 'stops';
  let dir: string;

  const spec = (container: string, count: number, minHealthy = '1s'): JobSpec =>
    parseJobText(
      `name: ${job}\nnode: n1\ncount: ${count}\nupdate:\n  healthy_deadline: 30s\n  min_healthy_time: ${minHealthy}\ncontainer:\n${container}`,
      `${job}.yaml`,
    );

  async function deploy(s: JobSpec): Promise<{ result: OperationResult; lines: ProgressLine[] }> {
    const progress: ProgressLine[] = [];
    const result = await client.deploy(s, (l) => progress.push(l));
    return { result, lines: progress };
  }

  async function inspect(ids: string[]): Promise<Inspected[]> {
    if (ids.length === 0) return [];
    return JSON.parse((await docker(engine.dockerHost, ['inspect', ...ids])).stdout) as Inspected[];
  }

  async function jobContainerIds(): Promise<string[]> {
    return lines(
      (
        await docker(engine.dockerHost, [
          'ps',
          '-aq',
          '--no-trunc',
          '--filter',
          `label=dokkup.job.name=${job}`,
        ])
      ).stdout,
    );
  }

  /**
   * Docker's `die` events of the job's containers during `work`, with their times and exit codes
   * (and their `destroy` times in `destroyed`): the agent removes old containers right after
   * stopping them, so `docker inspect` cannot be asked afterwards when they stopped, but the
   * engine's event log keeps it.
   */
  async function dieTimesDuring<T>(
    work: () => Promise<T>,
  ): Promise<{ value: T; died: Map<string, number>; destroyed: Map<string, number> }> {
    const since = Math.floor(Date.now() / 1000) - 1;
    const value = await work();
    const until = Math.ceil(Date.now() / 1000) + 1;
    const out = await docker(engine.dockerHost, [
      'events',
      '--since',
      String(since),
      '--until',
      String(until),
      '--filter',
      'type=container',
      '--filter',
      'event=die',
      '--filter',
      'event=destroy',
      '--filter',
      `label=dokkup.job.name=${job}`,
      '--format',
      '{{.Action}} {{.ID}} {{.TimeNano}} {{index .Actor.Attributes "exitCode"}}',
    ]);
    const died = new Map<string, number>();
    const destroyed = new Map<string, number>();
    for (const line of lines(out.stdout)) {
      const [action, id, nanos, exitCode] = line.split(' ');
      const ms = Number(BigInt(nanos!) / 1_000_000n);
      if (action === 'destroy') {
        destroyed.set(id!, ms);
        continue;
      }
      died.set(id!, ms);
      exitCodes.set(id!, Number(exitCode));
    }
    return { value, died, destroyed };
  }
  const exitCodes = new Map<string, number>();

  beforeAll(async () => {
    agent = await startAgentProcess({ dockerHost: engine.dockerHost });
    client = new AgentClient(agent.inventoryNode('n1'));
    dir = mkdtempSync(path.join(tmpdir(), 'dokkup-stops-'));
  });
  afterAll(async () => {
    await agent?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    job = `stops${++seq}`;
  });

  const stubborn = (env: string, extra = '') =>
    `  - image: "${images.stubborn}"\n    ports:\n      - in: 8000\n    environment:\n      - V=${env}\n    stop_grace_period: 4s\n${extra}`;

  it('an update of 6 containers that ignore SIGTERM stops them all at once: one grace period, not 6/4 of them', async () => {
    const v1 = spec(stubborn('1'), 6);
    expect((await deploy(v1)).result).toMatchObject({ ok: true, running: 6 });
    const old = await jobContainerIds();
    expect(old).toHaveLength(6);
    const v2 = spec(stubborn('2'), 6);
    const { value: ran, died } = await dieTimesDuring(() => deploy(v2));
    expect(ran.result).toMatchObject({ ok: true, action: 'update', running: 6, total: 6 });

    // Order of events: every new container passed the gate before the first old one was stopped.
    const phases = ran.lines.map((l) => l.phase);
    expect(phases.lastIndexOf('health')).toBeLessThan(phases.indexOf('stop'));
    const stopLines = ran.lines.filter((l) => l.phase === 'stop').map((l) => l.message);
    expect(stopLines[0]).toBe('Stopping old containers (0/6, grace 4s)');
    expect(stopLines.at(-1)).toBe('Stopping old containers (6/6, grace 4s)');

    // Docker's record: each old container was killed (137: it ignored SIGTERM for the whole
    // grace period), and all six died together. Stopped four at a time they would die in two
    // waves one grace period (4 s) apart; all at once, within a fraction of it.
    const oldDied = old.map((id) => died.get(id));
    expect(oldDied.every((t) => t !== undefined)).toBe(true);
    for (const id of old) expect(exitCodes.get(id)).toBe(137);
    const times = oldDied as number[];
    const spread = Math.max(...times) - Math.min(...times);
    expect(spread).toBeLessThan(2000);
    // And each was given its grace period: it died at least 4 s after the new ones all started.
    const fresh = await inspect(await jobContainerIds());
    expect(fresh).toHaveLength(6);
    const lastStart = Math.max(...fresh.map((c) => Date.parse(c.State.StartedAt)));
    for (const t of times) expect(t - lastStart).toBeGreaterThanOrEqual(4000);
    for (const c of fresh) expect(c.Config.StopTimeout).toBe(4);
  });

  it('each old container is removed as soon as it stopped: the quick ones are gone before the slow ones die', async () => {
    // Two entries of the same SIGTERM-ignoring image: `slow` waits out its 4 s grace, `quick`
    // (init: true) dies of SIGTERM at once.
    const entries = (env: string) =>
      `  - name: slow\n    image: "${images.stubborn}"\n    environment:\n      - V=${env}\n    stop_grace_period: 4s\n` +
      `  - name: quick\n    image: "${images.stubborn}"\n    init: true\n    environment:\n      - V=${env}\n    stop_grace_period: 4s\n`;
    expect((await deploy(spec(entries('1'), 2))).result).toMatchObject({ ok: true, running: 4 });
    const old = await inspect(await jobContainerIds());
    expect(old).toHaveLength(4);
    const entryOf = (c: Inspected) => c.Config.Labels['dokkup.job.entry'];
    const { value: ran, died, destroyed } = await dieTimesDuring(() => deploy(spec(entries('2'), 2)));
    expect(ran.result).toMatchObject({ ok: true, action: 'update', running: 4, total: 4 });
    // Never removed before it stopped.
    for (const c of old) expect(destroyed.get(c.Id)).toBeGreaterThanOrEqual(died.get(c.Id)!);
    const slowDied = Math.min(...old.filter((c) => entryOf(c) === 'slow').map((c) => died.get(c.Id)!));
    const quick = old.filter((c) => entryOf(c) === 'quick');
    expect(quick).toHaveLength(2);
    for (const c of quick) {
      expect(exitCodes.get(c.Id)).toBe(143);
      // Removed while the slow ones were still in their grace period, not after it.
      expect(destroyed.get(c.Id)).toBeLessThan(slowDied);
    }
    for (const c of old.filter((c) => entryOf(c) === 'slow')) expect(exitCodes.get(c.Id)).toBe(137);
  });

  it('init: true shows in docker inspect, and the same image then stops on SIGTERM instead of being killed', async () => {
    const v1 = spec(stubborn('1', '    init: true\n'), 3);
    expect((await deploy(v1)).result).toMatchObject({ ok: true, running: 3 });
    const old = await jobContainerIds();
    for (const c of await inspect(old)) expect(c.HostConfig.Init).toBe(true);
    const plan = await client.plan(job, {
      operation: 'deploy',
      spec: spec(stubborn('2', '    init: true\n'), 3),
    });
    expect(plan.diff?.init).toBeUndefined();
    const { value: ran } = await dieTimesDuring(() => deploy(spec(stubborn('2', '    init: true\n'), 3)));
    expect(ran.result).toMatchObject({ ok: true, action: 'update', running: 3 });
    // docker-init passed SIGTERM on to httpd, which died of it: 128 + 15, not SIGKILL's 137.
    for (const id of old) expect(exitCodes.get(id)).toBe(143);
    // Without init (the plan shows the change), the default applies again.
    const without = spec(stubborn('2'), 3);
    const planned = await client.plan(job, { operation: 'deploy', spec: without });
    expect(planned.diff?.init).toEqual({ from: 'true', to: null });
    expect(specVersion(without)).not.toBe(specVersion(spec(stubborn('2', '    init: true\n'), 3)));
  });

  it('stop_signal reaches the container: it logs the signal it got', async () => {
    const s = spec(
      `  - image: "${images.signals}"\n    stop_signal: quit\n    stop_grace_period: 5s\n`,
      1,
      '0s',
    );
    expect(s.container[0]!.stopSignal).toBe('SIGQUIT');
    expect((await deploy(s)).result).toMatchObject({ ok: true, running: 1 });
    const [id] = await jobContainerIds();
    const [before] = await inspect([id!]);
    expect(before!.Config.StopSignal).toBe('SIGQUIT');
    expect(before!.Config.StopTimeout).toBe(5);
    // Wait until its traps are set before asking it to stop.
    for (let i = 0; i < 100; i++) {
      if ((await docker(engine.dockerHost, ['logs', id!])).stdout.includes('ready')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const stopped = await client.stop(job, false, () => {});
    expect(stopped).toMatchObject({ ok: true, action: 'stop', running: 0, total: 1 });
    const logs = await docker(engine.dockerHost, ['logs', id!]);
    expect(lines(logs.stdout)).toEqual(['ready', 'got SIGQUIT']);
    const [after] = await inspect([id!]);
    expect(after!.State.ExitCode).toBe(0);
  });

  it('bad values are refused: the CLI at file:line:col, the agent with a 400 naming the field', async () => {
    const jobFile = path.join(dir, 'bad.yaml');
    writeFileSync(
      jobFile,
      `name: bad\nnode: n1\ncontainer:\n  - image: "${images.webV1}"\n    stop_grace_period: forever\n    stop_signal: 99\n`,
    );
    writeFileSync(
      path.join(dir, 'inventory.yaml'),
      `nodes:\n  - name: n1\n    location: ${agent.baseUrl.replace('https://', '')}\n    key: "${agent.key}"\n    fingerprint: "${agent.fingerprint}"\n`,
    );
    for (const command of [
      ['plan', 'job'],
      ['run', 'job', '-y'],
    ]) {
      const ran = await run(
        process.execPath,
        [agentBinary(), ...command, '-i', 'inventory.yaml', 'bad.yaml'],
        {
          cwd: dir,
          allowFail: true,
        },
      );
      expect(ran.code).toBe(2);
      expect(ran.stderr).toContain(
        'bad.yaml:5:24 container[0].stop_grace_period: must be a duration like 30s',
      );
      expect(ran.stderr).toContain(
        'bad.yaml:6:18 container[0].stop_signal: must be a signal name like SIGTERM, SIGQUIT or SIGINT, or a number from 1 to 64, got 99',
      );
      expect(ran.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    // The agent checks the same: a spec that skipped the CLI's checks is refused, nothing created.
    const good = spec(`  - image: "${images.webV1}"\n`, 1);
    for (const bad of [{ stopSignal: '99' }, { stopGracePeriodMs: 1500 }, { init: 'yes' }]) {
      const res = await pinnedFetch(`${agent.baseUrl}${routes.deploy(job)}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${agent.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          spec: { ...good, container: good.container.map((entry) => ({ ...entry, ...bad })) },
        }),
        fingerprint: agent.fingerprint,
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string; field?: string } };
      expect(body.error.code).toBe('invalid_request');
      expect(`${body.error.field ?? ''} ${body.error.message}`).toMatch(
        new RegExp(`spec\\.container\\.0\\.${Object.keys(bad)[0]}`),
      );
    }
    expect(await jobContainerIds()).toEqual([]);
  });
});
