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
 * Goals on the 2-core dev machine: 1,000 nodes under 5 s, 10,000 under 30 s (also at 100 ms RTT),
 * CLI memory under 300 MB.
 * Usage: node dist/test/bench/fanout.js [--nodes 100,1000,10000] [--parallel default|32,256,…]
 *   [--rtt 100ms] [--jitter 10ms] [--fresh-only]
 * `--parallel default` runs the CLI without the flag (its default); a list runs each value.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type Simulation, startSimulation, stopSimulation } from './simulation.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const distRoot = path.resolve(here, '..', '..');
const CLI = path.join(distRoot, 'src', 'cli', 'bin.js');
const WRAPPER = path.join(here, 'measure-wrapper.js');
const TIME = '/usr/bin/time';

interface Measurement {
  nodes: number;
  parallel: string;
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
  const commandArgs = useTime ? ['-v', process.execPath, CLI, ...cliArgs] : [WRAPPER, CLI, ...cliArgs];
  const stdoutFile = path.join(sim.dir, `${label.replace(/\W+/g, '-')}.out`);
  const started = performance.now();
  const child = spawn(command, commandArgs, {
    stdio: ['ignore', openSync(stdoutFile, 'w'), 'pipe'],
    env: { ...process.env, DOKKUP_SIM_KEY: sim.key, NO_COLOR: '1' },
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
  return { nodes, parallel, command: label, wallSeconds, peakRssMb: rssKb / 1024, exitCode, tally, ok };
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
    },
  });
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
    for (const parallel of parallels) {
      const simStarted = performance.now();
      const sim = await startSimulation(nodes, 'fanout', latency);
      process.stdout.write(
        `${nodes} simulated nodes ready in ${((performance.now() - simStarted) / 1000).toFixed(1)} s\n`,
      );
      try {
        const run = async (label: string, args: string[]) => {
          const m = await measure(sim, nodes, label, args, parallel);
          results.push(m);
          process.stdout.write(
            `  --parallel ${parallel}: ${label}: ${m.wallSeconds.toFixed(2)} s, ${m.peakRssMb.toFixed(0)} MB${m.ok ? '' : ' FAILED'}\n`,
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
  const header = ['NODES', 'PARALLEL', 'COMMAND', 'WALL', 'PEAK RSS', 'EXIT', 'WITHIN GOAL', 'CLI TALLY'];
  const rows = results.map((m) => [
    m.nodes.toLocaleString('en-US'),
    m.parallel,
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
  if (results.some((m) => !m.ok)) process.exitCode = 1;
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
