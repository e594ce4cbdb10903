/**
 * `npm run bench:feeds`: what the live feeds cost on a node with many containers, and how fast
 * an event reaches a client.
 *
 * One harness engine with N (default 100) running dokkup-labelled containers (busybox httpd,
 * idle), one real agent process (the built binary), and:
 *  1. agent CPU and RSS with nobody subscribed (the feeds must cost nothing then);
 *  2. the same with one subscriber to stats at 1 s (one Docker stats stream per container),
 *     plus dockerd's own CPU, which is where most of the cost of stats lives;
 *  3. event latency over R start/stop cycles: from Docker's own event timestamp to arrival at
 *     the client, and from the API call to arrival, p50/p95.
 * CPU is read from /proc/<pid>/stat (user+system ticks), RSS from /proc/<pid>/status.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import PQueue from 'p-queue';
import { FeedSession } from '../../src/client/feeds/session.js';
import { LABEL_JOB, LABEL_VERSION } from '../../src/core/labels.js';
import type { FeedEvent, StatsBatch } from '../../src/protocol/feeds.js';
import { startAgentProcess } from '../harness/agent-process.js';
import { docker } from '../harness/docker-cli.js';
import { engineApi } from '../harness/engine-api.js';
import { startEngine } from '../harness/engines.js';
import { buildTestImages } from '../harness/images.js';
import { startRegistry } from '../harness/registry.js';
import { createOwnedDir, destroyDirSync } from '../harness/resources.js';

const N = Number(process.env.BENCH_CONTAINERS ?? 100);
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 20_000);
const CYCLES = Number(process.env.BENCH_CYCLES ?? 50);
const TICKS_PER_SECOND = 100;

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function rssMiB(pid: number): number {
  const kib = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kib / 1024;
}

interface Usage {
  cpuPercent: number;
  rssMiB: number;
  peakRssMiB: number;
}

/** CPU % of one core and RSS of each pid over a window, sampling RSS every 500 ms. */
async function measure(pids: number[], windowMs: number): Promise<Usage[]> {
  const t0 = performance.now();
  const ticks0 = pids.map(cpuTicks);
  const peaks = pids.map(rssMiB);
  while (performance.now() - t0 < windowMs) {
    await new Promise((r) => setTimeout(r, 500));
    pids.forEach((pid, i) => {
      peaks[i] = Math.max(peaks[i] as number, rssMiB(pid));
    });
  }
  const seconds = (performance.now() - t0) / 1000;
  return pids.map((pid, i) => ({
    cpuPercent: ((cpuTicks(pid) - (ticks0[i] as number)) / TICKS_PER_SECOND / seconds) * 100,
    rssMiB: rssMiB(pid),
    peakRssMiB: peaks[i] as number,
  }));
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const nowMs = () => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  const build = createOwnedDir('builds');
  const [engine, registry] = await Promise.all([startEngine('bench-feeds'), startRegistry()]);
  let agent: Awaited<ReturnType<typeof startAgentProcess>> | undefined;
  const sessions: FeedSession[] = [];
  try {
    const images = await buildTestImages(engine.dockerHost, registry.host, build.runDir);
    const image = images.refs.webV1;
    await docker(engine.dockerHost, ['pull', '-q', image]);
    const queue = new PQueue({ concurrency: 8 });
    const create = async (name: string, job: string): Promise<string> => {
      const created = await engineApi(engine.socketPath, 'POST', `/containers/create?name=${name}`, {
        Image: image,
        Labels: { [LABEL_JOB]: job, [LABEL_VERSION]: 'bench01' },
      });
      if (created.status !== 201) throw new Error(`create: ${JSON.stringify(created.json)}`);
      return (created.json as { Id: string }).Id;
    };
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: N }, (_, i) =>
        queue.add(async () => {
          const id = await create(`bench-${i}`, 'bench');
          const started = await engineApi(engine.socketPath, 'POST', `/containers/${id}/start`);
          if (started.status !== 204) throw new Error(`start: ${started.status}`);
        }),
      ),
    );
    console.log(`${N} containers running after ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    agent = await startAgentProcess({ dockerHost: engine.dockerHost, env: { LOG_LEVEL: 'warn' } });
    const agentPid = agent.process.pid as number;
    const dockerdPid = Number(readFileSync(join(engine.dir, 'docker.pid'), 'utf8').trim());
    const dockerVersion = (
      await docker(engine.dockerHost, ['version', '-f', '{{.Server.Version}}'])
    ).stdout.trim();
    await new Promise((r) => setTimeout(r, 2000));

    const [idleAgent, idleDockerd] = (await measure([agentPid, dockerdPid], WINDOW_MS)) as [Usage, Usage];

    const session = new FeedSession({
      name: 'bench',
      baseUrl: agent.baseUrl,
      key: agent.key,
      fingerprint: agent.fingerprint,
    });
    sessions.push(session);
    const batches: { received: number; batch: StatsBatch }[] = [];
    const stopStats = session.subscribeStats({ intervalMs: 1000 }, (batch) =>
      batches.push({ received: nowMs(), batch }),
    );
    const tFirst = nowMs();
    while (!batches.some((b) => b.batch.containers.length === N)) {
      if (nowMs() - tFirst > 60_000) throw new Error(`no batch with ${N} containers within 60 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const firstFullMs = nowMs() - tFirst;
    const batchesBefore = batches.length;
    const [statsAgent, statsDockerd] = (await measure([agentPid, dockerdPid], WINDOW_MS)) as [Usage, Usage];
    const windowBatches = batches.slice(batchesBefore);
    const frameBytes = JSON.stringify({
      type: 'stats',
      id: 'stats-1',
      batch: windowBatches.at(-1)?.batch,
    }).length;
    stopStats();

    // Event latency: start/stop one labelled container repeatedly.
    const events: { event: FeedEvent; received: number }[] = [];
    await new Promise<void>((resolve, reject) =>
      session.subscribeEvents((event) => events.push({ event, received: nowMs() }), {
        job: 'latency',
        onSubscribed: resolve,
        onError: reject,
      }),
    );
    const id = await create('latency-probe', 'latency');
    const fromDocker: number[] = [];
    const fromCall: number[] = [];
    const waitFor = async (
      action: string,
      after: number,
    ): Promise<{ event: FeedEvent; received: number }> => {
      for (;;) {
        const hit = events.find(
          (e) => e.event.type === 'container' && e.event.action === action && e.received >= after,
        );
        if (hit) return hit;
        if (nowMs() - after > 30_000) throw new Error(`no ${action} event`);
        await new Promise((r) => setTimeout(r, 2));
      }
    };
    for (let i = 0; i < CYCLES; i++) {
      for (const [call, action] of [
        [`/containers/${id}/start`, 'start'],
        [`/containers/${id}/stop?t=0`, 'die'],
      ] as const) {
        const called = nowMs();
        const res = await engineApi(engine.socketPath, 'POST', call);
        if (res.status !== 204) throw new Error(`${call}: ${res.status}`);
        const hit = await waitFor(action, called);
        fromDocker.push(hit.received - hit.event.at);
        fromCall.push(hit.received - called);
      }
    }

    const f = (x: number) => x.toFixed(1);
    console.log(
      `\nbench:feeds — ${N} running containers, Docker ${dockerVersion}, ${WINDOW_MS / 1000} s windows, 2-core machine`,
    );
    console.log('  nobody subscribed:');
    console.log(
      `    agent   CPU ${f(idleAgent.cpuPercent)} %  RSS ${f(idleAgent.rssMiB)} MiB (peak ${f(idleAgent.peakRssMiB)})`,
    );
    console.log(`    dockerd CPU ${f(idleDockerd.cpuPercent)} %`);
    console.log('  one subscriber, stats every 1 s:');
    console.log(
      `    agent   CPU ${f(statsAgent.cpuPercent)} %  RSS ${f(statsAgent.rssMiB)} MiB (peak ${f(statsAgent.peakRssMiB)})`,
    );
    console.log(`    dockerd CPU ${f(statsDockerd.cpuPercent)} % (serving ${N} stats streams)`);
    console.log(
      `    first batch with all ${N} containers after ${(firstFullMs / 1000).toFixed(1)} s; ${windowBatches.length} batches in the window, ~${Math.round(frameBytes / 1024)} KiB each`,
    );
    console.log(`  event latency over ${CYCLES} start/stop cycles (${fromDocker.length} events):`);
    console.log(
      `    Docker event time → client: p50 ${f(percentile(fromDocker, 50))} ms, p95 ${f(percentile(fromDocker, 95))} ms`,
    );
    console.log(
      `    API call → client:          p50 ${f(percentile(fromCall, 50))} ms, p95 ${f(percentile(fromCall, 95))} ms`,
    );
  } finally {
    for (const s of sessions) s.close();
    await agent?.stop();
    await Promise.allSettled([engine.stop(), registry.stop()]);
    destroyDirSync(build.dir);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
