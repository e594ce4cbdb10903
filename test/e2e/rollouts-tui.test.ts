/**
 * A canary in the control center: the built TUI in tmux against real agents on real Docker
 * engines. A canary put out by another operator's CLI shows on the job row (`canary 1/2`); P
 * promotes it from the keyboard through the confirmation pane and the rollout board; a lease
 * another operator holds shows on the job row too. What the screen claims is checked against the
 * engines with the docker CLI.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AgentClient } from '../../src/client/index.js';
import { parseJobText } from '../../src/config/index.js';
import { specVersion } from '../../src/core/version.js';
import { type AgentProcess, startAgentProcess } from '../harness/agent-process.js';
import { runCli } from '../harness/cli-process.js';
import { describeDocker, engine, images, resetEngine, runningContainers } from '../harness/context.js';
import { row, Terminal } from '../harness/tmux.js';

const dokkup = runCli;

describeDocker('a canary in the TUI (tmux, real agents on real Docker engines)', () => {
  const [e1, e2] = [engine(0), engine(1)];
  let dir: string;
  let lab1: AgentProcess;
  let lab2: AgentProcess;
  let term: Terminal;
  const job = (image: string) =>
    `name: web\ngroup: all\ncount: 1\nupdate:\n  min_healthy_time: 1s\n  canary: 1\ncontainer:\n  - image: "${image}"\n    ports:\n      - in: 8000\n`;
  const versionOn = async (e: typeof e1) => [
    ...new Set(
      (await runningContainers(e, { 'dokkup.job.name': 'web' })).map((c) => c.labels['dokkup.job.version']),
    ),
  ];

  beforeAll(async () => {
    await Promise.all([resetEngine(e1), resetEngine(e2)]);
    [lab1, lab2] = await Promise.all([
      startAgentProcess({ dockerHost: e1.dockerHost }),
      startAgentProcess({ dockerHost: e2.dockerHost }),
    ]);
    dir = mkdtempSync(join(tmpdir(), 'dokkup-tui-canary-'));
    writeFileSync(
      join(dir, 'inventory.yaml'),
      `nodes:\n  - name: lab1\n    location: 127.0.0.1:${lab1.port}\n    key: ${lab1.key}\n    fingerprint: ${lab1.fingerprint}\n  - name: lab2\n    location: 127.0.0.1:${lab2.port}\n    key: ${lab2.key}\n    fingerprint: ${lab2.fingerprint}\ngroups:\n  - name: all\n    nodes: [lab1, lab2]\n`,
    );
    // v1 everywhere, then a canary of v2 on lab1, both from the CLI (another operator).
    writeFileSync(join(dir, 'web.yaml'), job(images().webV1));
    expect((await dokkup(dir, ['run', 'job', '-y', 'web.yaml'])).code).toBe(0);
    writeFileSync(join(dir, 'web.yaml'), job(images().webV2));
    const canary = await dokkup(dir, ['run', 'job', '-y', 'web.yaml']);
    expect(canary.code, canary.stdout + canary.stderr).toBe(0);
    term = new Terminal(dir, ['-i', 'inventory.yaml', 'web.yaml'], {});
  });

  afterAll(async () => {
    term?.close();
    await Promise.all([lab1?.stop(), lab2?.stop()]);
    await Promise.all([resetEngine(e1), resetEngine(e2)]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows the canary on the job row and promotes it with P, the same confirmation pane, and the board', async () => {
    const v1 = specVersion(parseJobText(job(images().webV1), 'x.yaml'));
    const v2 = specVersion(parseJobText(job(images().webV2), 'x.yaml'));
    expect([await versionOn(e1), await versionOn(e2)]).toEqual([[v2], [v1]]);
    await term.waitFor('the canary on the job row', (s) => !!row(s, 'web', '2/2', 'canary 1/2'));

    await term.keys('2', '/');
    await term.type('^web\\b');
    await term.keys('Enter');
    await term.waitFor('web selected', (s) => /\[2\] Jobs \(1(\/\d+)?\) \/\^web/.test(s));
    await term.keys('P');
    const pane = await term.waitForText('Node statuses:', 60_000);
    expect(pane).toMatch(/Promote web — nothing changes until you confirm/);
    expect(row(pane, 'lab1', 'ONLINE', 'false', v2)).toBeDefined();
    expect(row(pane, 'lab2', 'ONLINE', 'true', `${v1} -> ${v2}`)).toBeDefined();
    expect(pane).toContain('wave 1: lab2');
    expect(pane).toContain('dokkup promote job -i inventory.yaml web.yaml');
    expect(pane).toMatch(/\[ Cancel \].*\[ Promote \]/);

    await term.keys('y');
    const board = await term.waitForText(/Finished in .*esc\/enter to dismiss/, 120_000);
    expect(board).toContain('Rollout: Promote web');
    expect(row(board, 'lab1', 'OK', `Canary of ${v2} promoted`)).toBeDefined();
    expect(row(board, 'lab2', 'OK', 'Update successful')).toBeDefined();
    await term.keys('Escape');
    await term.waitFor('board dismissed', (s) => !s.includes('Rollout:'));

    expect([await versionOn(e1), await versionOn(e2)]).toEqual([[v2], [v2]]);
    const client = new AgentClient({
      name: 'lab1',
      location: '',
      baseUrl: lab1.baseUrl,
      key: lab1.key,
      fingerprint: lab1.fingerprint,
    });
    try {
      expect((await client.status('web')).canary).toBeNull();
    } finally {
      client.close();
    }
    await term.waitFor(
      'the canary gone from the job row',
      (s) => !!row(s, 'web', '2/2') && !s.includes('canary 1/2'),
    );
  });

  it('shows a lease another operator holds on the job row', async () => {
    const client = new AgentClient({
      name: 'lab2',
      location: '',
      baseUrl: lab2.baseUrl,
      key: lab2.key,
      fingerprint: lab2.fingerprint,
    });
    try {
      await client.acquireLease('web', {
        id: 'bob-lease-for-the-tui-test',
        operator: 'bob',
        host: 'desk',
        command: 'run job web.yaml',
        ttlMs: 60_000,
      });
      await term.keys('R');
      await term.waitFor('the lease on the job row', (s) => !!row(s, 'web', 'locked bob@desk'));
      await client.releaseLease('web', { force: true });
      await term.keys('R');
      await term.waitFor('the lease gone', (s) => !s.includes('locked bob@desk'));
    } finally {
      client.close();
    }
  });
});
