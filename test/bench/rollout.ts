/**
 * `npm run bench:rollout`: what waves and a canary cost on a large fleet.
 *
 * Against 1,000 SIMULATED nodes (test/sim: the real agent HTTP code and job engine over an
 * in-memory container runtime, one loopback listener per node, in a separate process), runs the
 * BUILT CLI binary (`-y`, its default --parallel) and times:
 *   - an update in one wave (`max_parallel: 100%`), the baseline;
 *   - an update in ten waves (`max_parallel: 10%`);
 *   - a canary of one node (`canary: 1`), then `promote job` of the other 999 in ten waves;
 *   - `run job -y` with nothing to change (the lease taken and given back on every node, plus
 *     the plans).
 * The overhead per wave is (ten waves − one wave) / 9: what a wave boundary costs the CLI and
 * the agents (the simulated engine does nothing, so it is all dokkup's own). Exit codes and the
 * CLI's tally are checked, so a run that "finished fast" by failing is reported as a failure.
 *
 * Usage: node dist/test/bench/rollout.js [--nodes 1000] [--rounds 3]
 */
import { spawn } from 'node:child_process';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cliNodeFlags } from '../harness/agent-process.js';
import { type Simulation, startSimulation, stopSimulation } from './simulation.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const distRoot = path.resolve(here, '..', '..');
const CLI = path.join(distRoot, 'src', 'cli', 'bin.js');

/** SIMULATION: a job of two containers per node; `tag` makes a new version. */
function jobYaml(tag: number, update: string[]): string {
  return `# SIMULATION: deployed onto simulated nodes (test/sim); no container really runs.
name: web
group: all
count: 2
container:
  - image: sim/web:${tag}
update:
  min_healthy_time: 0
${update.map((line) => `  ${line}\n`).join('')}`;
}

interface Run {
  seconds: number;
  exitCode: number;
  tally: string;
  ok: boolean;
}

async function cli(sim: Simulation, args: string[], job: string, expected: RegExp): Promise<Run> {
  const file = path.join(sim.dir, 'job.yaml');
  writeFileSync(file, job);
  const out = path.join(sim.dir, 'out.txt');
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [...cliNodeFlags(), CLI, ...args, '-y', '--no-color', '-i', sim.inventory, file],
    {
      stdio: ['ignore', openSync(out, 'w'), 'pipe'],
      env: { ...process.env, ...sim.env, NO_COLOR: '1' },
    },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exitCode: number = await new Promise((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
  const seconds = (performance.now() - started) / 1000;
  const output = readFileSync(out, 'utf8');
  const tally = /^\d+ nodes?: .*$/m.exec(output)?.[0] ?? output.trimEnd().split('\n').at(-1) ?? '';
  const ok = exitCode === 0 && expected.test(tally);
  if (!ok) process.stderr.write(`\n[${args.join(' ')}] exit ${exitCode}: ${tally}\n${stderr.slice(-2000)}\n`);
  return { seconds, exitCode, tally, ok };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { nodes: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '3' } },
  });
  const nodes = Number(values.nodes);
  const rounds = Number(values.rounds);
  const all = new RegExp(`^${nodes} nodes: ${nodes} succeeded$`);
  process.stdout.write(
    `dokkup rollout benchmark: the built CLI against ${nodes} SIMULATED nodes (test/sim), median of ${rounds} rounds\n\n`,
  );
  const started = performance.now();
  const sim = await startSimulation(nodes, 'rollout');
  process.stdout.write(`simulator ready in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  const times: Record<string, number[]> = { one: [], ten: [], canary: [], promote: [], noop: [] };
  const failures: string[] = [];
  const check = (label: string, run: Run) => {
    if (!run.ok) failures.push(`${label}: exit ${run.exitCode}, ${run.tally}`);
    return run.seconds;
  };
  let tag = 1;
  try {
    check('fresh deploy', await cli(sim, ['run', 'job'], jobYaml(tag++, ['max_parallel: 100%']), all));
    for (let round = 0; round < rounds; round++) {
      times.one!.push(
        check('one wave', await cli(sim, ['run', 'job'], jobYaml(tag++, ['max_parallel: 100%']), all)),
      );
      times.ten!.push(
        check('ten waves', await cli(sim, ['run', 'job'], jobYaml(tag++, ['max_parallel: 10%']), all)),
      );
      const canaryJob = jobYaml(tag++, ['max_parallel: 10%', 'canary: 1']);
      const held = new RegExp(`^${nodes} nodes: 1 succeeded, ${nodes - 1} untouched$`);
      times.canary!.push(check('canary', await cli(sim, ['run', 'job'], canaryJob, held)));
      times.promote!.push(check('promote', await cli(sim, ['promote', 'job'], canaryJob, all)));
      const none = new RegExp(`^${nodes} nodes: ${nodes} unchanged$`);
      times.noop!.push(check('no change', await cli(sim, ['run', 'job'], canaryJob, none)));
    }
  } finally {
    await stopSimulation(sim);
  }
  const one = median(times.one!);
  const ten = median(times.ten!);
  const rows: [string, string][] = [
    ['update, 1 wave (max_parallel 100%)', `${one.toFixed(2)} s`],
    ['update, 10 waves (max_parallel 10%)', `${ten.toFixed(2)} s`],
    ['overhead per wave ((10 waves − 1 wave) / 9)', `${(((ten - one) / 9) * 1000).toFixed(0)} ms`],
    ['canary of 1 node (canary: 1)', `${median(times.canary!).toFixed(2)} s`],
    [`promote the other ${nodes - 1} in 10 waves`, `${median(times.promote!).toFixed(2)} s`],
    ['run job, nothing to change (leases + plans)', `${median(times.noop!).toFixed(2)} s`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  process.stdout.write('\n');
  for (const [label, value] of rows) process.stdout.write(`${label.padEnd(width)}   ${value}\n`);
  if (failures.length > 0) {
    process.stdout.write(`\nFAILED runs (figures above are not valid):\n  ${failures.join('\n  ')}\n`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:rollout: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
