/**
 * The single-file `dokkup` (`npm run package`), run the way a user who downloaded it runs it:
 * copied alone into an empty directory outside the repository, with no node_modules, no
 * checkout and no Node.js on PATH. It must be the whole of dokkup:
 * - the CLI: `version`, `schema`, `plan job` and `run job` against a simulated node (the real
 *   agent code in another process of this test, test/sim), `--help`;
 * - the TUI: started in tmux against the simulated node, it shows the node, and quits on `q`;
 * - the agent: `agent --help`, and with Docker a real agent from the single file on a harness
 *   engine that the single file's CLI deploys a job through.
 * Building it takes about 15 s (esbuild, the SEA blob, postject); it is built once here.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCommit, packageVersion } from '../../src/build-info.js';
import { type AgentProcess, repoRoot, startAgentProcess } from '../harness/agent-process.js';
import { describeDocker, engine, images, resetEngine, runningContainers } from '../harness/context.js';
import { run, sleep, waitFor } from '../harness/proc.js';
import { type Simulator, startSimulator } from '../sim/simulator.js';

let dir: string;
let dokkup: string;
let sim: Simulator;
let env: NodeJS.ProcessEnv;

const JOB = (image: string) => `name: hello
group: all
count: 2
container:
  - image: ${image}
update:
  min_healthy_time: 0
`;

beforeAll(async () => {
  const root = repoRoot();
  const built = await run(process.execPath, [path.join(root, 'scripts/package.mjs')], {
    cwd: root,
    timeoutMs: 300_000,
  });
  console.log(`[single-file] ${built.stdout.trim().split('\n').pop()}`);
  dir = mkdtempSync(path.join(tmpdir(), 'dokkup-single-file-'));
  dokkup = path.join(dir, 'dokkup');
  copyFileSync(path.join(root, 'build', 'dokkup'), dokkup);
  // No Node on PATH, HOME in the empty directory: nothing of this machine's Node setup helps.
  // PATH holds a shell and a few tools, and no node.
  const bin = path.join(dir, '.bin');
  mkdirSync(bin);
  for (const tool of ['sh', 'env', 'sleep']) {
    symlinkSync(
      spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim(),
      path.join(bin, tool),
    );
  }
  env = { PATH: bin, HOME: dir, LANG: 'C.UTF-8' };
  sim = await startSimulator({ nodes: 1, key: 'single-file-test-key-0123456789abcdef' });
  writeFileSync(path.join(dir, 'inventory.yaml'), sim.inventoryYaml());
  writeFileSync(path.join(dir, 'hello.yaml'), JOB('sim/hello:1'));
}, 320_000);

afterAll(async () => {
  await sim?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const single = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
  run(dokkup, args, {
    cwd: dir,
    env: { ...env, ...sim.env(), ...extraEnv },
    allowFail: true,
    timeoutMs: 60_000,
  });

describe('the single-file dokkup', () => {
  it('is one executable that needs no Node.js on PATH', async () => {
    expect(statSync(dokkup).size).toBeGreaterThan(50 * 1024 * 1024);
    expect(spawnSync('sh', ['-c', 'command -v node'], { env }).status).not.toBe(0);
    const ran = await single(['version']);
    expect(ran.stderr).toBe('');
    expect(ran.stdout).toBe(`Dokkup v${packageVersion()}, build ${buildCommit()}\n`);
    expect(ran.code).toBe(0);
  });

  it('prints help with examples, the agent help, and the JSON Schemas', async () => {
    const help = await single(['plan', 'job', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:\n  # ');
    const agentHelp = await single(['agent', '--help']);
    expect(agentHelp.code).toBe(0);
    expect(agentHelp.stdout).toMatch(/^Usage: dokkup agent \[options\]\n/);
    expect(agentHelp.stdout).toContain('--rotate-key');
    const schema = await single(['schema', 'job']);
    expect(JSON.parse(schema.stdout)).toEqual(
      JSON.parse(readFileSync(path.join(repoRoot(), 'schemas/job.schema.json'), 'utf8')),
    );
  });

  it('plans and deploys a job on a simulated node', async () => {
    const plan = await single(['plan', 'job', '--no-color', 'hello.yaml']);
    expect(plan.stderr).toBe('');
    expect(plan.code).toBe(1); // changes to make
    expect(plan.stdout).toMatch(/n1\*\s+ONLINE\s+0 -> 2/);
    const deployed = await single(['run', 'job', '-y', '--json', 'hello.yaml']);
    expect(deployed.code).toBe(0);
    expect(JSON.parse(deployed.stdout)).toMatchObject({ command: 'run job', exitCode: 0 });
    expect(sim.nodes[0]!.runtime!.counts()).toEqual({ running: 2, total: 2 });
    const again = await single(['plan', 'job', 'hello.yaml']);
    expect(again.code).toBe(0); // nothing to change
  });

  it('refuses bad input with a located message and exit code 2', async () => {
    writeFileSync(
      path.join(dir, 'bad.yaml'),
      'name: hello\ngroup: all\ncount: two\ncontainer:\n  - image: x\n',
    );
    const ran = await single(['plan', 'job', 'bad.yaml']);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toContain('bad.yaml:3:8 count:');
  });

  it('runs the TUI in a terminal (tmux) and quits on q', async () => {
    const session = `dokkup-single-file-${process.pid}`;
    const exports = Object.entries({ ...env, ...sim.env(), TERM: 'xterm-256color' })
      .map(([k, v]) => `${k}='${v}'`)
      .join(' ');
    const command = `cd '${dir}' && env -i ${exports} '${dokkup}' tui 2>'${dir}/tui-stderr.txt'; echo "TUI EXITED $?"; sleep 3600`;
    const tmux = (args: string[]) => spawnSync('tmux', args, { encoding: 'utf8' });
    expect(tmux(['new-session', '-d', '-s', session, '-x', '120', '-y', '32', command]).status).toBe(0);
    try {
      const screen = () => tmux(['capture-pane', '-p', '-t', session]).stdout;
      await waitFor(
        'the TUI to show node n1 ONLINE and job hello',
        () => {
          const s = screen();
          return /n1\b.*ONLINE|ONLINE.*\bn1\b/.test(s) && s.includes('hello') ? s : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      ).catch((error: Error) => {
        throw new Error(
          `${error.message}\n--- screen ---\n${screen()}\n--- stderr ---\n${readFileSync(path.join(dir, 'tui-stderr.txt'), 'utf8')}`,
        );
      });
      tmux(['send-keys', '-t', session, 'q']);
      await waitFor('the TUI to exit', () => (screen().includes('TUI EXITED 0') ? true : undefined), {
        timeoutMs: 10_000,
        intervalMs: 200,
      });
    } finally {
      tmux(['kill-session', '-t', session]);
      await sleep(100);
    }
  });
});

describeDocker('the single-file dokkup as the agent on a real Docker engine', () => {
  const e = engine('node2');
  let agent: AgentProcess | undefined;

  afterAll(async () => {
    await agent?.stop();
    await resetEngine(e);
  });

  it('serves a deploy from the single-file CLI and keeps the job across a restart', async () => {
    await resetEngine(e);
    agent = await startAgentProcess({
      dockerHost: e.dockerHost,
      executable: dokkup,
      env: { ...env, LOG_LEVEL: 'warn' },
    });
    // The fingerprint the single file's agent printed on first start, pinned as the README says.
    const inventory = `nodes:\n  - name: real\n    location: 127.0.0.1:${agent.port}\n    key: \${REAL_KEY}\n    fingerprint: ${agent.fingerprint}\ngroups:\n  - name: all\n    nodes: [real]\n`;
    writeFileSync(path.join(dir, 'real.yaml'), inventory);
    writeFileSync(path.join(dir, 'web.yaml'), JOB(images().webV1).replace('name: hello', 'name: web'));
    const deployed = await single(['run', 'job', '-y', '-i', 'real.yaml', 'web.yaml'], {
      REAL_KEY: agent.key,
    });
    expect(deployed.stderr).toBe('');
    expect(deployed.code).toBe(0);
    expect(await runningContainers(e, { 'dokkup.job.name': 'web' })).toHaveLength(2);
    await agent.restart();
    const shown = await single(['show', 'job', '--json', '-i', 'real.yaml', 'web.yaml'], {
      REAL_KEY: agent.key,
    });
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout).nodes[0].job).toMatchObject({ name: 'web', running: 2, desired: 2 });
    const purged = await single(['stop', 'job', '--purge', '-y', '-i', 'real.yaml', 'web.yaml'], {
      REAL_KEY: agent.key,
    });
    expect(purged.code).toBe(0);
    expect(await runningContainers(e, { 'dokkup.job.name': 'web' })).toHaveLength(0);
  });
});
