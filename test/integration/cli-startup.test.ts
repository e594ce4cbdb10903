/**
 * CLI start-up stays light: `dokkup version` and `dokkup run job` (nothing to change) never load
 * the TUI, blessed, blessed-contrib, dockerode or the agent — they are imported lazily by the
 * commands that need them (`tui`, `agent`) — and only the command named is loaded at all
 * (src/cli/commands/index.ts). The BUILT binary runs with a module tracer
 * (test/harness/module-trace.ts) that records every module the process resolves, so an eager
 * import added anywhere on these paths fails here. No Docker needed: the node is a simulated
 * agent (test/sim).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentBinary, repoRoot } from '../harness/agent-process.js';
import { run } from '../harness/proc.js';
import { type Simulator, startSimulator } from '../sim/simulator.js';

const TRACER = path.join(repoRoot(), 'dist', 'test', 'harness', 'module-trace.js');
const HEAVY = /[/\\](node_modules[/\\](blessed|blessed-contrib|dockerode)[/\\]|dist[/\\](tui|agent)[/\\])/;

describe('CLI start-up loads only what the command needs', () => {
  let dir: string;
  let sim: Simulator;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'dokkup-startup-'));
    sim = await startSimulator({ nodes: 2 });
    writeFileSync(path.join(dir, 'inventory.yaml'), sim.inventoryYaml());
    writeFileSync(
      path.join(dir, 'job.yaml'),
      'name: web\ngroup: all\ncount: 2\ncontainer:\n  - image: sim/web:1\nupdate:\n  min_healthy_time: 0s\n',
    );
  });
  afterAll(async () => {
    await sim?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the built CLI under the tracer; returns its result and every module it loaded. */
  async function traced(args: string[], name: string) {
    const trace = path.join(dir, `${name}.trace`);
    writeFileSync(trace, '');
    const ran = await run(process.execPath, ['--import', TRACER, agentBinary(), ...args], {
      cwd: dir,
      env: { ...process.env, DOKKUP_MODULE_TRACE: trace, ...sim.env(), NO_COLOR: '1' },
    });
    const modules = readFileSync(trace, 'utf8').split('\n').filter(Boolean);
    return { ran, modules };
  }

  it('the tracer sees what a process loads, CommonJS packages required from CommonJS included', async () => {
    const trace = path.join(dir, 'control.trace');
    writeFileSync(trace, '');
    await run(process.execPath, ['--import', TRACER, '-e', "require('blessed'); require('dockerode')"], {
      cwd: repoRoot(),
      env: { ...process.env, DOKKUP_MODULE_TRACE: trace },
    });
    const modules = readFileSync(trace, 'utf8').split('\n').filter(Boolean);
    expect(modules.some((m) => /node_modules[/\\]blessed[/\\]lib[/\\]widget\.js$/.test(m))).toBe(true);
    expect(modules.some((m) => /node_modules[/\\]docker-modem[/\\]/.test(m))).toBe(true);
    expect(modules.filter((m) => HEAVY.test(m)).length).toBeGreaterThan(0);
  });

  it('dokkup version', async () => {
    const { ran, modules } = await traced(['version'], 'version');
    expect(ran.stdout).toMatch(/^Dokkup v\d+\.\d+\.\d+/);
    expect(modules.some((m) => m.endsWith(path.join('dist', 'src', 'cli', 'bin.js')))).toBe(true);
    expect(modules.filter((m) => HEAVY.test(m))).toEqual([]);
    // Only the command asked for is loaded: no other command, no job file parsing, no client.
    const others =
      /[/\\](dist[/\\]src[/\\](client|config)[/\\]|dist[/\\]src[/\\]cli[/\\]commands[/\\](?!version|index)|node_modules[/\\](zod|yaml|ws)[/\\])/;
    expect(modules.filter((m) => others.test(m))).toEqual([]);
  });

  it('dokkup run job with nothing to change', async () => {
    const first = await run(
      process.execPath,
      [agentBinary(), 'run', 'job', '-y', '-i', 'inventory.yaml', 'job.yaml'],
      {
        cwd: dir,
        env: { ...process.env, ...sim.env(), NO_COLOR: '1' },
      },
    );
    expect(first.stdout).toMatch(/2 nodes: 2 succeeded/);
    const { ran, modules } = await traced(['run', 'job', '-y', '-i', 'inventory.yaml', 'job.yaml'], 'run');
    expect(ran.stdout).toMatch(/2 nodes: 2 unchanged/);
    expect(modules.some((m) => m.endsWith(path.join('dist', 'src', 'client', 'cluster.js')))).toBe(true);
    expect(modules.filter((m) => HEAVY.test(m))).toEqual([]);
    // Nor the live feeds (logs, events, top) or another command.
    const feeds =
      /[/\\](node_modules[/\\]ws[/\\]|dist[/\\]src[/\\]cli[/\\]commands[/\\](logs|events|top|tui|agent)\.js$)/;
    expect(modules.filter((m) => feeds.test(m))).toEqual([]);
  });
});
