/**
 * A job with two containers on a real engine: an HTTP server (`web`, busybox httpd) and a sidecar
 * (`side`) that fetches from it by its entry name on a user-defined network and logs the answer.
 * A real agent process (the built binary) driven through the real HTTP client; what runs is read
 * straight from the engine (labels, names, network aliases, logs), never from the agent.
 */
import { afterAll, beforeAll, beforeEach, expect, inject, it } from 'vitest';
import { AgentClient } from '../../src/client/index.js';
import { parseJobText } from '../../src/config/index.js';
import { LABEL_ENTRY, LABEL_REPLICA, LABEL_VERSION } from '../../src/core/labels.js';
import { shopJobFile03 } from '../../src/core/version.fixture.js';
import { specVersion } from '../../src/core/version.js';
import type { OperationResult } from '../../src/protocol/api.js';
import type { JobSpec } from '../../src/protocol/job.js';
import { type AgentProcess, startAgentProcess } from '../harness/agent-process.js';
import {
  allContainers,
  type ContainerState,
  describeDocker,
  httpGet,
  publishedPort,
} from '../harness/context.js';
import { docker } from '../harness/docker-cli.js';
import { pinnedFetch } from '../harness/https-fetch.js';

const h = inject('dokkupHarness');

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

describeDocker('a job with two containers (real agent, real Docker)', () => {
  const engine = h.engines[0]!;
  const images = h.images!;
  let agent: AgentProcess;
  let client: AgentClient;
  let seq = 0;
  let job = 'duo';
  let net = 'duo-net';

  /**
   * `web` serves the image's body on 8000; `side` asks `http://web:8000/` every 0.3 s by the
   * alias and logs `side got: <answer> from <address>` (init: true: its shell loop stops at once on SIGTERM).
   */
  function duo(
    opts: { web?: string; side?: string; sideCommand?: string; count?: number; networks?: string } = {},
  ) {
    const networks = opts.networks ?? `[${net}]`;
    // Busybox's own tools, as the test image has them: `nslookup` asks Docker's DNS (127.0.0.11)
    // for `web`, and `nc` sends the HTTP request to the address it got (the image's static
    // busybox `wget` crashes on this engine, so it is not used). The log line is the body.
    const command =
      opts.sideCommand ??
      "while true; do ip=$(timeout 2 nslookup web 2>/dev/null | awk '/^Address: /{print $2; exit}'); " +
        'if [ -n "$ip" ]; then echo "side got: $(printf \'GET / HTTP/1.0\\r\\n\\r\\n\' | timeout 2 nc $ip 8000 | tail -n 1) from $ip"; ' +
        'else echo "side got: no address for web"; fi; sleep 0.3; done';
    const text = `name: ${job}
node: n1
count: ${opts.count ?? 2}
update:
  healthy_deadline: 30s
  min_healthy_time: 2s
container:
  - name: web
    image: "${opts.web ?? images.webV1}"
    ports:
      - in: 8000
    networks: ${networks}
  - name: side
    image: "${opts.side ?? images.webV1}"
    init: true
    command: ["sh", "-c", ${JSON.stringify(command)}]
    networks: ${networks}
`;
    return parseJobText(text, `${job}.yaml`);
  }

  const containers = () => allContainers(engine, { 'dokkup.job.name': job });
  const ids = async () => (await containers()).map((c) => c.id).sort();
  const deploy = (s: JobSpec): Promise<OperationResult> => client.deploy(s, () => {});

  /** The engine's containers by replica label. */
  function replicas(cs: ContainerState[]): Map<string, ContainerState[]> {
    const by = new Map<string, ContainerState[]>();
    for (const c of cs) {
      const key = c.labels[LABEL_REPLICA] ?? c.id;
      by.set(key, [...(by.get(key) ?? []), c]);
    }
    return by;
  }

  /** Every replica has one running container of each entry, all of `version`. */
  async function expectWhole(version: string, count: number): Promise<void> {
    const cs = await containers();
    expect(cs).toHaveLength(count * 2);
    const groups = replicas(cs);
    expect(groups.size).toBe(count);
    for (const group of groups.values()) {
      expect(group.map((c) => c.labels[LABEL_ENTRY]).sort()).toEqual(['side', 'web']);
      expect(group.every((c) => c.labels[LABEL_VERSION] === version && c.state === 'running')).toBe(true);
    }
  }

  async function logsOf(id: string): Promise<string> {
    const out = await docker(engine.dockerHost, ['logs', id], { allowFail: true });
    return `${out.stdout}${out.stderr}`;
  }

  async function until(
    what: string,
    check: () => Promise<boolean>,
    timeoutMs = 20_000,
    explain: () => Promise<string> = async () => '',
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${await explain()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  beforeAll(async () => {
    agent = await startAgentProcess({ dockerHost: engine.dockerHost });
    client = new AgentClient(agent.inventoryNode('n1'));
  });
  afterAll(async () => {
    await agent?.stop();
  });
  beforeEach(() => {
    job = `duo${++seq}`;
    net = `${job}-net`;
  });

  it('deploys, updates one entry, fails a sidecar update, scales, rolls back and purges — replicas always whole', async () => {
    // Fresh: two replicas, each a web and a side container sharing a replica ID.
    const v1 = duo();
    const fresh = await deploy(v1);
    expect(fresh, fresh.message).toMatchObject({ ok: true, action: 'fresh', running: 4, total: 4 });
    await expectWhole(specVersion(v1), 2);
    for (const [replica, group] of replicas(await containers())) {
      expect(replica).toMatch(new RegExp(`^${UUID}$`));
      for (const c of group) expect(c.name).toBe(`${job}-${c.labels[LABEL_ENTRY]}-${replica}`);
    }
    // On the user network each container answers to its entry name.
    for (const c of await containers()) {
      const aliases = JSON.parse(
        (
          await docker(engine.dockerHost, [
            'inspect',
            '-f',
            `{{json (index .NetworkSettings.Networks "${net}").Aliases}}`,
            c.id,
          ])
        ).stdout,
      ) as string[];
      expect(aliases).toContain(c.labels[LABEL_ENTRY]);
    }
    // The sidecar's log proves the alias: it reached `web` by name and got its body.
    const firstSide = (await containers()).find((c) => c.labels[LABEL_ENTRY] === 'side')!;
    await until(
      'the sidecar to log an answer from web',
      async () => (await logsOf(firstSide.id)).includes('side got: v1'),
      20_000,
      async () => `; its log: ${(await logsOf(firstSide.id)).slice(-500)}`,
    );

    // Update one entry (web v1 -> v2) under a prober: no replica ever mixes versions, and
    // never fewer than two web containers answer HTTP.
    const before = await ids();
    const v2 = duo({ web: images.webV2 });
    const plan = await client.plan(job, { operation: 'deploy', spec: v2 });
    expect(plan).toMatchObject({ action: 'update', strategy: 'start-first', desired: 4 });
    expect(plan.diff?.entries).toEqual([
      expect.objectContaining({
        name: 'web',
        change: 'changed',
        diff: expect.objectContaining({ image: { from: images.webV1, to: images.webV2 } }),
      }),
    ]);
    let probing = true;
    let samples = 0;
    let minServing = Number.POSITIVE_INFINITY;
    const mixed: string[] = [];
    const bodies = new Set<string>();
    const prober = (async () => {
      while (probing) {
        const cs = await containers();
        for (const group of replicas(cs).values()) {
          if (new Set(group.map((c) => c.labels[LABEL_VERSION])).size > 1)
            mixed.push(group.map((c) => `${c.labels[LABEL_ENTRY]}@${c.labels[LABEL_VERSION]}`).join(' '));
        }
        const webs = cs.filter((c) => c.state === 'running' && c.labels[LABEL_ENTRY] === 'web');
        const answers = await Promise.all(
          webs.map(async (c) => {
            try {
              return (await httpGet(publishedPort(c, '8000/tcp'))).trim();
            } catch {
              return null; // on its way out, or not listening yet
            }
          }),
        );
        for (const a of answers) if (a) bodies.add(a);
        minServing = Math.min(minServing, answers.filter((a) => a !== null).length);
        samples++;
        await new Promise((r) => setTimeout(r, 75));
      }
    })();
    const updated = await deploy(v2);
    probing = false;
    await prober;
    expect(updated).toMatchObject({ ok: true, action: 'update', running: 4, total: 4 });
    expect(samples).toBeGreaterThan(5);
    expect(mixed).toEqual([]);
    expect(minServing).toBeGreaterThanOrEqual(2);
    expect([...bodies].sort()).toEqual(['v1', 'v2']);
    await expectWhole(specVersion(v2), 2);
    expect((await ids()).some((id) => before.includes(id))).toBe(false);
    const newSide = (await containers()).find((c) => c.labels[LABEL_ENTRY] === 'side')!;
    await until('a new sidecar to get v2 from web', async () =>
      (await logsOf(newSide.id)).includes('side got: v2'),
    );

    // A sidecar that crashes fails the update; the old replicas keep running with the same IDs.
    const running = await ids();
    const history = await client.history(job);
    const broken = await deploy(duo({ web: images.webV2, sideCommand: 'sleep 0.5; exit 3' }));
    expect(broken).toMatchObject({
      ok: false,
      action: 'update',
      restored: true,
      error: { code: 'start_failed' },
    });
    // Docker restarts it (restart: always) or the gate sees it exited first: either fails it.
    expect(broken.message).toMatch(
      /^new container [0-9a-f]{12} \(side\) (exited with code 3|crashed and was restarted)$/,
    );
    expect(await ids()).toEqual(running);
    await expectWhole(specVersion(v2), 2);
    expect(await client.history(job)).toEqual(history);

    // Scale 2 -> 3: one whole replica more, the running ones kept.
    const scaled = await deploy(duo({ web: images.webV2, count: 3 }));
    expect(scaled).toMatchObject({ ok: true, action: 'scale', running: 6, total: 6 });
    await expectWhole(specVersion(v2), 3);
    expect((await ids()).filter((id) => running.includes(id))).toHaveLength(4);

    // Roll back: every entry of v1 comes back, at v1's count, in whole replicas.
    const back = await client.rollback(job, undefined, () => {});
    expect(back).toMatchObject({ ok: true, action: 'rollback', versionTo: specVersion(v1), running: 4 });
    await expectWhole(specVersion(v1), 2);
    for (const web of (await containers()).filter((c) => c.labels[LABEL_ENTRY] === 'web'))
      expect((await httpGet(publishedPort(web, '8000/tcp'))).trim()).toBe('v1');

    // Purge: every container of both entries goes, and the history.
    const purged = await client.stop(job, true, () => {});
    expect(purged).toMatchObject({ ok: true, action: 'purge', total: 0 });
    expect(await containers()).toEqual([]);
    expect((await client.history(job)).entries).toEqual([]);
  });

  it('on the default bridge the job runs, but without DNS: no alias, and the sidecar cannot find web', async () => {
    const s = duo({ count: 1, networks: '[bridge]' });
    expect(await deploy(s)).toMatchObject({ ok: true, action: 'fresh', running: 2 });
    const side = (await containers()).find((c) => c.labels[LABEL_ENTRY] === 'side')!;
    const aliases = (
      await docker(engine.dockerHost, [
        'inspect',
        '-f',
        '{{json .NetworkSettings.Networks.bridge.Aliases}}',
        side.id,
      ])
    ).stdout.trim();
    expect(aliases).toBe('null');
    await until(
      'the sidecar to log its failed lookup',
      async () => (await logsOf(side.id)).includes('side got: no address for web'),
      20_000,
      async () => `; its log: ${(await logsOf(side.id)).slice(-500)}`,
    );
    expect(await logsOf(side.id)).not.toContain('side got: v1');
    await client.stop(job, true, () => {});
  });

  it('a one-entry job file keeps its 0.3 version through the real agent, in the 0.4 list and in the 0.3 wire shape', async () => {
    const shop = parseJobText(shopJobFile03(`name: ${job}\nnode: n1\n`), 'shop.yaml');
    // The literal the 0.3 release computed for this file (src/core/version.test.ts pins it too).
    expect(specVersion(shop)).toBe('61c7e12');
    // The file binds a host path: this agent (no --bind-root) refuses it, naming the field of
    // the normalised spec (its volumes sorted)…
    expect(shop.container[0]!.volumes[0]).toBe('/srv/shop/config:/config:ro');
    await expect(client.plan(job, { operation: 'deploy', spec: shop })).rejects.toMatchObject({
      status: 400,
      body: { code: 'invalid_request', path: 'spec.container.0.volumes.0' },
    });
    // …an agent that allows host binds plans it, as the same version.
    const open = await startAgentProcess({ dockerHost: engine.dockerHost, args: ['--allow-host-binds'] });
    try {
      const openClient = new AgentClient({
        name: 'n1',
        location: open.baseUrl,
        baseUrl: open.baseUrl,
        key: open.key,
        fingerprint: open.fingerprint,
      });
      const plan = await openClient.plan(job, { operation: 'deploy', spec: shop });
      expect(plan.versionTo).toBe('61c7e12');
      // A 0.3 CLI sends the container as one object: the agent reads it as the same job.
      const wire = { operation: 'deploy', spec: { ...shop, container: shop.container[0] } };
      const res = await pinnedFetch(`${open.baseUrl}/v1/jobs/${job}/plan`, {
        method: 'POST',
        headers: { authorization: `Bearer ${open.key}`, 'content-type': 'application/json' },
        body: JSON.stringify(wire),
        fingerprint: open.fingerprint,
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { versionTo: string }).versionTo).toBe('61c7e12');
    } finally {
      await open.stop();
    }
  });
});
