/**
 * The CLI in-process (`runCli` with memory streams) against the simulator: flag parsing,
 * exit codes, error output, `--json` validated against its schema. The README flows against
 * real Docker engines, through the built binary, are in test/e2e/cli.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../test/sim/simulator.js';
import {
  CliJsonSchema,
  HistoryJsonSchema,
  OperationJsonSchema,
  PlanJsonSchema,
  ShowJobJsonSchema,
  ShowNodesJsonSchema,
} from '../protocol/cli-json.js';
import type { Command } from './command.js';
import { commandLoaders, loadCommands } from './commands/index.js';
import type { CliIO } from './io.js';
import { conflictingFlagTypes, runCli } from './main.js';

let sim: Simulator;
let dir: string;

const JOB = (image: string, count = 2, extra = '') => `name: web
group: all
count: ${count}
container:
  - image: ${image}
    ports:
      - in: 8000
    environment:
      MODE: test${extra}
update:
  min_healthy_time: 0
`;

beforeAll(async () => {
  // n1, n2 healthy; n3 offline; n4 answers with another key.
  sim = await startSimulator({ nodes: 4, offline: [2], wrongKey: [3] });
  dir = mkdtempSync(path.join(tmpdir(), 'dokkup-cli-'));
  writeFileSync(path.join(dir, 'inventory.yaml'), sim.inventoryYaml());
  const healthy = sim.nodes.slice(0, 2).map((n) => n.name);
  writeFileSync(
    path.join(dir, 'healthy.yaml'),
    `${sim.inventoryYaml().replace(/groups:[\s\S]*$/, '')}groups:\n  - name: all\n    nodes: [${healthy.join(', ')}]\n`,
  );
  writeFileSync(path.join(dir, 'web1.yaml'), JOB('sim/web:1'));
  writeFileSync(path.join(dir, 'web2.yaml'), JOB('sim/web:2', 3, '\n      TOKEN: s3cr3t-value'));
  writeFileSync(path.join(dir, 'bad.yaml'), 'name: web\ngroup: all\ncount: -1\ncontainer:\n  - image: x\n');
});

afterAll(async () => {
  await sim.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(
  argv: string[],
  options: { tty?: boolean; input?: string; env?: Record<string, string> } = {},
): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  const stdin = new PassThrough() as PassThrough & { isTTY?: boolean };
  stdin.isTTY = options.tty ?? false;
  if (options.input !== undefined) stdin.write(options.input);
  const io: CliIO = {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    stdin,
    env: { ...sim.env(), ...options.env },
    cwd: dir,
  };
  const code = await runCli(argv, { io, handleSignals: false });
  return { code, stdout, stderr };
}

describe('commands, flags and help', () => {
  it('version', async () => {
    const ran = await cli(['version']);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/^Dokkup v\d+\.\d+\.\d+[^,]*, build ([0-9a-f]{7}|dev)\n$/);
    expect((await cli(['--version'])).stdout).toBe(ran.stdout);
  });

  it('each command is loaded by the words it answers to (only that one is loaded for them)', async () => {
    const loaded = await loadCommands();
    expect(loaded.map((c) => c.path)).toEqual(commandLoaders.map((l) => [...l.path]));
    expect(new Set(commandLoaders.map((l) => l.path.join(' '))).size).toBe(commandLoaders.length);
  });

  it('--help everywhere, exit 0', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    for (const command of [
      'run job',
      'plan job',
      'rollback job',
      'stop job',
      'show job',
      'show nodes',
      'history job',
    ]) {
      expect(top.stdout).toContain(command);
      const help = await cli([...command.split(' '), '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: dokkup ${command}`);
      expect(help.stdout).toContain('--no-color');
    }
    const family = await cli(['show', '--help']);
    expect(family.code).toBe(0);
    expect(family.stdout).toContain('show job');
    expect(family.stdout).toContain('show nodes');
    expect((await cli(['run', 'job', '-h'])).stdout).toContain('-y, --yes');
  });

  it('usage errors exit 2 with a pointer to --help and no stack', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /unknown command "frobnicate"/],
      [['run', 'job'], /missing FILE/],
      [['run', 'job', 'a.yaml', 'b.yaml'], /unexpected argument "b.yaml"/],
      [['run', 'job', '--bogus', 'web1.yaml'], /unknown option --bogus/],
      [['show', 'job', '--parallel', '0', 'web1.yaml'], /--parallel must be a whole number/],
      [['show', 'job', '--parallel', 'many', 'web1.yaml'], /--parallel must be a whole number/],
      [['rollback', 'job', '--to', 'HEAD~1', 'web1.yaml'], /--to must be a 7-character version/],
      [['run'], /run job/],
    ];
    for (const [argv, message] of cases) {
      const ran = await cli(argv);
      expect(ran.code, argv.join(' ')).toBe(2);
      expect(ran.stderr, argv.join(' ')).toMatch(message);
      expect(ran.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('finds the command whatever the flags around its words take (-i FILE is not a word)', async () => {
    // A flag name means one type in every command, so the words can be found before the command is.
    expect(conflictingFlagTypes(await loadCommands())).toEqual([]);
    const before = await cli(['-i', 'healthy.yaml', 'history', 'job', '--json', 'web1.yaml']);
    expect(before.code).toBe(0);
    expect(HistoryJsonSchema.parse(JSON.parse(before.stdout)).nodes.map((n) => n.status)).toEqual([
      'online',
      'online',
    ]);
    const between = await cli(['history', '--inventory=healthy.yaml', 'job', 'web1.yaml']);
    expect(between.code).toBe(0);
    expect(between.stdout).toMatch(/^NODE\s+STATUS\s+VERSION/);
  });

  it('bad files exit 2 with file:line:col messages', async () => {
    const bad = await cli(['run', 'job', 'bad.yaml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad\.yaml:3:\d+ count/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    const missing = await cli(['show', 'job', '-i', 'nope.yaml', 'web1.yaml']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.yaml: no such file');
    const missingJob = await cli(['show', 'job', 'nope-job.yaml']);
    expect(missingJob.code).toBe(2);
    expect(missingJob.stderr).toContain('nope-job.yaml: no such file');
  });
});

describe('unexpected errors', () => {
  const boom: Command = {
    path: ['boom'],
    summary: 'throws',
    usage: '',
    flags: {},
    examples: [],
    args: { min: 0, max: 0 },
    run: async () => {
      throw new TypeError('kaboom\nsecond line');
    },
  };

  async function run(env: Record<string, string>) {
    let stderr = '';
    const io: CliIO = {
      stdout: { write: () => true },
      stderr: { write: (s: string) => (stderr += s) },
      stdin: new PassThrough(),
      env,
      cwd: dir,
    };
    const code = await runCli(['boom'], { io, handleSignals: false, commands: [boom] });
    return { code, stderr };
  }

  it('print one line `dokkup: <message>` and exit 1; the stack only with DEBUG=dokkup', async () => {
    expect(await run({})).toEqual({ code: 1, stderr: 'dokkup: kaboom\n' });
    const debug = await run({ DEBUG: 'express,dokkup' });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/^dokkup: kaboom\nTypeError: kaboom\nsecond line\n\s+at /);
  });
});

describe('the job lifecycle against simulated nodes', () => {
  it('refuses at once without a terminal and without -y (exit 1, nothing changed)', async () => {
    const ran = await cli(['run', 'job', '-i', 'healthy.yaml', 'web1.yaml'], { input: 'y\n' });
    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain('stdin is not a terminal');
    expect(sim.nodes[0]!.runtime!.counts().total).toBe(0);
  });

  it('declines on n at the prompt (exit 1, nothing changed)', async () => {
    const ran = await cli(['run', 'job', '-i', 'healthy.yaml', 'web1.yaml'], { tty: true, input: 'n\n' });
    expect(ran.code).toBe(1);
    expect(ran.stdout).toContain('Are you sure you want to proceed? (y/n) ');
    expect(ran.stdout).toContain('Aborted: nothing was changed.');
    expect(sim.nodes[0]!.runtime!.counts().total).toBe(0);
  });

  it('plan before the first deploy: changes → exit 1', async () => {
    const ran = await cli(['plan', 'job', '-i', 'healthy.yaml', 'web1.yaml']);
    expect(ran.code).toBe(1);
    expect(ran.stdout).toMatch(/n1, n2: fresh deploy of [0-9a-f]{7}: create 2 containers/);
  });

  it('run -y deploys (flags after the file too), exit 0; run again: nothing to do, exit 0', async () => {
    const ran = await cli(['run', 'job', 'web1.yaml', '-i', 'healthy.yaml', '-y']);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/n1\*\s+ONLINE\s+0 -> 2\s+true\s+[0-9a-f]{7}/);
    expect(ran.stdout).toContain('n1: Deployment successful');
    expect(ran.stdout).toMatch(
      /Summary:\n\nNAME\s+RESULT\s+CUTOVER\s+TOTAL\s+MESSAGE\nn1\s+OK\s+\d+(\.\d)?m?s\s+\d+(\.\d)?m?s\s+Deployment successful/,
    );
    // Progress first, then the summary, which ends the output.
    expect(ran.stdout.indexOf('n2: Deployment successful')).toBeLessThan(ran.stdout.indexOf('Summary:'));
    expect(ran.stdout.endsWith('2 nodes: 2 succeeded\n')).toBe(true);
    expect(sim.nodes[0]!.runtime!.counts()).toEqual({ running: 2, total: 2 });

    const again = await cli(['run', 'job', '-i', 'healthy.yaml', 'web1.yaml']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Nothing to do');
    expect(again.stdout).not.toContain('Are you sure');
    expect((await cli(['plan', 'job', '-i', 'healthy.yaml', 'web1.yaml'])).code).toBe(0);
  });

  it('plan of an update names changed env keys, never their values', async () => {
    const ran = await cli(['plan', 'job', '-i', 'healthy.yaml', 'web2.yaml']);
    expect(ran.code).toBe(1);
    expect(ran.stdout).toContain('+ environment: TOKEN');
    expect(ran.stdout).toContain('~ image: sim/web:1 -> sim/web:2');
    expect(ran.stdout).not.toContain('s3cr3t-value');
    const json = PlanJsonSchema.parse(
      JSON.parse((await cli(['plan', 'job', '--json', '-i', 'healthy.yaml', 'web2.yaml'])).stdout),
    );
    expect(json.changes).toBe(true);
    expect(json.exitCode).toBe(1);
    expect(JSON.stringify(json)).not.toContain('s3cr3t-value');
  });

  it('with unreachable nodes: they are shown and skipped, the rest deploy, exit 3', async () => {
    const ran = await cli(['run', 'job', '-y', 'web2.yaml']);
    expect(ran.code).toBe(3);
    expect(ran.stdout).toMatch(/n3\s+OFFLINE\s+-/);
    expect(ran.stdout).toMatch(/n4\s+UNAUTHORIZED\s+-/);
    expect(ran.stderr).toMatch(/Warning: n3 is OFFLINE \(connection refused .*\); it will be skipped/);
    expect(ran.stdout).toMatch(/n1\s+OK\s+\S+\s+\S+\s+Update successful/);
    // Nodes that were not carried out have no times.
    expect(ran.stdout).toMatch(/n3\s+OFFLINE\s+-\s+-\s+/);
    expect(ran.stdout).toContain('4 nodes: 2 succeeded, 1 offline, 1 unauthorized');
    expect(sim.nodes[1]!.runtime!.counts()).toEqual({ running: 3, total: 3 });
  });

  it('--json for run, show job, show nodes, history, rollback, stop: valid documents, exit codes inside', async () => {
    const show = ShowJobJsonSchema.parse(
      JSON.parse((await cli(['show', 'job', '--json', 'web2.yaml'])).stdout),
    );
    expect(show.exitCode).toBe(3);
    expect(show.nodes.map((n) => n.status)).toEqual(['online', 'online', 'offline', 'unauthorized']);
    expect(show.nodes[0]!.job?.running).toBe(3);

    const nodes = ShowNodesJsonSchema.parse(JSON.parse((await cli(['show', 'nodes', '--json'])).stdout));
    expect(nodes.nodes[0]!.info?.agentVersion).toBe('0.0.0-sim');

    const history = HistoryJsonSchema.parse(
      JSON.parse((await cli(['history', 'job', '--json', '-i', 'healthy.yaml', 'web2.yaml'])).stdout),
    );
    expect(history.exitCode).toBe(0);
    expect(history.nodes[0]!.history?.entries.length).toBe(2);

    const rolled = await cli(['rollback', 'job', '--json', '-y', '-i', 'healthy.yaml', 'web1.yaml']);
    expect(rolled.code).toBe(0);
    const rollback = OperationJsonSchema.parse(JSON.parse(rolled.stdout));
    expect(rollback.confirmed).toBe(true);
    expect(rollback.nodes.map((n) => n.outcome)).toEqual(['succeeded', 'succeeded']);
    expect(rollback.nodes[0]!.result?.message).toBe('Rollback successful');

    const unknown = await cli([
      'rollback',
      'job',
      '-y',
      '--to',
      'abcdef0',
      '-i',
      'healthy.yaml',
      'web1.yaml',
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toMatch(/n1\s+FAILED\s+version abcdef0 is not in this node.s history/);
    const nothing = await cli(['rollback', 'job', '-y', '-i', 'healthy.yaml', 'web1.yaml']);
    expect(nothing.code).toBe(0);

    const stopped = await cli(['stop', 'job', '--json', '-y', '--purge', '-i', 'healthy.yaml', 'web1.yaml']);
    const stop = CliJsonSchema.parse(JSON.parse(stopped.stdout));
    expect(stop.command).toBe('stop job');
    expect(stopped.code).toBe(0);
    expect(sim.nodes[0]!.runtime!.counts().total).toBe(0);
  });

  it('--json without -y and without a terminal: a document saying declined, exit 1', async () => {
    const ran = await cli(['run', 'job', '--json', '-i', 'healthy.yaml', 'web1.yaml']);
    expect(ran.code).toBe(1);
    const doc = OperationJsonSchema.parse(JSON.parse(ran.stdout));
    expect(doc.confirmed).toBe(false);
    expect(doc.nodes.map((n) => n.outcome)).toEqual(['declined', 'declined']);
  });
});

describe('colour', () => {
  it('never on a pipe; NO_COLOR and --no-color turn it off on a terminal', async () => {
    const plain = await cli(['show', 'nodes', '-i', 'healthy.yaml']);
    expect(plain.stdout).not.toContain('\x1b[');
    // A terminal stdout: run with a fake TTY.
    let out = '';
    const io = (env: Record<string, string>): CliIO => ({
      stdout: { write: (s: string) => (out += s), isTTY: true },
      stderr: { write: () => {}, isTTY: false },
      stdin: new PassThrough(),
      env: { ...sim.env(), ...env },
      cwd: dir,
    });
    await runCli(['show', 'nodes', '-i', 'healthy.yaml'], { io: io({}), handleSignals: false });
    expect(out).toContain('\x1b[32mONLINE');
    out = '';
    await runCli(['show', 'nodes', '-i', 'healthy.yaml'], {
      io: io({ NO_COLOR: '1' }),
      handleSignals: false,
    });
    expect(out).not.toContain('\x1b[');
    out = '';
    await runCli(['show', 'nodes', '--no-color', '-i', 'healthy.yaml'], { io: io({}), handleSignals: false });
    expect(out).not.toContain('\x1b[');
  });
});
