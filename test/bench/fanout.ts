/**
 * `npm run bench:fanout`: how the CLI copes with many nodes.
 *
 * For 100, 1,000 and 10,000 SIMULATED nodes (test/sim: the real agent HTTP code and job engine
 * over an in-memory container runtime, one loopback listener per node, in a separate process),
 * runs the BUILT CLI binary and measures its wall time and peak memory (max RSS, from
 * `/usr/bin/time -v`, or from the CLI process itself when that tool is missing):
 *   - `run job -y` on a fresh cluster (plan + deploy of 2 containers on every node),
 *   - `run job -y` again (plan only: every node already up to date),
 *   - `show job` (every node's status with its 2 containers).
 * Output goes to /dev/null; exit codes and the CLI's own per-node tally are checked, so a run
 * that "finished fast" by failing is reported as a failure, not as a figure.
 *
 * With `--rtt 100ms` every simulated node answers one round trip late (two on a new connection:
 * see test/sim's LatencyModel), as nodes across a real network would.
 *
 * The nodes serve TLS, as agents do by default, pinned by fingerprint in the inventory
 * (`--transport plain` or `both` adds the same runs over plain HTTP, for comparison). Then the
 * TLS handshake itself: the client CPU per node of a full handshake, of a resumed one (the
 * session cache that lets plan → deploy to one node pay one full handshake), and of a bare TCP
 * connect, over `--handshakes` simulated nodes (0: skipped).
 *
 * Goals on the 2-core dev machine: 1,000 nodes under 5 s, 10,000 under 30 s (also at 100 ms RTT),
 * CLI memory under 300 MB.
 * Usage: node dist/test/bench/fanout.js [--nodes 100,1000,10000] [--parallel default|32,256,…]
 *   [--rtt 100ms] [--jitter 10ms] [--fresh-only] [--transport tls|plain|both] [--handshakes 1000]
 * `--parallel default` runs the CLI without the flag (its default); a list runs each value.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connectTrusted, TlsSessionCache } from '../../src/client/transport.js';
import { cliNodeFlags } from '../harness/agent-process.js';
import { type Simulation, startSimulation, stopSimulation, type Transport } from './simulation.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const distRoot = path.resolve(here, '..', '..');
const CLI = path.join(distRoot, 'src', 'cli', 'bin.js');
const WRAPPER = path.join(here, 'measure-wrapper.js');
const TIME = '/usr/bin/time';

interface Measurement {
  nodes: number;
  parallel: string;
  transport: Transport;
  command: string;
  wallSeconds: number;
  peakRssMb: number;
  exitCode: number;
  tally: string;
  ok: boolean;
}

function parseTimeOutput(text: string): { rssKb: number } {
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(text);
  return { rssKb: rss ? Number(rss[1]) : Number.NaN };
}

async function measure(
  sim: Simulation,
  nodes: number,
  label: string,
  args: string[],
  parallel: string,
): Promise<Measurement> {
  const useTime = existsSync(TIME);
  const parallelArgs = parallel === 'default' ? [] : ['--parallel', parallel];
  const cliArgs = [...args, ...parallelArgs, '--no-color', '-i', sim.inventory, sim.job];
  const command = useTime ? TIME : process.execPath;
  // As users run it: with the Node flags of the executable's first line.
  const flags = cliNodeFlags();
  const commandArgs = useTime
    ? ['-v', process.execPath, ...flags, CLI, ...cliArgs]
    : [...flags, WRAPPER, CLI, ...cliArgs];
  const stdoutFile = path.join(sim.dir, `${label.replace(/\W+/g, '-')}.out`);
  const started = performance.now();
  const child = spawn(command, commandArgs, {
    stdio: ['ignore', openSync(stdoutFile, 'w'), 'pipe'],
    env: { ...process.env, ...sim.env, NO_COLOR: '1' },
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exitCode: number = await new Promise((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
  const wallSeconds = (performance.now() - started) / 1000;
  const rssKb = useTime
    ? parseTimeOutput(stderr).rssKb
    : Number(/dokkup-bench-max-rss-kb=(\d+)/.exec(stderr)?.[1] ?? Number.NaN);
  const output = readFileSync(stdoutFile, 'utf8');
  const tally = /^\d+ nodes?: .*$/m.exec(output)?.[0] ?? lastLine(output);
  const expectedNodes = new RegExp(`^${nodes} nodes: ${nodes} (succeeded|unchanged)$`);
  const ok =
    exitCode === 0 &&
    (label.startsWith('show') ? countShownNodes(output) === nodes : expectedNodes.test(tally));
  if (!ok) process.stderr.write(`\n[${nodes} ${label}] exit ${exitCode}\n${stderr.slice(-2000)}\n`);
  return {
    nodes,
    parallel,
    transport: sim.transport,
    command: label,
    wallSeconds,
    peakRssMb: rssKb / 1024,
    exitCode,
    tally,
    ok,
  };
}

function countShownNodes(output: string): number {
  return output.split('\n').filter((line) => /^\S+\s+\S+\s+ONLINE\s/.test(line)).length;
}

function lastLine(text: string): string {
  return text.trimEnd().split('\n').at(-1) ?? '';
}

function pad(text: string, width: number): string {
  return text.padEnd(width);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '100,1000,10000' },
      parallel: { type: 'string', default: 'default' },
      rtt: { type: 'string', default: '0ms' },
      jitter: { type: 'string' },
      'fresh-only': { type: 'boolean', default: false },
      transport: { type: 'string', default: 'tls' },
      handshakes: { type: 'string', default: '1000' },
    },
  });
  const transports: Transport[] =
    values.transport === 'both' ? ['tls', 'plain'] : values.transport === 'plain' ? ['plain'] : ['tls'];
  const sizes = values.nodes.split(',').map(Number);
  const parallels = values.parallel.split(',');
  const latency = ['--rtt', values.rtt, ...(values.jitter ? ['--jitter', values.jitter] : [])];
  process.stdout.write(
    `dokkup fan-out benchmark: the built CLI against SIMULATED nodes (test/sim), --parallel ${values.parallel}, ` +
      `simulated RTT ${values.rtt}${values.jitter ? ` ± ${values.jitter}` : ' ± 10%'}\n` +
      `memory from ${existsSync(TIME) ? '/usr/bin/time -v (max RSS of the CLI process)' : 'the CLI process itself (process.resourceUsage)'}\n\n`,
  );
  const results: Measurement[] = [];
  for (const nodes of sizes) {
    for (const [parallel, transport] of parallels.flatMap((p) => transports.map((t) => [p, t] as const))) {
      const simStarted = performance.now();
      const sim = await startSimulation(nodes, 'fanout', latency, transport);
      process.stdout.write(
        `${nodes} simulated nodes (${transport === 'tls' ? 'TLS' : 'plain HTTP'}) ready in ${((performance.now() - simStarted) / 1000).toFixed(1)} s\n`,
      );
      try {
        const run = async (label: string, args: string[]) => {
          const m = await measure(sim, nodes, label, args, parallel);
          results.push(m);
          process.stdout.write(
            `  --parallel ${parallel}, ${transport === 'tls' ? 'TLS' : 'plain'}: ${label}: ${m.wallSeconds.toFixed(2)} s, ${m.peakRssMb.toFixed(0)} MB${m.ok ? '' : ' FAILED'}\n`,
          );
        };
        await run('run job -y (fresh deploy)', ['run', 'job', '-y']);
        if (!values['fresh-only']) {
          await run('run job -y (no change)', ['run', 'job', '-y']);
          await run('show job', ['show', 'job']);
        }
      } finally {
        await stopSimulation(sim);
      }
    }
  }

  const goal = (m: Measurement) => {
    const limit = m.nodes <= 1000 ? 5 : 30;
    return m.ok && m.wallSeconds < limit && m.peakRssMb < 300 ? 'yes' : 'NO';
  };
  const header = [
    'NODES',
    'PARALLEL',
    'TRANSPORT',
    'COMMAND',
    'WALL',
    'PEAK RSS',
    'EXIT',
    'WITHIN GOAL',
    'CLI TALLY',
  ];
  const rows = results.map((m) => [
    m.nodes.toLocaleString('en-US'),
    m.parallel,
    m.transport === 'tls' ? 'TLS' : 'plain',
    m.command,
    `${m.wallSeconds.toFixed(2)} s`,
    `${m.peakRssMb.toFixed(0)} MB`,
    String(m.exitCode),
    goal(m),
    m.command.startsWith('show') ? `${countLabel(m)}` : m.tally,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  process.stdout.write('\n');
  for (const row of [header, ...rows]) {
    process.stdout.write(
      `${row
        .map((cell, i) => pad(cell, widths[i]!))
        .join('   ')
        .trimEnd()}\n`,
    );
  }
  process.stdout.write('\nGoals: 1,000 nodes < 5 s, 10,000 nodes < 30 s, CLI peak RSS < 300 MB.\n');
  const handshakeNodes = Number(values.handshakes);
  if (handshakeNodes > 0) await reportHandshakes(handshakeNodes, 32);
  if (results.some((m) => !m.ok)) process.exitCode = 1;
}

interface Round {
  wallMs: number;
  /** CPU of this (the client's) process: user + system. */
  cpuMs: number;
  count: number;
}

/** Connects to every port, `parallel` at a time, and measures the client's time and CPU. */
async function round(
  ports: readonly number[],
  parallel: number,
  connect: (port: number) => Promise<void>,
): Promise<Round> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < ports.length) await connect(ports[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, ports.length) }, worker));
  const used = process.cpuUsage(cpu);
  return {
    wallMs: performance.now() - started,
    cpuMs: (used.user + used.system) / 1000,
    count: ports.length,
  };
}

/**
 * The cost of TLS per node, on the client: full handshakes to N nodes (nothing cached), the same
 * N resumed (the CLI's session cache, which a command's second request to a node uses), and bare
 * TCP connects for reference. The server side (the simulator) runs in its own process.
 */
async function reportHandshakes(nodes: number, parallel: number): Promise<void> {
  const sim = await startSimulation(nodes, 'fanout', [], 'tls');
  try {
    const ports = [...readFileSync(sim.inventory, 'utf8').matchAll(/location: 127\.0\.0\.1:(\d+)/g)].map(
      (m) => Number(m[1]),
    );
    const trust = { kind: 'fingerprint' as const, fingerprint: sim.env['DOKKUP_SIM_FINGERPRINT']! };
    const sessions = new TlsSessionCache();
    const handshake = (port: number) =>
      new Promise<void>((resolve, reject) => {
        connectTrusted({ host: '127.0.0.1', port, trust, sessions }, (error, socket) => {
          if (error || !socket) {
            reject(error ?? new Error('no socket'));
            return;
          }
          // TLS 1.3 hands the session ticket over just after the handshake: wait for it, as
          // an HTTP exchange on the connection would, before closing.
          const done = () => {
            clearTimeout(timer);
            socket.destroy();
            resolve();
          };
          const timer = setTimeout(done, 1000);
          if (sessions.get(`127.0.0.1:${port}|${trust.fingerprint}`)) done();
          else socket.once('session', () => setImmediate(done));
        });
      });
    const tcp = (port: number) =>
      new Promise<void>((resolve, reject) => {
        const socket = connectTcp({ host: '127.0.0.1', port }, () => {
          socket.destroy();
          resolve();
        });
        socket.once('error', reject);
      });
    const full = await round(ports, parallel, handshake);
    const fullCount = sessions.stats.full;
    const resumed = await round(ports, parallel, handshake);
    const resumedCount = sessions.stats.resumed;
    const bare = await round(ports, parallel, tcp);
    const per = (r: Round) =>
      `${(r.cpuMs / r.count).toFixed(2)} ms CPU, ${(r.wallMs / 1000).toFixed(2)} s wall for all`;
    process.stdout.write(
      `\nTLS handshakes to ${nodes.toLocaleString('en-US')} simulated nodes, ${parallel} at a time (client side, per node):\n` +
        `  full handshake (ECDSA P-256, TLS 1.3):  ${per(full)}   [${fullCount} full]\n` +
        `  resumed session (the CLI's cache):      ${per(resumed)}   [${resumedCount} resumed]\n` +
        `  plain TCP connect, for reference:       ${per(bare)}\n` +
        `  a command that asks each node twice (plan, then deploy) pays one full handshake and one resumed per node:\n` +
        `  resumption saves ${((full.cpuMs - resumed.cpuMs) / full.count).toFixed(2)} ms of client CPU per node (${(((full.cpuMs - resumed.cpuMs) / 1000) * (10_000 / nodes)).toFixed(1)} s per 10,000 nodes).\n`,
    );
  } finally {
    await stopSimulation(sim);
  }
}

function countLabel(m: Measurement): string {
  return m.ok ? `${m.nodes} nodes ONLINE` : 'FAILED';
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:fanout: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
