/**
 * The deploy lifecycle on one node, end to end: a real agent process (the built binary) on a
 * real Docker engine from the harness, driven through the real HTTP client. Container state is
 * checked independently of the agent, straight from the engine.
 */
import { afterAll, beforeAll, beforeEach, expect, inject, it } from 'vitest';
import { AgentClient } from '../../src/client/index.js';
import { parseJobText } from '../../src/config/index.js';
import { specVersion } from '../../src/core/version.js';
import type { OperationResult, ProgressLine } from '../../src/protocol/api.js';
import type { JobSpec } from '../../src/protocol/job.js';
import { type AgentProcess, startAgentProcess } from '../harness/agent-process.js';
import { describeDocker, resetEngine } from '../harness/context.js';
import { docker, lines } from '../harness/docker-cli.js';
import { engineContainers } from '../harness/engine-api.js';

const h = inject('dokkupHarness');

describeDocker('deploy lifecycle on one node (real agent, real Docker)', () => {
  const engine = h.engines[0]!;
  const images = h.images!;
  let agent: AgentProcess;
  let client: AgentClient;
  let jobSeq = 0;
  let job = 'demo';

  const containers = (state?: string) =>
    engineContainers(engine.socketPath, {
      label: [`dokkup.job.name=${job}`],
      ...(state ? { status: [state] } : {}),
    });
  const ids = async (state?: string) => (await containers(state)).map((c) => c.Id).sort();

  function spec(yamlContainer: string, count = 2, extra = '', minHealthy = '1s'): JobSpec {
    const text = `name: ${job}\nnode: n1\ncount: ${count}\nupdate:\n  healthy_deadline: 20s\n  min_healthy_time: ${minHealthy}\n${extra}container:\n${yamlContainer}`;
    return parseJobText(text, `${job}.yaml`);
  }
  const web = (image: string, more = '') => `  - image: "${image}"\n    ports:\n      - in: 8000\n${more}`;

  async function deploy(s: JobSpec): Promise<{ result: OperationResult; lines: ProgressLine[] }> {
    const progress: ProgressLine[] = [];
    const result = await client.deploy(s, (l) => progress.push(l));
    return { result, lines: progress };
  }

  beforeAll(async () => {
    agent = await startAgentProcess({ dockerHost: engine.dockerHost });
    client = new AgentClient(agent.inventoryNode('n1'));
  });
  afterAll(async () => {
    await agent?.stop();
  });
  beforeEach(async () => {
    job = `life${++jobSeq}`;
  });

  it('fresh deploy pulls the missing image, creates count containers named <job>-<uuid>, labelled', async () => {
    await resetEngine(engine, { images: true });
    const s = spec(web(images.webV1));
    const plan = await client.plan(job, { operation: 'deploy', spec: s });
    expect(plan).toMatchObject({
      action: 'fresh',
      fresh: true,
      changes: true,
      versionTo: specVersion(s),
      desired: 2,
    });
    const { result, lines: progress } = await deploy(s);
    expect(result).toMatchObject({
      ok: true,
      action: 'fresh',
      message: 'Deployment successful',
      running: 2,
      total: 2,
    });
    expect(progress.some((l) => l.phase === 'pull')).toBe(true);
    const cs = await containers('running');
    expect(cs).toHaveLength(2);
    for (const c of cs) {
      expect(c.Names[0]).toMatch(
        new RegExp(`^/${job}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`),
      );
      expect(c.Labels['dokkup.job.name']).toBe(job);
      expect(c.Labels['dokkup.job.version']).toBe(specVersion(s));
    }
  });

  it('the same spec again changes nothing; a stopped job container is started, other containers are not', async () => {
    const s = spec(web(images.webV1));
    await deploy(s);
    const before = await ids();
    const again = await deploy(s);
    expect(again.result).toMatchObject({ ok: true, action: 'noop', message: 'Already up to date' });
    expect(await ids()).toEqual(before);

    // An unrelated stopped container on the host (defect 8: the original started every one).
    await docker(engine.dockerHost, ['create', '--name', `${job}-bystander`, images.webV1]);
    await docker(engine.dockerHost, ['stop', before[0]!]);
    const restart = await deploy(s);
    expect(restart.result).toMatchObject({ ok: true, action: 'start', running: 2 });
    expect(await ids('running')).toEqual(before);
    const bystander = lines(
      (await docker(engine.dockerHost, ['inspect', '-f', '{{.State.Status}}', `${job}-bystander`])).stdout,
    );
    expect(bystander).toEqual(['created']);
    // The node's container list shows every container, the unmanaged bystander too.
    const listed = await client.listContainers();
    const mine = listed.containers.filter((c) => c.name.startsWith(`${job}-`));
    expect(mine.map((c) => [c.name === `${job}-bystander` ? 'bystander' : 'job', c.job]).sort()).toEqual([
      ['bystander', ''],
      ['job', job],
      ['job', job],
    ]);
    await docker(engine.dockerHost, ['rm', '-f', `${job}-bystander`]);
  });

  it('update is start-first: a prober sampling every 75 ms never sees fewer than count running, nor answering HTTP', async () => {
    const count = 3;
    await deploy(spec(web(images.webV1), count));
    const oldIds = await ids();
    let min = Number.POSITIVE_INFINITY;
    let minServing = Number.POSITIVE_INFINITY;
    let samples = 0;
    const bodies = new Set<string>();
    let probing = true;
    // Every running container's published port is asked for GET /: how many answer, and what.
    const serving = async (running: Awaited<ReturnType<typeof containers>>) => {
      const answers = await Promise.all(
        running.map(async (c) => {
          const port = (c as unknown as { Ports: { PrivatePort: number; PublicPort?: number }[] }).Ports.find(
            (p) => p.PrivatePort === 8000 && p.PublicPort,
          )?.PublicPort;
          if (!port) return null;
          try {
            // A generous deadline: on a loaded CI machine a healthy httpd can take a second or two to
            // answer, and a slow answer is not downtime (a refused or dropped connection is).
            const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(8000) });
            return res.ok ? (await res.text()).trim() : null;
          } catch {
            return null; // a container on its way out (or not listening yet)
          }
        }),
      );
      for (const a of answers) if (a) bodies.add(a);
      return answers.filter((a) => a !== null).length;
    };
    const prober = (async () => {
      while (probing) {
        const running = await containers('running');
        min = Math.min(min, running.length);
        minServing = Math.min(minServing, await serving(running));
        samples++;
        await new Promise((r) => setTimeout(r, 75));
      }
    })();
    const s2 = spec(web(images.webV2), count);
    const { result } = await deploy(s2);
    probing = false;
    await prober;
    expect(result).toMatchObject({
      ok: true,
      action: 'update',
      message: 'Update successful',
      running: count,
    });
    expect(samples).toBeGreaterThan(5);
    expect(min).toBeGreaterThanOrEqual(count);
    expect(minServing).toBeGreaterThanOrEqual(count);
    // Both versions answered during the switch: the probe really spanned it.
    expect([...bodies].sort()).toEqual(['v1', 'v2']);
    const now = await containers();
    expect(now).toHaveLength(count);
    expect(now.every((c) => c.Labels['dokkup.job.version'] === specVersion(s2))).toBe(true);
    expect(now.some((c) => oldIds.includes(c.Id))).toBe(false);
  });

  for (const [what, image, code] of [
    ['a never-pushed tag (pull failure)', () => images.neverPushed, 'pull_failed'],
    ['a crashing image', () => images.crash, 'start_failed'],
    ['an image whose health check fails', () => images.unhealthy, 'unhealthy'],
  ] as const) {
    it(`an update to ${what} leaves the old version serving with the same container IDs`, async () => {
      await deploy(spec(web(images.webV1)));
      const before = await ids('running');
      const history = await client.history(job);
      const { result } = await deploy(spec(web(image())));
      expect(result.ok).toBe(false);
      expect(result.error?.code).toBe(code);
      expect(result.restored).toBe(true);
      expect(await ids('running')).toEqual(before);
      expect(await ids()).toEqual(before); // no half-made containers left behind (defect 3)
      expect(await client.history(job)).toEqual(history);
    });
  }

  it('a spec health check gates the update too', async () => {
    await deploy(spec(web(images.webV1)));
    const before = await ids('running');
    const failing = web(
      images.webV2,
      '    healthcheck:\n      test: ["CMD", "false"]\n      interval: 1s\n      retries: 1\n',
    );
    const { result } = await deploy(spec(failing));
    expect(result.error?.code).toBe('unhealthy');
    expect(await ids()).toEqual(before);
    const passing = web(images.webV2, '    healthcheck:\n      test: ["CMD", "true"]\n      interval: 1s\n');
    expect((await deploy(spec(passing))).result).toMatchObject({ ok: true, action: 'update' });
  });

  it('pull: always re-pulls and treats a moved tag as an update', async () => {
    const moving = `${h.registry}/dokkup-test/moving:latest`;
    await docker(engine.dockerHost, ['pull', images.webV1]);
    await docker(engine.dockerHost, ['tag', images.webV1, moving]);
    await docker(engine.dockerHost, ['push', moving]);
    const s = spec(web(moving, '    pull: always\n'), 1);
    expect((await deploy(s)).result).toMatchObject({ ok: true, action: 'fresh' });
    expect((await deploy(s)).result).toMatchObject({ ok: true, action: 'noop' });
    const before = await ids();
    await docker(engine.dockerHost, ['pull', images.webV2]);
    await docker(engine.dockerHost, ['tag', images.webV2, moving]);
    await docker(engine.dockerHost, ['push', moving]);
    // The engine still has the old image under the tag locally: only a re-pull can see the move.
    await docker(engine.dockerHost, ['tag', images.webV1, moving]);
    const { result } = await deploy(s);
    expect(result).toMatchObject({
      ok: true,
      action: 'update',
      versionFrom: specVersion(s),
      versionTo: specVersion(s),
    });
    const after = await containers();
    expect(after).toHaveLength(1);
    expect(after[0]!.Id).not.toBe(before[0]);
    const imageId = lines(
      (await docker(engine.dockerHost, ['inspect', '-f', '{{.Image}}', after[0]!.Id])).stdout,
    )[0];
    expect(imageId).toBe(h.imageIds!.webV2);
  });

  it('a fixed host port updates stop-first, and a failed new version is put back', async () => {
    // Outside the harness engines' published-port ranges (20000–29599) and the ephemeral range.
    const port = 30000 + Math.floor(Math.random() * 2000);
    const fixed = (image: string) =>
      `  - image: "${image}"\n    ports:\n      - in: 8000\n        out: ${port}\n`;
    await deploy(spec(fixed(images.webV1), 1));
    const plan = await client.plan(job, { operation: 'deploy', spec: spec(fixed(images.crash), 1) });
    expect(plan.strategy).toBe('stop-first');
    const before = await ids('running');
    const failed = await deploy(spec(fixed(images.crash), 1));
    expect(failed.result).toMatchObject({ ok: false, restored: true });
    expect(await ids('running')).toEqual(before);
    const body = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    expect(body.trim()).toBe('v1');
    expect((await deploy(spec(fixed(images.webV2), 1))).result).toMatchObject({ ok: true, action: 'update' });
    expect((await (await fetch(`http://127.0.0.1:${port}/`)).text()).trim()).toBe('v2');
  });

  it('scale keeps running containers; down removes the newest first', async () => {
    await deploy(spec(web(images.webV1), 2));
    const first = await ids();
    const up = await deploy(spec(web(images.webV1), 4));
    expect(up.result).toMatchObject({ ok: true, action: 'scale', running: 4 });
    const four = await containers();
    expect(four.filter((c) => first.includes(c.Id))).toHaveLength(2);
    const down = await deploy(spec(web(images.webV1), 1));
    expect(down.result).toMatchObject({ ok: true, action: 'scale', running: 1 });
    // The survivor is one of the two oldest.
    const left = await ids();
    expect(left).toHaveLength(1);
    expect(first).toContain(left[0]);
  });

  it('scale plus a spec change is one update to the new count, one version', async () => {
    await deploy(spec(web(images.webV1), 2));
    const s = spec(web(images.webV2), 3);
    const { result } = await deploy(s);
    expect(result).toMatchObject({ ok: true, action: 'update', running: 3 });
    const cs = await containers();
    expect(new Set(cs.map((c) => c.Labels['dokkup.job.version']))).toEqual(new Set([specVersion(s)]));
  });

  it('rollback goes back start-first, then further back; history is kept across agent restarts', async () => {
    const v1 = spec(web(images.webV1), 1);
    const v2 = spec(web(images.webV2), 2);
    const v3 = spec(web(images.webV1, '    environment:\n      - V=3\n'), 1);
    for (const s of [v1, v2, v3]) expect((await deploy(s)).result.ok).toBe(true);
    const hist = await client.history(job);
    expect(hist.entries.map((e) => e.version)).toEqual([v1, v2, v3].map(specVersion));
    expect(hist.current).toBe(specVersion(v3));

    await agent.restart();
    expect((await client.history(job)).current).toBe(specVersion(v3));

    const plan = await client.plan(job, { operation: 'rollback' });
    expect(plan).toMatchObject({
      action: 'rollback',
      canRollback: true,
      versionFrom: specVersion(v3),
      versionTo: specVersion(v2),
    });
    const back1 = await client.rollback(job, undefined, () => {});
    expect(back1).toMatchObject({
      ok: true,
      message: 'Rollback successful',
      versionTo: specVersion(v2),
      running: 2,
    });
    const back2 = await client.rollback(job, undefined, () => {});
    expect(back2).toMatchObject({ ok: true, versionTo: specVersion(v1), running: 1 });
    const none = await client.plan(job, { operation: 'rollback' });
    expect(none.canRollback).toBe(false);
    const toV3 = await client.rollback(job, specVersion(v3), () => {});
    expect(toV3).toMatchObject({ ok: true, versionTo: specVersion(v3) });
    const cs = await containers();
    expect(cs.map((c) => c.Labels['dokkup.job.version'])).toEqual([specVersion(v3)]);
  });

  it('stop keeps the containers; run after stop starts them; purge removes containers and history only', async () => {
    const s = spec(web(images.webV1, '    volumes:\n      - lifevol:/data\n'), 2);
    await deploy(s);
    const before = await ids();
    const stopped = await client.stop(job, false, () => {});
    expect(stopped).toMatchObject({
      ok: true,
      action: 'stop',
      message: 'Job stopped successfully',
      running: 0,
      total: 2,
    });
    // Right after the stop, whatever the engine's container list still says (Docker 26's lags).
    expect(await client.status(job)).toMatchObject({ running: 0, total: 2 });
    expect(await ids()).toEqual(before);
    expect(await ids('running')).toEqual([]);
    expect((await deploy(s)).result).toMatchObject({ ok: true, action: 'start', running: 2 });
    expect(await ids('running')).toEqual(before);
    const purged = await client.stop(job, true, () => {});
    expect(purged).toMatchObject({ ok: true, action: 'purge', total: 0 });
    expect(await ids()).toEqual([]);
    expect((await client.history(job)).entries).toEqual([]);
    const vols = lines((await docker(engine.dockerHost, ['volume', 'ls', '-q'])).stdout);
    expect(vols).toContain('lifevol');
    const imgs = lines((await docker(engine.dockerHost, ['images', '-q', images.webV1])).stdout);
    expect(imgs.length).toBe(1);
  });

  it('refuses a job binding the Docker socket (agent policy), in the plan and the deploy, creating nothing', async () => {
    const s = spec(web(images.webV1, '    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock\n'), 1);
    for (const attempt of [
      () => client.plan(job, { operation: 'deploy', spec: s }),
      () => client.deploy(s, () => {}),
    ]) {
      await expect(attempt()).rejects.toMatchObject({
        status: 400,
        body: { code: 'invalid_request', path: 'spec.container.0.volumes.0' },
      });
    }
    await expect(client.deploy(s, () => {})).rejects.toThrow(/runtime sockets|binds a socket/);
    expect(await ids()).toEqual([]);
  });

  it('the spec reaches Docker as written: docker inspect shows env, restart, resources, command, entrypoint, health check, ports, labels', async () => {
    const port = 30000 + Math.floor(Math.random() * 2000);
    const s = spec(
      `  - image: "${images.webV1}"
    ports:
      - in: 8000
        out: ${port}
      - in: 9000/udp
    environment:
      MODE: inspected
      EMPTY: ""
    labels:
      team: web
    restart: on-failure
    entrypoint: ["/bin/sh", "-c"]
    command: ["trap 'exit 0' TERM; httpd -f -p 8000 -h /www & wait"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8000/"]
      interval: 1s
      timeout: 2s
      retries: 2
      start_period: 500ms
    resources:
      cpus: 0.5
      memory: 64m
`,
      1,
    );
    expect((await deploy(s)).result).toMatchObject({ ok: true, action: 'fresh', running: 1 });
    const [id] = await ids();
    const [inspected] = JSON.parse((await docker(engine.dockerHost, ['inspect', id!])).stdout) as {
      Config: {
        Env: string[];
        Cmd: string[];
        Entrypoint: string[];
        Labels: Record<string, string>;
        Healthcheck: Record<string, unknown>;
      };
      HostConfig: {
        RestartPolicy: { Name: string };
        Memory: number;
        NanoCpus: number;
        PortBindings: Record<string, { HostIp: string; HostPort: string }[]>;
      };
    }[];
    const { Config: config, HostConfig: host } = inspected!;
    expect(config.Env).toEqual(expect.arrayContaining(['MODE=inspected', 'EMPTY=']));
    expect(config.Entrypoint).toEqual(['/bin/sh', '-c']);
    expect(config.Cmd).toEqual(["trap 'exit 0' TERM; httpd -f -p 8000 -h /www & wait"]);
    expect(config.Healthcheck).toEqual({
      Test: ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8000/'],
      Interval: 1_000_000_000,
      Timeout: 2_000_000_000,
      Retries: 2,
      StartPeriod: 500_000_000,
    });
    expect(config.Labels).toMatchObject({
      team: 'web',
      'dokkup.job.name': job,
      'dokkup.job.version': specVersion(s),
    });
    expect(host.RestartPolicy.Name).toBe('on-failure');
    expect(host.Memory).toBe(64 * 1024 * 1024);
    expect(host.NanoCpus).toBe(500_000_000);
    expect(host.PortBindings).toEqual({
      '8000/tcp': [{ HostIp: '', HostPort: String(port) }],
      '9000/udp': [{ HostIp: '', HostPort: '' }],
    });
    // The command really runs: it serves on the fixed port.
    expect((await (await fetch(`http://127.0.0.1:${port}/`)).text()).trim()).toBe('v1');
  });

  it('all networks are attached, not just the first', async () => {
    const s = spec(web(images.webV1, '    networks:\n      - lifenet-a\n      - lifenet-b\n'), 1);
    expect((await deploy(s)).result.ok).toBe(true);
    const [c] = await containers();
    const nets = (
      await docker(engine.dockerHost, [
        'inspect',
        '-f',
        '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}',
        c!.Id,
      ])
    ).stdout;
    expect(nets.trim().split(' ').sort()).toEqual(['lifenet-a', 'lifenet-b']);
  });

  it('one operation per job: a concurrent second deploy is refused clearly, never interleaved', async () => {
    const slow = spec(web(images.webV1), 2, '');
    // The second deploy is sent once the first reported progress (it holds the job's lock then).
    const events: string[] = [];
    let started!: () => void;
    const firstLine = new Promise<void>((resolve) => {
      started = resolve;
    });
    const first = client.deploy(slow, (l) => {
      events.push(`first:${l.phase}:${l.message}`);
      started();
    });
    await firstLine;
    const second = await deploy(spec(web(images.webV2), 2));
    events.push('second refused');
    expect(second.result.ok).toBe(false);
    expect(second.result.error?.code).toBe('job_busy');
    expect(second.result.message).toMatch(/busy/);
    expect(await first).toMatchObject({ ok: true, action: 'fresh' });
    // The refusal came while the first was still at work: its gate passed only afterwards.
    const refused = events.indexOf('second refused');
    const gatePassed = events.indexOf('first:health:Waiting for containers to be running (2/2)');
    expect(refused).toBeGreaterThan(0);
    expect(gatePassed).toBeGreaterThan(refused);
    const cs = await containers();
    expect(new Set(cs.map((c) => c.Labels['dokkup.job.version']))).toEqual(new Set([specVersion(slow)]));
  });

  /**
   * Starts an update v1 → v2 and kills the agent (kill -9) when its progress first reaches
   * `phase`; resolves with the progress seen. Fails if the update ended before the kill.
   */
  async function killAtPhase(v2: JobSpec, phase: ProgressLine['phase']): Promise<ProgressLine[]> {
    const seen: ProgressLine[] = [];
    let killed: Promise<void> | null = null;
    const outcome = await client
      .deploy(v2, (l) => {
        seen.push(l);
        if (l.phase === phase && !killed) killed = agent.kill9();
      })
      .then(
        (result) => ({ result }),
        (error: unknown) => ({ error }),
      );
    await killed;
    expect(killed).not.toBeNull();
    // The connection died with the agent: no result came.
    expect(outcome).toHaveProperty('error');
    // The kill landed in the phase: nothing after it was reported.
    const at = seen.findIndex((l) => l.phase === phase);
    expect(seen.slice(at).map((l) => l.phase)).toEqual(seen.slice(at).map(() => phase));
    return seen;
  }

  it('kill -9 while health-gating: the old version keeps serving; after a restart status and plan say v1 with the new ones as debris; a re-run converges', async () => {
    const count = 3;
    const v1 = spec(web(images.webV1), count);
    await deploy(v1);
    const old = await ids('running');
    // A long min_healthy_time keeps the gate open long enough for the kill to land in it.
    const v2 = spec(web(images.webV2), count, '', '5s');
    const seen = await killAtPhase(v2, 'health');
    expect(seen.map((l) => l.phase)).toContain('start');
    expect(await ids('running')).toEqual(expect.arrayContaining(old)); // never stopped serving

    await agent.restart();
    const status = await client.status(job);
    expect(status).toMatchObject({
      version: specVersion(v1),
      desired: count,
      running: 2 * count,
      total: 2 * count,
    });
    const plan = await client.plan(job, { operation: 'deploy', spec: v2 });
    expect(plan).toMatchObject({
      action: 'update',
      changes: true,
      versionFrom: specVersion(v1),
      versionTo: specVersion(v2),
    });

    const { result } = await deploy(v2);
    expect(result).toMatchObject({ ok: true, action: 'update', running: count, total: count });
    const cs = await containers();
    expect(cs).toHaveLength(count);
    expect(new Set(cs.map((c) => c.Labels['dokkup.job.version']))).toEqual(new Set([specVersion(v2)]));
    expect(cs.filter((c) => c.State === 'running')).toHaveLength(count);
    expect((await client.history(job)).current).toBe(specVersion(v2));
  });

  it('kill -9 while stopping the old containers (after the commit): status says v2; the re-run only removes the old ones', async () => {
    // The old containers ignore SIGTERM (httpd as PID 1), so each stop lasts the whole grace
    // period: the kill at the first stop line lands while every old container still exists
    // (0.3 killed at the first removal, which the concurrent stops made a race).
    const count = 3;
    const grace = '    stop_grace_period: 4s\n';
    const v1 = spec(web(images.webV1, grace), count);
    await deploy(v1);
    const v2 = spec(web(images.webV2, grace), count);
    const seen = await killAtPhase(v2, 'stop');
    expect(seen.map((l) => l.phase)).toEqual(expect.arrayContaining(['start', 'health', 'stop']));
    expect(seen.map((l) => l.phase)).not.toContain('remove');
    const newOnes = (await containers()).filter((c) => c.Labels['dokkup.job.version'] === specVersion(v2));
    expect(newOnes.filter((c) => c.State === 'running')).toHaveLength(count);
    const leftOld = (await containers()).filter((c) => c.Labels['dokkup.job.version'] === specVersion(v1));
    expect(leftOld).toHaveLength(count);

    await agent.restart();
    expect(await client.status(job)).toMatchObject({
      version: specVersion(v2),
      desired: count,
      total: count + leftOld.length,
    });
    const plan = await client.plan(job, { operation: 'deploy', spec: v2 });
    expect(plan).toMatchObject({ changes: true, versionFrom: specVersion(v2), versionTo: specVersion(v2) });
    expect(plan.action).not.toBe('update'); // no second rollout

    const { result } = await deploy(v2);
    expect(result).toMatchObject({ ok: true, running: count, total: count });
    const after = await ids();
    expect(after).toEqual(newOnes.map((c) => c.Id).sort());
  });
});
