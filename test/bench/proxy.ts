/**
 * `npm run bench:proxy`: traffic on a node's published port during updates, on one harness
 * engine in one run (figures printed, never asserted):
 *
 * 1. dokkup through the node proxy (Caddy): a prober sends a request every 20 ms (a new
 *    connection each) to the published port while a job of 2 busybox httpd replicas is updated
 *    v1 → v2 → v1 …; per round: requests, failed requests, when the first new answer came and the
 *    last old one (the switch), and the whole update;
 * 2. the anchor without a proxy: the same job on a fixed host port (`out:`, count 1), which
 *    dokkup can only update stop-first;
 * 3. Docker Swarm on the same engine: a service of 2 replicas published through the routing mesh,
 *    updated with `--update-order start-first --update-parallelism 1` under the same prober (when
 *    the mesh answers on this machine; its update time either way);
 * 4. the proxy's added latency: p50/p99 of sequential requests through the proxy against the
 *    same server published directly, with keep-alive and with a new connection per request.
 *
 * Env: BENCH_ROUNDS (default 3), BENCH_LATENCY_REQUESTS (default 2000).
 */
import { Agent as HttpAgent, request } from 'node:http';
import { networkInterfaces } from 'node:os';
import { AgentClient } from '../../src/client/index.js';
import { parseJobText } from '../../src/config/index.js';
import { freePort, startAgentProcess } from '../harness/agent-process.js';
import { docker, lines, swarmStartFirstUpdate } from '../harness/docker-cli.js';
import { startEngine } from '../harness/engines.js';
import { buildTestImages } from '../harness/images.js';
import { startRegistry } from '../harness/registry.js';
import { createOwnedDir, destroyDirSync } from '../harness/resources.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LATENCY_REQUESTS = Number(process.env.BENCH_LATENCY_REQUESTS ?? 2000);
const PROBE_EVERY_MS = 20;

interface Answer {
  at: number;
  body: string | null;
}

function get(
  address: string,
  port: number,
  host: string,
  agent: HttpAgent | false = false,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: address, port, path: '/', headers: { host }, agent, timeout: 3000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

function startProber(address: string, port: number, host = 'bench.example.com', keepAlive = false) {
  const answers: Answer[] = [];
  let running = true;
  const agent = keepAlive ? new HttpAgent({ keepAlive: true, maxSockets: 1 }) : false;
  const done = (async () => {
    while (running) {
      const at = performance.now();
      try {
        const { status, body } = await get(address, port, host, agent);
        answers.push({ at, body: status === 200 ? body : null });
      } catch {
        answers.push({ at, body: null });
      }
      await new Promise((r) => setTimeout(r, PROBE_EVERY_MS));
    }
  })();
  return {
    answers,
    async stop() {
      running = false;
      await done;
      if (agent) agent.destroy();
      return answers;
    },
  };
}

interface SwitchFigures {
  requests: number;
  failed: number;
  /** ms from the start of the update to the first answer of the new version. */
  firstNew: number;
  /** ms from the start of the update to the last answer of the old version. */
  lastOld: number;
  /** ms the update took (the command or the agent's operation). */
  total: number;
}

function switchFigures(
  answers: Answer[],
  t0: number,
  from: string,
  to: string,
  total: number,
): SwitchFigures {
  const during = answers.filter((a) => a.at >= t0);
  const firstNew = during.find((a) => a.body === to)?.at ?? Number.NaN;
  const lastOld = [...during].reverse().find((a) => a.body === from)?.at ?? t0;
  return {
    requests: during.length,
    failed: during.filter((a) => a.body === null).length,
    firstNew: firstNew - t0,
    lastOld: lastOld - t0,
    total,
  };
}

/** `-` when nothing was measured (no prober). */
const failedCell = (r: SwitchFigures) => (r.requests === 0 ? '-' : String(r.failed));
const signed = (n: number) => `${n >= 0 ? '+' : '−'}${Math.abs(n).toFixed(2)}`;
const ms = (n: number) => (Number.isFinite(n) ? `${Math.round(n)} ms` : '-');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

function printRounds(title: string, rounds: SwitchFigures[]): void {
  console.log(`\n${title}`);
  console.log('  ROUND   REQUESTS   FAILED   LAST OLD   FIRST NEW   OLD→NEW   UPDATE');
  rounds.forEach((r, i) => {
    console.log(
      `  ${String(i + 1).padEnd(8)}${String(r.requests).padEnd(11)}${failedCell(r).padEnd(9)}${ms(r.lastOld).padEnd(11)}${ms(r.firstNew).padEnd(12)}${ms(r.firstNew - r.lastOld).padEnd(10)}${ms(r.total)}`,
    );
  });
}

async function latency(address: string, port: number, host: string, keepAlive: boolean): Promise<number[]> {
  const agent = keepAlive ? new HttpAgent({ keepAlive: true, maxSockets: 1 }) : false;
  const out: number[] = [];
  try {
    for (let i = 0; i < 50; i++) await get(address, port, host, agent); // warm-up
    for (let i = 0; i < LATENCY_REQUESTS; i++) {
      const t0 = performance.now();
      const { status } = await get(address, port, host, agent);
      if (status !== 200) throw new Error(`latency probe answered ${status}`);
      out.push(performance.now() - t0);
    }
  } finally {
    if (agent) agent.destroy();
  }
  return out;
}

/** Addresses of this machine to try the routing mesh on: loopback first, then the others. */
function localAddresses(): string[] {
  const others = Object.values(networkInterfaces())
    .flat()
    .filter((i): i is NonNullable<typeof i> => !!i && i.family === 'IPv4' && !i.internal)
    .map((i) => i.address);
  return ['127.0.0.1', ...others];
}

async function main(): Promise<void> {
  const build = createOwnedDir('builds');
  const [engine, registry] = await Promise.all([startEngine('benchproxy'), startRegistry()]);
  let agent: Awaited<ReturnType<typeof startAgentProcess>> | undefined;
  try {
    const images = await buildTestImages(engine.dockerHost, registry.host, build.runDir);
    for (const ref of [images.refs.webV1, images.refs.webV2, images.refs.proxy])
      await docker(engine.dockerHost, ['pull', ref]);
    const dockerVersion = (
      await docker(engine.dockerHost, ['version', '-f', '{{.Server.Version}}'])
    ).stdout.trim();
    const caddyVersion = (
      await docker(engine.dockerHost, ['run', '--rm', images.refs.proxy, 'caddy', 'version'])
    ).stdout
      .trim()
      .split(' ')[0];
    console.log(
      `dokkup proxy benchmark: Docker ${dockerVersion}, Caddy ${caddyVersion} (Debian's binary), ${ROUNDS} rounds, a request every ${PROBE_EVERY_MS} ms`,
    );

    agent = await startAgentProcess({
      dockerHost: engine.dockerHost,
      env: { LOG_LEVEL: 'warn' },
      args: ['--proxy-image', images.refs.proxy],
    });
    const client = new AgentClient(agent.inventoryNode('bench'));
    const version = { v1: images.refs.webV1, v2: images.refs.webV2 };

    // 1. Through the node proxy.
    const port = await freePort();
    const routed = (image: string) =>
      parseJobText(
        `name: routed\nnode: bench\ncount: 2\nupdate:\n  min_healthy_time: 1s\ncontainer:\n  - image: "${image}"\n` +
          `proxy:\n  port: ${port}\n  host: bench.example.com\n  target: 8000\n  health: { path: /index.html, interval: 1s }\n  drain: 5s\n`,
        'routed.yaml',
      );
    const fresh = await client.deploy(routed(version.v1), () => {});
    if (!fresh.ok) throw new Error(`deploy through the proxy: ${fresh.message}`);
    const proxied: SwitchFigures[] = [];
    const keptAlive: SwitchFigures[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const [from, to] = round % 2 === 0 ? (['v1', 'v2'] as const) : (['v2', 'v1'] as const);
      // Two clients at once: a new connection per request, and one keep-alive connection reused
      // (a switch closes the proxy's idle connections of the previous configuration).
      const prober = startProber('127.0.0.1', port);
      const reusing = startProber('127.0.0.1', port, 'bench.example.com', true);
      await new Promise((r) => setTimeout(r, 500));
      const t0 = performance.now();
      const result = await client.deploy(routed(version[to]), () => {});
      const total = performance.now() - t0;
      await new Promise((r) => setTimeout(r, 500));
      const answers = await prober.stop();
      const reused = await reusing.stop();
      if (!result.ok) throw new Error(`update through the proxy: ${result.message}`);
      proxied.push(switchFigures(answers, t0, from, to, total));
      keptAlive.push(switchFigures(reused, t0, from, to, total));
    }
    printRounds('dokkup, node proxy (start-first, count 2, drain), a new connection per request:', proxied);
    printRounds('… the same rounds, a client reusing one keep-alive connection:', keptAlive);

    // 2. The anchor: a fixed host port, updated stop-first.
    const fixedPort = await freePort();
    const fixed = (image: string) =>
      parseJobText(
        `name: fixed\nnode: bench\ncount: 1\nupdate:\n  min_healthy_time: 1s\ncontainer:\n  - image: "${image}"\n    ports:\n      - { in: 8000, out: ${fixedPort} }\n`,
        'fixed.yaml',
      );
    if (!(await client.deploy(fixed(version.v1), () => {})).ok) throw new Error('deploy on a fixed port');
    const stopFirst: SwitchFigures[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const [from, to] = round % 2 === 0 ? (['v1', 'v2'] as const) : (['v2', 'v1'] as const);
      const prober = startProber('127.0.0.1', fixedPort);
      await new Promise((r) => setTimeout(r, 500));
      const t0 = performance.now();
      const result = await client.deploy(fixed(version[to]), () => {});
      const total = performance.now() - t0;
      await new Promise((r) => setTimeout(r, 500));
      const answers = await prober.stop();
      if (!result.ok) throw new Error(`update on a fixed port: ${result.message}`);
      stopFirst.push(switchFigures(answers, t0, from, to, total));
    }
    printRounds('dokkup without the proxy: fixed host port (out:), count 1, stop-first:', stopFirst);

    // 4. Latency: through the proxy against the same server published directly.
    const direct = parseJobText(
      `name: direct\nnode: bench\ncount: 1\ncontainer:\n  - image: "${version.v1}"\n    ports:\n      - in: 8000\n`,
      'direct.yaml',
    );
    if (!(await client.deploy(direct, () => {})).ok) throw new Error('deploy direct');
    await client.deploy(routed(version.v1), () => {});
    const directPort = Number(
      lines(
        (
          await docker(engine.dockerHost, [
            'ps',
            '--filter',
            'label=dokkup.job.name=direct',
            '--format',
            '{{.Ports}}',
          ])
        ).stdout,
      )[0]?.match(/:(\d+)->8000/)?.[1],
    );
    const latencyRows: string[] = [];
    for (const keepAlive of [true, false]) {
      const viaProxy = await latency('127.0.0.1', port, 'bench.example.com', keepAlive);
      const straight = await latency('127.0.0.1', directPort, 'bench.example.com', keepAlive);
      const p = (xs: number[], q: number) => `${percentile(xs, q).toFixed(2)} ms`;
      latencyRows.push(
        `  ${(keepAlive ? 'keep-alive' : 'new connection').padEnd(16)}${p(straight, 50).padEnd(11)}${p(straight, 99).padEnd(11)}${p(viaProxy, 50).padEnd(11)}${p(viaProxy, 99).padEnd(11)}` +
          `${signed(percentile(viaProxy, 50) - percentile(straight, 50))} / ${signed(percentile(viaProxy, 99) - percentile(straight, 99))} ms`,
      );
    }
    console.log(`\nLatency, ${LATENCY_REQUESTS} sequential GET / (busybox httpd), loopback:`);
    console.log('  CONNECTION      DIRECT p50 DIRECT p99 PROXY p50  PROXY p99  ADDED p50 / p99');
    for (const row of latencyRows) console.log(row);
    await Promise.all(['routed', 'fixed', 'direct'].map((job) => client.stop(job, true, () => {})));
    await agent.stop();
    agent = undefined;
    await docker(engine.dockerHost, ['rm', '-f', 'dokkup-proxy'], { allowFail: true });

    // 3. Swarm's routing mesh, same engine, same images.
    const meshPort = await freePort();
    const swarm: SwitchFigures[] = [];
    let meshAddress: string | null = null;
    await docker(engine.dockerHost, ['swarm', 'init', '--advertise-addr', '127.0.0.1']);
    try {
      await docker(engine.dockerHost, [
        'service',
        'create',
        '--detach',
        '--quiet',
        '--no-resolve-image',
        '--name',
        'mesh',
        '--replicas',
        '2',
        '--publish',
        `published=${meshPort},target=8000`,
        version.v1,
      ]);
      const deadline = Date.now() + 20_000;
      while (meshAddress === null && Date.now() < deadline) {
        for (const address of localAddresses()) {
          const ok = await get(address, meshPort, 'x').then(
            (r) => r.status === 200,
            () => false,
          );
          if (ok) {
            meshAddress = address;
            break;
          }
        }
        if (meshAddress === null) await new Promise((r) => setTimeout(r, 500));
      }
      for (let round = 0; round < ROUNDS; round++) {
        const [from, to] = round % 2 === 0 ? (['v1', 'v2'] as const) : (['v2', 'v1'] as const);
        const prober = meshAddress ? startProber(meshAddress, meshPort) : null;
        await new Promise((r) => setTimeout(r, 500));
        const t0 = performance.now();
        await docker(engine.dockerHost, swarmStartFirstUpdate('mesh', 1, ['--image', version[to]]));
        const total = performance.now() - t0;
        await new Promise((r) => setTimeout(r, 500));
        const answers = prober ? await prober.stop() : [];
        swarm.push(
          prober
            ? switchFigures(answers, t0, from, to, total)
            : { requests: 0, failed: 0, firstNew: Number.NaN, lastOld: Number.NaN, total },
        );
      }
    } finally {
      await docker(engine.dockerHost, ['swarm', 'leave', '--force']).catch(() => undefined);
    }
    printRounds(
      meshAddress
        ? `Docker Swarm routing mesh on ${meshAddress} (start-first, parallelism 1, 2 replicas):`
        : 'Docker Swarm (start-first, parallelism 1, 2 replicas): the routing mesh answered on no local address here, so update times only:',
      swarm,
    );

    console.log('\nMedians                         FAILED    LAST OLD   FIRST NEW   OLD→NEW   UPDATE');
    for (const [what, rounds] of [
      ['dokkup node proxy', proxied],
      ['dokkup node proxy (keep-alive)', keptAlive],
      ['dokkup fixed port (stop-first)', stopFirst],
      ['Swarm routing mesh', swarm],
    ] as const) {
      console.log(
        `  ${what.padEnd(32)}${(rounds.every((r) => r.requests === 0) ? '-' : String(median(rounds.map((r) => r.failed)))).padEnd(10)}${ms(median(rounds.map((r) => r.lastOld))).padEnd(11)}${ms(median(rounds.map((r) => r.firstNew))).padEnd(12)}${ms(median(rounds.map((r) => r.firstNew - r.lastOld))).padEnd(10)}${ms(median(rounds.map((r) => r.total)))}`,
      );
    }
  } finally {
    await agent?.stop();
    await Promise.allSettled([engine.stop(), registry.stop()]);
    destroyDirSync(build.dir);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
