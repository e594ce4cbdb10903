/**
 * `npm run bench:auth`: what wrong keys cost the right one, and how fast a rotation takes effect.
 *
 * One agent (HTTP server, job engine on the in-memory runtime, feeds WebSocket) in a process of
 * its own on loopback, with a key record in a real data directory, and:
 *  1. the latency of an authenticated `GET /v1/info`, alone (the anchor) and sent together with
 *     a burst of 120 wrong keys from the same address, p50/p95/max;
 *  2. the cost of one key check: SHA-256 (0.4) and 0.3's scrypt, per check;
 *  3. from `rotateKey` in the data directory (what `dokkup agent --rotate-key` does) to the close
 *     of a live WebSocket opened with the old key.
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import {
  issueKey,
  KeyVerifier,
  legacyScryptRecord,
  loadOrCreateKey,
  rotateKey,
} from '../../agent/auth/index.js';
import type { FeedRuntime } from '../../agent/docker/feed-runtime.js';
import { attachFeeds } from '../../agent/feeds/attach.js';
import { createAgentServer } from '../../agent/http/server.js';
import { JobEngine } from '../../agent/jobs/engine.js';
import { silentLogger } from '../../agent/logger.js';
import { MemoryJobStateStore } from '../../agent/store/job-store.js';
import { routes } from '../../src/protocol/api.js';
import { FakeRuntime } from '../fakes/container-runtime.js';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 400);
const ATTACKERS = Number(process.env.BENCH_ATTACKERS ?? 120);
const ROTATIONS = Number(process.env.BENCH_ROTATIONS ?? 10);
const BURSTS = Number(process.env.BENCH_BURSTS ?? 100);

/** Feeds without containers: the bench measures the key, not Docker. */
const emptyFeeds: FeedRuntime = {
  listContainers: async () => [],
  findContainer: async () => null,
  watchEvents: async () => ({ close: () => {} }),
  watchStats: async () => ({ close: () => {} }),
  streamLogs: async () => ({ close: () => {}, pause: () => {}, resume: () => {} }),
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function summary(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  const f = (n: number) => `${n.toFixed(2)} ms`;
  return `p50 ${f(percentile(s, 50))}  p95 ${f(percentile(s, 95))}  max ${f(s.at(-1) ?? Number.NaN)}`;
}

async function timedGet(url: string, key: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`the right key got ${response.status}`);
  return performance.now() - started;
}

/** The agent, in a process of its own (`--serve DIR`): the clients below must not share its event loop. */
async function serve(dataDir: string): Promise<void> {
  const { verifier } = await loadOrCreateKey(dataDir);
  verifier.watch();
  const logger = silentLogger();
  const engine = new JobEngine({
    runtime: new FakeRuntime(),
    store: new MemoryJobStateStore(),
    logger,
    agentVersion: 'bench',
  });
  const server = createAgentServer({ service: engine, verifier, logger, agentVersion: 'bench' });
  attachFeeds(server, { verifier, runtime: emptyFeeds, logger });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.send?.({ port: (server.address() as { port: number }).port });
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'dokkup-bench-auth-'));
  // The key is issued here (and printed to nobody): the agent process only loads it.
  const { newKey, verifier: local } = await loadOrCreateKey(dataDir);
  local.close();
  let key = newKey!;
  const child = fork(fileURLToPath(import.meta.url), ['--serve', dataDir], { stdio: 'inherit' });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`agent exited with ${code}`)));
  });
  const info = `http://127.0.0.1:${port}${routes.info}`;

  try {
    // Warm up connections and the JIT.
    for (let i = 0; i < 50; i++) await timedGet(info, key);

    const alone: number[] = [];
    for (let i = 0; i < SAMPLES; i++) alone.push(await timedGet(info, key));

    // A burst of 120 requests from this address, and the right key sent among them: first 120
    // health probes (no key at all: the cost of 120 requests, the control), then 120 wrong keys.
    const statuses = new Map<number, number>();
    const burst = async (path: string, header: () => Record<string, string>) => {
      const others = Array.from({ length: ATTACKERS }, async () => {
        const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers: header() });
        await response.arrayBuffer();
        if (response.status !== 200) statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      });
      const took = await timedGet(info, key);
      await Promise.all(others);
      return took;
    };
    // Alternating rounds, so that the machine's other load weighs on both alike.
    const control: number[] = [];
    const rightKeys: number[] = [];
    const attacked: number[] = [];
    for (let round = 0; round < BURSTS; round++) {
      control.push(await burst(routes.health, () => ({})));
      rightKeys.push(await burst(routes.info, () => ({ authorization: `Bearer ${key}` })));
      attacked.push(await burst(routes.info, () => ({ authorization: `Bearer ${issueKey()}` })));
    }

    const p50 = (xs: number[]) =>
      percentile(
        [...xs].sort((x, y) => x - y),
        50,
      );
    console.log(
      `Authenticated GET ${routes.info} on loopback (agent in its own process), ${BURSTS} rounds each:`,
    );
    console.log(`  alone, one after another (anchor):              ${summary(alone)}`);
    console.log(`  sent among ${ATTACKERS} health probes (no key):        ${summary(control)}`);
    console.log(`  sent among ${ATTACKERS} requests with the right key:   ${summary(rightKeys)}`);
    console.log(`  sent among ${ATTACKERS} wrong keys, same address:      ${summary(attacked)}`);
    console.log(
      `  wrong keys vs. right keys, p50: ${(p50(attacked) - p50(rightKeys)).toFixed(2)} ms; the wrong keys got ${[
        ...statuses,
      ]
        .sort(([x], [y]) => x - y)
        .map(([status, n]) => `${n}×${status}`)
        .join(', ')}`,
    );

    // One check, both ways.
    const sha = KeyVerifier.forKey(key);
    const wrong = issueKey();
    const shaRuns = 20_000;
    let t = performance.now();
    for (let i = 0; i < shaRuns; i++) await sha.verify(wrong);
    const shaUs = ((performance.now() - t) / shaRuns) * 1000;
    const legacy = KeyVerifier.fromRecord(legacyScryptRecord(key));
    const scryptRuns = 10;
    t = performance.now();
    for (let i = 0; i < scryptRuns; i++) await legacy.verify(wrong);
    const scryptMs = (performance.now() - t) / scryptRuns;
    console.log('One wrong-key check, in process:');
    console.log(`  SHA-256 (0.4):        ${shaUs.toFixed(1)} µs`);
    console.log(`  scrypt N=2^15 (0.3):  ${scryptMs.toFixed(1)} ms (0.3 paid this for every wrong key)`);

    // Rotation → a session opened with the old key closes.
    const delays: number[] = [];
    for (let i = 0; i < ROTATIONS; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${routes.feeds}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const closed = new Promise<number>((resolve) => ws.once('close', () => resolve(performance.now())));
      const started = performance.now();
      key = (await rotateKey(dataDir)).key;
      delays.push((await closed) - started);
    }
    console.log(
      `Key rotated in the data directory → live WebSocket with the old key closed (${ROTATIONS} rotations):`,
    );
    console.log(`  ${summary(delays)} (file-system watch, and a poll every 250 ms)`);
  } finally {
    child.kill();
    await rm(dataDir, { recursive: true, force: true });
  }
}

(process.argv[2] === '--serve' ? serve(process.argv[3]!) : main()).then(
  () => {
    if (process.argv[2] !== '--serve') process.exit(0);
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
