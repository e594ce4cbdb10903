/**
 * The CLI end to end: the BUILT binary (`node dist/src/cli/bin.js`) against three real agents
 * (also the built binary) on three real Docker engines from the harness. Every flow of the
 * original README — fresh deploy, no-op, update, scale up and down, rollback, history, show,
 * stop, run after stop, purge — with the printed tables compared to the expected text; the
 * prompt (y, n, empty line, end of input, no terminal) through a real pseudo-terminal
 * (`script`); an agent that is down; a wrong key; plan's exit codes; `--json` validated against
 * its schema; Ctrl-C; every exit code.
 *
 * Expected tables are written out here by hand; only what cannot be known in advance is filled
 * in: the job versions (computed from the job text), the agents' ports, container IDs/names.
 * The README's image name is a local tag of the harness's web image on every engine, so the
 * `Deployment summary:` rows are the README's own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseJobText } from '../../src/config/index.js';
import { specVersion } from '../../src/core/version.js';
import {
  HistoryJsonSchema,
  OperationJsonSchema,
  PlanJsonSchema,
  ShowJobJsonSchema,
  ShowNodesJsonSchema,
} from '../../src/protocol/cli-json.js';
import { type AgentProcess, agentBinary, freePort, startAgentProcess } from '../harness/agent-process.js';
import { runCli } from '../harness/cli-run.js';
import {
  allContainers,
  type ContainerState,
  describeDocker,
  docker,
  engine,
  harness,
  images,
  resetEngine,
} from '../harness/context.js';

const BIN = agentBinary();
const README_IMAGE = 'crccheck/hello-world';
const JOB_LABEL = { 'dokkup.job.name': 'demo' };

/** The README's demo.yaml (three nodes here), with a short health window to keep tests quick. */
function demoJob(options: { count?: number; label?: string } = {}): string {
  return `group: "labs"
count: ${options.count ?? 2}
name: "demo"

container:
 - image: "${README_IMAGE}"
   ports:
    - in: 8000
   restart: always
   labels:
     - "my.label.test=${options.label ?? 'demo'}"
   environment:
     - MYENV=ENVEXAMPLE
   volumes:
     - myvolume:/home

update:
  min_healthy_time: 1s
`;
}

const versionOf = (text: string) => specVersion(parseJobText(text, 'demo.yaml'));

/** Runs the built CLI with stdin a pipe (not a terminal), in the test's working directory. */
const dokkup = (dir: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}) =>
  runCli(dir, args, { ...options, env: { ...process.env, ...options.env } });

/** What a failed exit-code assertion prints: the command's own output. */
function explain(ran: { stdout?: string; stderr?: string; output?: string }): string {
  return `output:\n${ran.output ?? ran.stdout ?? ''}\nstderr:\n${ran.stderr ?? ''}`;
}

const PROMPT = 'Are you sure you want to proceed? (y/n) ';
/** The waves the plan announces for three nodes with the default update.max_parallel (25%). */
const WAVES =
  'Waves (update.max_parallel 25%: 1 node at a time):\n  wave 1: lab1 · wave 2: lab2 · wave 3: lab3';

/** `\x1b[…m` colours and the terminal's `\r`, so terminal output can be compared as text. */
function plain(text: string): string {
  return text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\r/g, '');
}

/**
 * Runs the built CLI on a real pseudo-terminal (util-linux `script`): stdin and stdout are a
 * TTY. When the prompt appears, types `answer` (null: closes the input instead).
 */
function dokkupOnTerminal(
  dir: string,
  args: string[],
  answer: string | null,
): Promise<{ code: number; output: string }> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: dir,
      env: { ...process.env, TERM: 'xterm', COLUMNS: '160', LINES: '50' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    let answered = false;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      output += d;
      if (!answered && plain(output).includes(PROMPT)) {
        answered = true;
        if (answer === null) child.stdin!.end();
        else child.stdin!.write(answer);
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      child.stdin!.destroy();
      resolve({ code: code ?? -1, output: plain(output) });
    });
  });
}

/** Cells of a table line (words joined by fewer than 5 spaces), with the column each starts at. */
function cells(line: string): { at: number; text: string }[] {
  return [...line.matchAll(/\S+(?: {1,4}\S+)*/g)].map((m) => ({ at: m.index, text: m[0] }));
}

/** The host address a container's port 8000 is published on, straight from the engine. */
async function hostIp(dockerHost: string, id: string): Promise<string> {
  const out = await docker(dockerHost, ['inspect', '-f', '{{json .NetworkSettings.Ports}}', id]);
  const ports = JSON.parse(out.stdout) as Record<string, { HostIp: string }[] | null>;
  return ports['8000/tcp']?.[0]?.HostIp || '0.0.0.0';
}

/** An expected table: each column padded to its widest cell plus five spaces, last one bare. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]! + 5))).join(''))
    .join('\n');
}

describeDocker('dokkup CLI end to end (built binary, three real agents on three real Docker engines)', () => {
  const engines = [engine(0), engine(1), engine(2)];
  const agents: AgentProcess[] = [];
  let dir: string;
  const v1 = versionOf(demoJob());
  const v2 = versionOf(demoJob({ label: 'somechange' }));

  const writeJob = (text: string, file = 'demo.yaml') => writeFileSync(path.join(dir, file), text);
  const writeInventory = (
    file: string,
    nodes: { name: string; location: string; key: string; fingerprint?: string }[],
  ) => {
    const list = nodes
      .map(
        (n) =>
          ` - name: "${n.name}"\n   location: "${n.location}"\n   key: "${n.key}"\n${n.fingerprint ? `   fingerprint: "${n.fingerprint}"\n` : ''}`,
      )
      .join('\n');
    writeFileSync(
      path.join(dir, file),
      `nodes:\n${list}\ngroups:\n - name: "labs"\n   nodes: [${nodes.map((n) => `"${n.name}"`).join(', ')}]\n`,
    );
  };
  // Every agent serves TLS (the default); the inventory pins each one's certificate.
  const labs = () => agents.map((a, i) => a.inventoryNode(`lab${i + 1}`));
  const demo = (i: number, all = false): Promise<ContainerState[]> =>
    all
      ? allContainers(engines[i]!, JOB_LABEL)
      : allContainers(engines[i]!, JOB_LABEL).then((cs) => cs.filter((c) => c.state === 'running'));
  const ids = async (i: number) => (await demo(i)).map((c) => c.id).sort();
  /** The version label of each running demo container on node `i` (one entry per container). */
  const versions = async (i: number) => (await demo(i)).map((c) => c.labels['dokkup.job.version']);

  beforeAll(async () => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first`);
    dir = mkdtempSync(path.join(tmpdir(), 'dokkup-e2e-cli-'));
    const web = images().webV1;
    await Promise.all(
      engines.map(async (e) => {
        await resetEngine(e);
        await docker(e.dockerHost, ['pull', web]);
        await docker(e.dockerHost, ['tag', web, `${README_IMAGE}:latest`]);
      }),
    );
    agents.push(...(await Promise.all(engines.map((e) => startAgentProcess({ dockerHost: e.dockerHost })))));
    writeInventory('inventory.yaml', labs());
    writeJob(demoJob());
    writeFileSync(
      path.join(dir, 'broken.yaml'),
      'name: "demo"\ngroup: "labs"\ncount: 0\ncontainer:\n - image: x\n',
    );
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    if (harness().dockerAvailable) await Promise.all(engines.map((e) => resetEngine(e)));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const freshStatuses = () =>
    table([
      ['NAME', 'STATUS', 'CONTAINERS', 'UPDATE', 'VERSION'],
      ['lab1*', 'ONLINE', '0 -> 2', 'true', v1],
      ['lab2*', 'ONLINE', '0 -> 2', 'true', v1],
      ['lab3*', 'ONLINE', '0 -> 2', 'true', v1],
    ]);
  const deploymentSummary = (count = 2) => `Deployment summary:

NAME     IMAGE                    RESTART     COUNT     GROUP     NETWORK
demo     crccheck/hello-world     always      ${count}         labs      bridge
`;

  it('without a terminal and without -y: refuses at once, exit 1, nothing deployed', async () => {
    const ran = await dokkup(dir, ['run', 'job', 'demo.yaml'], { input: 'y\n' });
    expect(ran.code, explain(ran)).toBe(1);
    expect(ran.stdout).toBe(`${deploymentSummary()}\nNode statuses:\n\n${freshStatuses()}\n\n${WAVES}\n`);
    expect(ran.stderr).toContain('stdin is not a terminal');
    for (let i = 0; i < 3; i++) expect(await demo(i, true)).toEqual([]);
  });

  it('on a terminal: n, an empty line and end of input all decline (exit 1), nothing deployed', async () => {
    for (const answer of ['n\n', '\n', null, 'yes please\n']) {
      const ran = await dokkupOnTerminal(dir, ['run', 'job', 'demo.yaml'], answer);
      expect(ran.code, String(answer)).toBe(1);
      expect(ran.output).toContain(`${freshStatuses()}\n\n${WAVES}\n\n${PROMPT}`);
      expect(ran.output).toContain('Aborted: nothing was changed.');
    }
    for (let i = 0; i < 3; i++) expect(await demo(i, true)).toEqual([]);
  });

  it('fresh deploy on a terminal, answered y: the README tables, live progress, summary, exit 0', async () => {
    const ran = await dokkupOnTerminal(dir, ['run', 'job', '-i', 'inventory.yaml', 'demo.yaml'], 'y\n');
    expect(ran.code, explain(ran)).toBe(0);
    expect(
      ran.output.startsWith(
        `${deploymentSummary()}\nNode statuses:\n\n${freshStatuses()}\n\n${WAVES}\n\n${PROMPT}`,
      ),
    ).toBe(true);
    for (const lab of ['lab1', 'lab2', 'lab3']) expect(ran.output).toContain(`${lab}: Deployment successful`);
    // A live line drawn while a node was still at work (the health wait lasts about a second).
    expect(ran.output).toMatch(/lab\d: Waiting for containers to be running \(\d\/2\)/);
    // The times each node took are what they were; everything else is the exact table.
    const times = (lab: string) => {
      const row = new RegExp(`^${lab}\\s+OK\\s+(\\S+)\\s+(\\S+)\\s+Deployment successful$`, 'm').exec(
        ran.output,
      );
      expect(row, lab).not.toBeNull();
      for (const time of row!.slice(1)) expect(time).toMatch(/^\d+(\.\d)?m?s$/);
      return row!.slice(1) as [string, string];
    };
    expect(
      ran.output.endsWith(`Summary:

${table([
  ['NAME', 'RESULT', 'CUTOVER', 'TOTAL', 'MESSAGE'],
  ['lab1', 'OK', ...times('lab1'), 'Deployment successful'],
  ['lab2', 'OK', ...times('lab2'), 'Deployment successful'],
  ['lab3', 'OK', ...times('lab3'), 'Deployment successful'],
])}

3 nodes: 3 succeeded
`),
    ).toBe(true);
    for (let i = 0; i < 3; i++) {
      const running = await demo(i);
      expect(running.length).toBe(2);
      expect(
        running.every((c) => c.labels['dokkup.job.version'] === v1 && c.labels['my.label.test'] === 'demo'),
      ).toBe(true);
    }
  });

  it('no-op: 2/2 false, nothing to do, same containers, exit 0', async () => {
    const before = await ids(0);
    const ran = await dokkup(dir, ['run', 'job', 'demo.yaml']);
    expect(ran.code, explain(ran)).toBe(0);
    expect(
      ran.stdout.startsWith(`${deploymentSummary()}
Node statuses:

${table([
  ['NAME', 'STATUS', 'CONTAINERS', 'UPDATE', 'VERSION'],
  ['lab1', 'ONLINE', '2/2', 'false', v1],
  ['lab2', 'ONLINE', '2/2', 'false', v1],
  ['lab3', 'ONLINE', '2/2', 'false', v1],
])}

Nothing to do: every reachable node is already up to date.
`),
    ).toBe(true);
    expect(ran.stdout).toContain('3 nodes: 3 unchanged');
    expect(await ids(0)).toEqual(before);
  });

  it('plan: exit 0 without changes; exit 1 with changes, naming the label key', async () => {
    expect((await dokkup(dir, ['plan', 'job', 'demo.yaml'])).code).toBe(0);
    writeJob(demoJob({ label: 'somechange' }), 'demo-v2.yaml');
    const ran = await dokkup(dir, ['plan', 'job', 'demo-v2.yaml']);
    expect(ran.code, explain(ran)).toBe(1);
    expect(ran.stdout).toContain(
      `lab1, lab2, lab3: update ${v1} -> ${v2}, start-first\n  ~ labels: my.label.test\n`,
    );
    const json = PlanJsonSchema.parse(
      JSON.parse((await dokkup(dir, ['plan', 'job', '--json', 'demo-v2.yaml'])).stdout),
    );
    expect(json).toMatchObject({ command: 'plan job', changes: true, exitCode: 1, version: v2 });
  });

  it('update (-y after the file): 2/2 true a -> b, new containers of the new version, exit 0', async () => {
    const before = await ids(1);
    writeJob(demoJob({ label: 'somechange' }));
    const ran = await dokkup(dir, ['run', 'job', 'demo.yaml', '-y']);
    expect(ran.code, explain(ran)).toBe(0);
    expect(ran.stdout).toContain(`Node statuses:

${table([
  ['NAME', 'STATUS', 'CONTAINERS', 'UPDATE', 'VERSION'],
  ['lab1', 'ONLINE', '2/2', 'true', `${v1} -> ${v2}`],
  ['lab2', 'ONLINE', '2/2', 'true', `${v1} -> ${v2}`],
  ['lab3', 'ONLINE', '2/2', 'true', `${v1} -> ${v2}`],
])}
`);
    expect(ran.stdout).toContain('lab2: Update successful');
    const after = await demo(1);
    expect(after.length).toBe(2);
    expect(after.every((c) => c.labels['dokkup.job.version'] === v2 && !before.includes(c.id))).toBe(true);
  });

  it('scale up 2 -> 5 and down 5 -> 2, one version throughout', async () => {
    writeJob(demoJob({ count: 5, label: 'somechange' }));
    const up = await dokkup(dir, ['run', 'job', '-y', 'demo.yaml']);
    expect(up.code, explain(up)).toBe(0);
    expect(up.stdout).toContain(`${deploymentSummary(5)}
Node statuses:

${table([
  ['NAME', 'STATUS', 'CONTAINERS', 'UPDATE', 'VERSION'],
  ['lab1', 'ONLINE', '2 -> 5', 'true', v2],
  ['lab2', 'ONLINE', '2 -> 5', 'true', v2],
  ['lab3', 'ONLINE', '2 -> 5', 'true', v2],
])}
`);
    expect((await demo(2)).length).toBe(5);
    writeJob(demoJob({ count: 2, label: 'somechange' }));
    const down = await dokkup(dir, ['run', 'job', '-y', 'demo.yaml']);
    expect(down.code, explain(down)).toBe(0);
    expect(down.stdout).toMatch(/lab3\s{5}ONLINE\s{5}5 -> 2\s{9}true\s{7}[0-9a-f]{7}\n/);
    const running = await demo(2);
    expect(running.length).toBe(2);
    expect(running.every((c) => c.labels['dokkup.job.version'] === v2)).toBe(true);
  });

  it('history: each node lists both versions, newest first, v2 current', async () => {
    const ran = await dokkup(dir, ['history', 'job', 'demo.yaml']);
    expect(ran.code, explain(ran)).toBe(0);
    const lines = ran.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(
      'NODE     STATUS     VERSION     IMAGE                    COUNT     DEPLOYED                 CURRENT',
    );
    const lab1 = lines.filter((l) => l.startsWith('lab1 '));
    expect(lab1.map((l) => cells(l).map((c) => c.text))).toEqual([
      [
        'lab1',
        'ONLINE',
        v2,
        README_IMAGE,
        expect.stringMatching(/^[25]$/),
        expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        'true',
      ],
      ['lab1', 'ONLINE', v1, README_IMAGE, '2', expect.stringMatching(/Z$/), 'false'],
    ]);
    const json = HistoryJsonSchema.parse(
      JSON.parse((await dokkup(dir, ['history', 'job', '--json', 'demo.yaml'])).stdout),
    );
    expect(json.nodes.map((n) => n.history?.current)).toEqual([v2, v2, v2]);
  });

  it('rollback: ROLLBACK true b -> a through the same path; --to with an unknown version fails', async () => {
    const ran = await dokkup(dir, ['rollback', 'job', '-y', 'demo.yaml']);
    expect(ran.code, explain(ran)).toBe(0);
    expect(ran.stdout).toContain(`Node statuses:

${table([
  ['NAME', 'STATUS', 'CONTAINERS', 'ROLLBACK', 'VERSION'],
  ['lab1', 'ONLINE', '2/2', 'true', `${v2} -> ${v1}`],
  ['lab2', 'ONLINE', '2/2', 'true', `${v2} -> ${v1}`],
  ['lab3', 'ONLINE', '2/2', 'true', `${v2} -> ${v1}`],
])}
`);
    expect(ran.stdout).toContain('lab1: Rollback successful');
    expect(await versions(0)).toEqual([v1, v1]);
    const unknown = await dokkup(dir, ['rollback', 'job', '-y', '--to', 'abcdef0', 'demo.yaml']);
    expect(unknown.code, explain(unknown)).toBe(1);
    expect(unknown.stdout + unknown.stderr).toContain('version abcdef0 is not in this node’s history');
    expect(await versions(0)).toEqual([v1, v1]);
    writeJob(demoJob());
  });

  it('show job: per node the NODE table and its aligned CONTAINER table, as in the README', async () => {
    const ran = await dokkup(dir, ['show', 'job', 'demo.yaml']);
    expect(ran.code, explain(ran)).toBe(0);
    const blocks = ran.stdout.trimEnd().split('\n\n\n');
    expect(blocks.length).toBe(3);
    for (const [i, block] of blocks.entries()) {
      const [nodeTable, containerTable] = block.split('\n\n');
      expect(nodeTable).toBe(
        table([
          ['NODE', 'LOCATION', 'STATUS', 'JOB', 'IMAGE', 'CONTAINERS', 'VERSION'],
          [`lab${i + 1}`, `127.0.0.1:${agents[i]!.port}`, 'ONLINE', 'demo', README_IMAGE, '2/2', v1],
        ]),
      );
      const [header, ...rows] = containerTable!.split('\n');
      const columns = cells(header!);
      expect(columns.map((c) => c.text)).toEqual(['CONTAINER ID', 'NAME', 'STATUS', 'PORTS']);
      const running = await demo(i);
      expect(rows.length).toBe(running.length);
      for (const row of rows) {
        const parts = cells(row);
        expect(parts.map((p) => p.at)).toEqual(columns.map((c) => c.at));
        const [id, name, status, ports] = parts.map((p) => p.text);
        const container = running.find((c) => c.id.startsWith(id!));
        expect(container, row).toBeDefined();
        expect(name).toBe(container!.name);
        expect(name).toMatch(/^demo-[0-9a-f-]{36}$/);
        expect(status).toMatch(/^Up /);
        // The harness engines publish on 127.0.0.1 (dockerd --ip), a default engine on 0.0.0.0.
        const ip = await hostIp(engines[i]!.dockerHost, container!.id);
        expect(ports).toBe(`${ip}:${container!.ports['8000/tcp']![0]}->8000/tcp`);
      }
    }
    const json = ShowJobJsonSchema.parse(
      JSON.parse((await dokkup(dir, ['show', 'job', '--json', 'demo.yaml'])).stdout),
    );
    expect(json.nodes.map((n) => [n.status, n.job?.running])).toEqual([
      ['online', 2],
      ['online', 2],
      ['online', 2],
    ]);
  });

  it('show nodes: status, agent and Docker versions, job and container counts, latency', async () => {
    const ran = await dokkup(dir, ['show', 'nodes']);
    expect(ran.code, explain(ran)).toBe(0);
    const lines = ran.stdout.trimEnd().split('\n');
    expect(cells(lines[0]!).map((c) => c.text)).toEqual([
      'NAME',
      'LOCATION',
      'STATUS',
      'AGENT',
      'DOCKER',
      'JOBS',
      'CONTAINERS',
      'LATENCY',
    ]);
    const json = ShowNodesJsonSchema.parse(
      JSON.parse((await dokkup(dir, ['show', 'nodes', '--json'])).stdout),
    );
    for (const node of json.nodes) {
      expect(node.status).toBe('online');
      expect(node.info?.jobs).toBe(1);
      expect(node.info?.containers.running).toBe(2);
      expect(node.info?.dockerVersion).toMatch(/^\d+\.\d+/);
    }
    const lab1 = cells(lines[1]!).map((c) => c.text);
    expect(lab1.slice(0, 3)).toEqual(['lab1', `127.0.0.1:${agents[0]!.port}`, 'ONLINE']);
    expect(lab1[4]).toBe(json.nodes[0]!.info!.dockerVersion);
    expect(lab1.slice(5, 7)).toEqual(['1', '2/2']);
    expect(lab1[7]).toMatch(/^\d+(\.\d)?ms$/);
  });

  it('stop: the Stop job summary, 2 -> 0, PURGE false; containers kept, stopped', async () => {
    const ran = await dokkup(dir, ['stop', 'job', '--yes', 'demo.yaml']);
    expect(ran.code, explain(ran)).toBe(0);
    expect(
      ran.stdout.startsWith(`Stop job summary:

NAME     IMAGE                    GROUP
demo     crccheck/hello-world     labs

Node statuses:

${table([
  ['NAME', 'STATUS', 'CONTAINERS', 'PURGE'],
  ['lab1', 'ONLINE', '2 -> 0', 'false'],
  ['lab2', 'ONLINE', '2 -> 0', 'false'],
  ['lab3', 'ONLINE', '2 -> 0', 'false'],
])}
`),
    ).toBe(true);
    expect(ran.stdout).toContain('lab1: Job stopped successfully');
    const all = await demo(0, true);
    expect(all.length).toBe(2);
    expect(all.every((c) => c.state !== 'running')).toBe(true);
  });

  it('run after stop starts the same containers again: 0 -> 2', async () => {
    const before = (await demo(0, true)).map((c) => c.id).sort();
    const ran = await dokkup(dir, ['run', 'job', '-y', 'demo.yaml']);
    expect(ran.code, explain(ran)).toBe(0);
    expect(ran.stdout).toContain(
      table([
        ['NAME', 'STATUS', 'CONTAINERS', 'UPDATE', 'VERSION'],
        ['lab1', 'ONLINE', '0 -> 2', 'true', v1],
        ['lab2', 'ONLINE', '0 -> 2', 'true', v1],
        ['lab3', 'ONLINE', '0 -> 2', 'true', v1],
      ]),
    );
    expect(await ids(0)).toEqual(before);
  });

  it('an agent that is down: OFFLINE in every command, skipped with a warning, others still served, exit 3', async () => {
    await agents[2]!.stop();
    try {
      writeJob(demoJob({ label: 'down-test' }));
      const v3 = versionOf(demoJob({ label: 'down-test' }));
      const ran = await dokkup(dir, ['run', 'job', '-y', 'demo.yaml']);
      expect(ran.code, explain(ran)).toBe(3);
      expect(ran.stdout).toContain(
        table([
          ['NAME', 'STATUS', 'CONTAINERS', 'UPDATE', 'VERSION'],
          ['lab1', 'ONLINE', '2/2', 'true', `${v1} -> ${v3}`],
          ['lab2', 'ONLINE', '2/2', 'true', `${v1} -> ${v3}`],
          ['lab3', 'OFFLINE', '-', '-', '-'],
        ]),
      );
      expect(ran.stderr).toMatch(
        /Warning: lab3 is OFFLINE \(connection refused \(127\.0\.0\.1:\d+\)\); it will be skipped/,
      );
      expect(ran.stdout).toContain('3 nodes: 2 succeeded, 1 offline');
      expect(await versions(0)).toEqual([v3, v3]);
      expect(await versions(2)).toEqual([v1, v1]);

      const show = await dokkup(dir, ['show', 'job', 'demo.yaml']);
      expect(show.code, explain(show)).toBe(3);
      expect(show.stdout).toMatch(/lab3\s+127\.0\.0\.1:\d+\s+OFFLINE\s+demo\s+-\s+-\s+-/);
      const rollback = await dokkup(dir, ['rollback', 'job', '-y', 'demo.yaml']);
      expect(rollback.code, explain(rollback)).toBe(3);
      expect(rollback.stdout).toContain('lab1: Rollback successful');
      const plan = await dokkup(dir, ['plan', 'job', 'demo.yaml']);
      expect(plan.code, explain(plan)).toBe(3);
      const stop = await dokkup(dir, ['stop', 'job', '-y', 'demo.yaml']);
      expect(stop.code, explain(stop)).toBe(3);
      expect(stop.stdout).toMatch(/lab3\s+OFFLINE\s+-\s+-/);
      const json = OperationJsonSchema.parse(
        JSON.parse((await dokkup(dir, ['run', 'job', '-y', '--json', 'demo.yaml'])).stdout),
      );
      expect(json.exitCode).toBe(3);
      expect(json.nodes.map((n) => n.outcome)).toEqual(['succeeded', 'succeeded', 'offline']);
      expect(json.nodes[2]!.error?.code).toBe('offline');
    } finally {
      await agents[2]!.restart();
    }
  });

  it('a wrong key: UNAUTHORIZED, skipped, exit 3', async () => {
    writeInventory(
      'wrong-key.yaml',
      labs().map((n) => (n.name === 'lab2' ? { ...n, key: `${n.key.slice(0, -4)}XXXX` } : n)),
    );
    const ran = await dokkup(dir, ['show', 'job', '-i', 'wrong-key.yaml', 'demo.yaml']);
    expect(ran.code, explain(ran)).toBe(3);
    expect(ran.stdout).toMatch(/lab2\s+127\.0\.0\.1:\d+\s+UNAUTHORIZED\s+demo\s+-\s+-\s+-/);
    expect(ran.stderr).toContain('Warning: lab2 is UNAUTHORIZED (wrong API key)');
    const nodes = ShowNodesJsonSchema.parse(
      JSON.parse((await dokkup(dir, ['show', 'nodes', '--json', '-i', 'wrong-key.yaml'])).stdout),
    );
    expect(nodes.nodes.map((n) => n.status)).toEqual(['online', 'unauthorized', 'online']);
    expect(nodes.exitCode).toBe(3);
  });

  it('Ctrl-C during a run: no further node is contacted, the one in flight finishes, summary, exit 130', async () => {
    const lab2Before = await versions(1);
    expect(lab2Before).toHaveLength(2);
    writeJob(demoJob({ label: 'interrupted' }));
    const child = spawn(process.execPath, [BIN, 'run', 'job', '-y', '--parallel', '1', 'demo.yaml'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let signalled = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (!signalled && /lab1: /.test(stdout)) {
        signalled = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? -1)));
    expect(code).toBe(130);
    // The summary's CUTOVER and TOTAL: lab1's times, none for the nodes never carried out.
    expect(stdout).toMatch(/lab1\s+OK\s+\d+(\.\d)?m?s\s+\d+(\.\d)?m?s\s+Update successful/);
    expect(stdout).toMatch(/lab2\s+SKIPPED\s+-\s+-\s+not carried out: interrupted/);
    expect(stdout).toMatch(/lab3\s+SKIPPED\s+-\s+-\s+not carried out: interrupted/);
    const v4 = versionOf(demoJob({ label: 'interrupted' }));
    expect(await versions(0)).toEqual([v4, v4]);
    // Not contacted: lab2 runs what it ran before, untouched.
    expect(await versions(1)).toEqual(lab2Before);
    expect(lab2Before).not.toContain(v4);
  });

  it('invalid input: exit 2, file:line:col, no stack trace', async () => {
    const ran = await dokkup(dir, ['run', 'job', '-y', 'broken.yaml']);
    expect(ran.code, explain(ran)).toBe(2);
    expect(ran.stderr).toMatch(/^broken\.yaml:3:\d+ count: /m);
    expect(ran.stderr).not.toMatch(/\n\s+at /);
    const plan = await dokkup(dir, ['plan', 'job', 'broken.yaml']);
    expect(plan.code, explain(plan)).toBe(2);
    const flags = await dokkup(dir, ['stop', 'job', '--purgee', 'demo.yaml']);
    expect(flags.code, explain(flags)).toBe(2);
    expect(flags.stderr).toContain('unknown option --purgee');
  });

  it('purge: PURGE true, containers removed, history gone; then a fresh deploy again (lab1*)', async () => {
    const ran = await dokkup(dir, ['stop', 'job', '-y', '--purge', 'demo.yaml']);
    expect(ran.code, explain(ran)).toBe(0);
    expect(ran.stdout).toMatch(/lab1\s{5}ONLINE\s{5}2 -> 0\s{9}true\n/);
    for (let i = 0; i < 3; i++) expect(await demo(i, true)).toEqual([]);
    const history = HistoryJsonSchema.parse(
      JSON.parse((await dokkup(dir, ['history', 'job', '--json', 'demo.yaml'])).stdout),
    );
    // Every node answered (an unreachable one has no history at all, not an empty one).
    expect(history.exitCode).toBe(0);
    expect(history.nodes.map((n) => n.history?.entries.length)).toEqual([0, 0, 0]);
    const plan = await dokkup(dir, ['plan', 'job', 'demo.yaml']);
    expect(plan.code, explain(plan)).toBe(1);
    expect(plan.stdout).toMatch(/lab1\*\s+ONLINE\s+0 -> 2\s+true/);
  });

  it('version: Dokkup v<package version>, build <commit or dev>', async () => {
    const ran = await dokkup(dir, ['version']);
    expect(ran.code, explain(ran)).toBe(0);
    expect(ran.stdout).toMatch(/^Dokkup v\d+\.\d+\.\d+\S*, build ([0-9a-f]{7}|dev)\n$/);
  });

  it('unused port in the inventory: OFFLINE even for show nodes', async () => {
    const port = await freePort();
    writeInventory('with-ghost.yaml', [
      ...labs(),
      { name: 'ghost', location: `127.0.0.1:${port}`, key: 'nope' },
    ]);
    const ran = await dokkup(dir, ['show', 'nodes', '-i', 'with-ghost.yaml']);
    expect(ran.code, explain(ran)).toBe(3);
    expect(ran.stdout).toMatch(/ghost\s+127\.0\.0\.1:\d+\s+OFFLINE/);
  });
});
