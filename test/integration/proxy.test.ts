/**
 * The node proxy on a real engine: a real agent process (the built binary) with the harness's
 * Caddy image (Debian's binary, `docker import`ed), a job served on a fixed port of the node
 * through it, and a prober on that port (loopback) sending a request every 20 ms over a new
 * connection each time. What the prober saw is the verdict: not one failed request, and the
 * answers change version only when an operation switches them, exactly once per switch.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { AgentClient } from '../../src/client/index.js';
import { parseJobText } from '../../src/config/index.js';
import { LABEL_VERSION } from '../../src/core/labels.js';
import { specVersion } from '../../src/core/version.js';
import type { JobSpec, ProgressLine } from '../../src/protocol/index.js';
import { type AgentProcess, freePort, startAgentProcess } from '../harness/agent-process.js';
import { allContainers, describeDocker } from '../harness/context.js';
import { docker } from '../harness/docker-cli.js';

const h = inject('dokkupHarness');

interface Answer {
  at: number;
  /** The body (trimmed), or null for a failed request. */
  body: string | null;
  status: number | null;
  error?: string;
}

/** GET http://127.0.0.1:port/ with a Host header, on a new connection. */
function get(port: number, host: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/', headers: { host }, agent: false, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString().trim() }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Requests every `everyMs` until stopped; every answer kept in order. */
function startProber(port: number, host: string, everyMs = 20) {
  const answers: Answer[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const at = Date.now();
      try {
        const { status, body } = await get(port, host);
        answers.push({
          at,
          status,
          body: status === 200 ? body : null,
          ...(status === 200 ? {} : { error: `${status} ${body}` }),
        });
      } catch (err) {
        answers.push({ at, status: null, body: null, error: (err as Error).message });
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    answers,
    /** Answers from index `from` on. */
    since: (from: number) => answers.slice(from),
    async stop() {
      running = false;
      await done;
      return answers;
    },
  };
}

/** The sequence of distinct bodies, consecutive repeats collapsed: `['v1', 'v2']`. */
function transitions(answers: readonly Answer[]): (string | null)[] {
  const out: (string | null)[] = [];
  for (const a of answers) if (out[out.length - 1] !== a.body) out.push(a.body);
  return out;
}

function failures(answers: readonly Answer[]): string[] {
  return answers.filter((a) => a.body === null).map((a) => `${new Date(a.at).toISOString()} ${a.error}`);
}

describeDocker('the node proxy (real agent, real Docker, Caddy)', () => {
  const engine = h.engines[0]!;
  const images = h.images!;
  let agent: AgentProcess;
  let client: AgentClient;

  function job(opts: {
    name: string;
    port: number;
    image?: string;
    count?: number;
    host?: string;
    health?: boolean;
    extra?: string;
  }): JobSpec {
    const text = `name: ${opts.name}
node: n1
count: ${opts.count ?? 2}
update:
  healthy_deadline: 30s
  min_healthy_time: 1s
container:
  - image: "${opts.image ?? images.webV1}"
    stop_grace_period: 3s
proxy:
  port: ${opts.port}
${opts.host ? `  host: ${opts.host}\n` : ''}  target: 8000
${opts.health === false ? '' : '  health: { path: /index.html, interval: 500ms }\n'}  drain: 5s
${opts.extra ?? ''}`;
    return parseJobText(text, `${opts.name}.yaml`);
  }

  const containersOf = (name: string) => allContainers(engine, { 'dokkup.job.name': name });

  async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check().catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  beforeAll(async () => {
    agent = await startAgentProcess({ dockerHost: engine.dockerHost, args: ['--proxy-image', images.proxy] });
    client = new AgentClient(agent.inventoryNode('n1'));
  });
  afterAll(async () => {
    client?.close();
    await agent?.stop();
    await docker(engine.dockerHost, ['rm', '-f', 'dokkup-proxy'], { allowFail: true });
  });

  it('update, rollback, scale 2→4→1 and a kill -9 of the agent mid-update: no failed request, each switch once', async () => {
    const port = await freePort();
    const name = 'shop';
    const v1 = job({ name, port });
    const v2 = job({ name, port, image: images.webV2 });

    const plan = await client.plan(name, { operation: 'deploy', spec: v1 });
    expect(plan).toMatchObject({ action: 'fresh', route: `:${port} → 8000` });
    const fresh = await client.deploy(v1, () => {});
    expect(fresh, fresh.message).toMatchObject({ ok: true, action: 'fresh', running: 2 });
    // Only the proxy publishes the port; the job's containers publish nothing.
    const proxy = JSON.parse(
      (
        await docker(engine.dockerHost, [
          'inspect',
          '-f',
          '{{json .HostConfig.PortBindings}}',
          'dokkup-proxy',
        ])
      ).stdout,
    ) as Record<string, { HostPort: string }[]>;
    expect(proxy[`${port}/tcp`]?.[0]?.HostPort).toBe(String(port));
    for (const c of await containersOf(name)) expect(c.ports).toEqual({});
    expect((await get(port, 'anything')).body).toBe('v1');
    const status = await client.status(name);
    expect(status.route).toMatchObject({ route: `:${port} → 8000`, port, targetPort: 8000 });
    expect(status.route?.upstreams.map((u) => u.healthy)).toEqual([true, true]);

    const prober = startProber(port, 'shop.example.com');
    const marks: Record<string, number> = {};
    const mark = (what: string) => {
      marks[what] = prober.answers.length;
    };
    await until('the prober to see v1', async () => prober.answers.some((a) => a.body === 'v1'));

    // Update v1 -> v2 (count 2): the route switches once the new containers pass the gate.
    mark('update');
    const lines: ProgressLine[] = [];
    const updated = await client.deploy(v2, (l) => lines.push(l));
    expect(updated, updated.message).toMatchObject({ ok: true, action: 'update', running: 2, total: 2 });
    const messages = lines.map((l) => l.message);
    const checked = messages.findIndex((m) => m.startsWith('Checking 2 new containers through the proxy'));
    const switched = messages.findIndex((m) => m.includes('switched to 2 containers'));
    const draining = messages.findIndex((m) => m.startsWith('Draining 2 old containers'));
    const stopping = messages.findIndex((m) => m.startsWith('Stopping old containers'));
    expect(
      [checked, switched, draining, stopping].every((i) => i >= 0),
      messages.join('\n'),
    ).toBe(true);
    expect(checked).toBeLessThan(switched);
    expect(switched).toBeLessThan(draining);
    expect(draining).toBeLessThan(stopping);
    await until(
      'the prober to see v2 a while',
      async () => prober.since(marks['update']!).filter((a) => a.body === 'v2').length > 5,
    );

    // Rollback: back to v1 through the same switch.
    mark('rollback');
    const back = await client.rollback(name, undefined, () => {});
    expect(back, back.message).toMatchObject({ ok: true, action: 'rollback', versionTo: specVersion(v1) });
    await until(
      'the prober to see v1 again',
      async () => prober.since(marks['rollback']!).filter((a) => a.body === 'v1').length > 5,
    );

    // Scale 2 -> 4 -> 1: the route gains the new containers, then loses three (drained first).
    // Of a server that runs as PID 1 and ignores SIGTERM (like most images), so every stopped one
    // keeps its socket open for the whole grace period and is then killed: first an update to it
    // (same answer, v1), then the scaling.
    mark('scale');
    const stubborn = (count: number) => job({ name, port, count, image: images.stubborn });
    const toStubborn = await client.deploy(stubborn(2), () => {});
    expect(toStubborn, toStubborn.message).toMatchObject({ ok: true, action: 'update', running: 2 });
    const up = await client.deploy(stubborn(4), () => {});
    expect(up, up.message).toMatchObject({ ok: true, action: 'scale', running: 4 });
    expect((await client.status(name)).route?.upstreams).toHaveLength(4);
    const down = await client.deploy(stubborn(1), () => {});
    expect(down, down.message).toMatchObject({ ok: true, action: 'scale', running: 1, total: 1 });
    expect((await client.status(name)).route?.upstreams).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 500));

    // kill -9 of the agent in the middle of an update (while the new container is gated): the
    // proxy keeps serving v1; the restarted agent reconciles the route and the next run finishes.
    mark('kill');
    const v2one = job({ name, port, image: images.webV2, count: 1 });
    let gating!: () => void;
    const gated = new Promise<void>((r) => {
      gating = r;
    });
    const interrupted = client
      .deploy(v2one, (l) => {
        if (l.message.startsWith('Starting container')) gating();
      })
      .catch((err: Error) => err);
    await gated;
    await agent.kill9();
    await interrupted;
    const whileDown = prober.answers.length;
    await new Promise((r) => setTimeout(r, 1000));
    expect(prober.answers.length - whileDown).toBeGreaterThan(10);
    await agent.restart();
    client.close();
    client = new AgentClient(agent.inventoryNode('n1'));
    expect((await client.status(name)).route?.upstreams).toHaveLength(1);
    const finished = await client.deploy(v2one, () => {});
    expect(finished, finished.message).toMatchObject({
      ok: true,
      action: 'update',
      versionTo: specVersion(v2one),
      running: 1,
      total: 1,
    });
    await until(
      'the prober to see v2 after the restart',
      async () => prober.since(marks['kill']!).filter((a) => a.body === 'v2').length > 5,
    );

    const answers = await prober.stop();
    expect(failures(answers)).toEqual([]);
    expect(answers.length).toBeGreaterThan(100);
    // The whole run: v1, update → v2, rollback → v1, scale (v1 throughout), kill + finish → v2.
    expect(transitions(answers)).toEqual(['v1', 'v2', 'v1', 'v2']);
    expect(transitions(answers.slice(marks['scale']!, marks['kill']!))).toEqual(['v1']);
    expect(transitions(answers.slice(marks['kill']!))).toEqual(['v1', 'v2']);
    for (const c of await containersOf(name)) expect(c.labels[LABEL_VERSION]).toBe(specVersion(v2one));

    // The proxy outlives its own restart: it comes back with its routes (autosaved).
    await docker(engine.dockerHost, ['restart', '-t', '1', 'dokkup-proxy']);
    await until('the restarted proxy to answer v2', async () => (await get(port, 'x')).body === 'v2');

    // Stop: the route goes before the containers stop; the port answers 404 then.
    const stopped = await client.stop(name, true, () => {});
    expect(stopped).toMatchObject({ ok: true, action: 'purge', total: 0 });
    expect((await get(port, 'x')).status).toBe(404);
  });

  it('a request in flight at the switch finishes on the old container: it is stopped only after', async () => {
    const port = await freePort();
    const name = 'slowpoke';
    const v1 = job({ name, port, count: 1, extra: '' });
    expect(await client.deploy(v1, () => {})).toMatchObject({ ok: true, action: 'fresh' });
    // A 4 s request to v1, sent just before the update: the switch comes about 2 s in.
    const slowStarted = Date.now();
    const slow = new Promise<{ status: number; body: string; at: number }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/cgi-bin/slow?4',
          headers: { host: 'x' },
          agent: false,
          timeout: 20_000,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim(), at: Date.now() }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    await new Promise((r) => setTimeout(r, 200));
    const at: Record<string, number> = {};
    const updated = await client.deploy(job({ name, port, count: 1, image: images.webV2 }), (l) => {
      for (const key of ['switched', 'Draining', 'Stopping old containers'])
        if (l.message.includes(key)) at[key] ??= Date.now();
    });
    expect(updated, updated.message).toMatchObject({ ok: true, action: 'update' });
    const answer = await slow;
    expect(answer).toMatchObject({ status: 200, body: 'slow-v1' });
    // The switch came while the request was in flight; the old container stopped after it ended.
    expect(at['switched']!).toBeLessThan(answer.at);
    expect(answer.at - slowStarted).toBeGreaterThanOrEqual(4000);
    expect(at['Stopping old containers']!).toBeGreaterThanOrEqual(answer.at);
    expect((await get(port, 'x')).body).toBe('v2');
    await client.stop(name, true, () => {});
  });

  it('two jobs share one port by host name; a third asking for a taken route is refused, naming the owner', async () => {
    const port = await freePort();
    const a = job({ name: 'site-a', port, host: 'a.example.com', count: 1 });
    const b = job({ name: 'site-b', port, host: 'b.example.com', image: images.webV2, count: 1 });
    expect(await client.deploy(a, () => {})).toMatchObject({ ok: true, action: 'fresh' });
    expect(await client.deploy(b, () => {})).toMatchObject({ ok: true, action: 'fresh' });
    expect(await get(port, 'a.example.com')).toEqual({ status: 200, body: 'v1' });
    expect(await get(port, 'B.Example.com')).toEqual({ status: 200, body: 'v2' });
    expect((await get(port, 'c.example.com')).status).toBe(404);

    const taken = job({ name: 'site-c', port, host: 'a.example.com', count: 1 });
    await expect(client.plan('site-c', { operation: 'deploy', spec: taken })).rejects.toThrow(
      `port ${port} host a.example.com is already routed to job "site-a" on this node`,
    );
    const refused = await client.deploy(taken, () => {});
    expect(refused).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    expect(refused.message).toContain('job "site-a"');
    expect(await containersOf('site-c')).toEqual([]);
    // A job binding the proxy's port itself is refused too.
    const binder = parseJobText(
      `name: binder\nnode: n1\ncontainer:\n  - image: "${images.webV1}"\n    ports:\n      - { in: 8000, out: ${port} }\n`,
      'binder.yaml',
    );
    const bound = await client.deploy(binder, () => {});
    expect(bound).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    expect(bound.message).toContain(`host port ${port} is served by the node's proxy`);
    expect(await get(port, 'a.example.com')).toEqual({ status: 200, body: 'v1' });

    await client.stop('site-a', true, () => {});
    expect((await get(port, 'a.example.com')).status).toBe(404);
    expect(await get(port, 'b.example.com')).toEqual({ status: 200, body: 'v2' });
    await client.stop('site-b', true, () => {});
  });

  it('an unhealthy update fails without touching the route: same upstreams, answers unchanged', async () => {
    const port = await freePort();
    const name = 'steady';
    const good = job({ name, port, image: images.healthy });
    expect(await client.deploy(good, () => {})).toMatchObject({ ok: true, action: 'fresh', running: 2 });
    const before = (await client.status(name)).route;
    expect(before?.upstreams).toHaveLength(2);
    const prober = startProber(port, 'steady.example.com');
    await until('the prober to see v1', async () => prober.answers.some((a) => a.body === 'v1'));
    const bad = await client.deploy(job({ name, port, image: images.unhealthy }), () => {});
    expect(bad).toMatchObject({ ok: false, action: 'update', restored: true, error: { code: 'unhealthy' } });
    await new Promise((r) => setTimeout(r, 300));
    const answers = await prober.stop();
    expect(failures(answers)).toEqual([]);
    expect(transitions(answers)).toEqual(['v1']);
    expect((await client.status(name)).route).toEqual(before);
    expect((await containersOf(name)).map((c) => c.labels[LABEL_VERSION])).toEqual([
      specVersion(good),
      specVersion(good),
    ]);
    await client.stop(name, true, () => {});
  });
});
