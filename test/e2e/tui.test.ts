/**
 * `dokkup tui` end to end, the way an operator uses it: the built binary in a real terminal
 * (tmux, 160×48), keys sent with `send-keys`, the screen read with `capture-pane`, against real
 * agent processes on real Docker engines from the harness. What the screen claims is checked
 * against the engines themselves with the docker CLI.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { FeedSession } from '../../src/client/feeds/session.js';
import { AgentClient } from '../../src/client/index.js';
import { parseJobText } from '../../src/config/index.js';
import { type AgentProcess, startAgentProcess } from '../harness/agent-process.js';
import { describeDocker, LOGGER_STDOUT_PREFIX, resetEngine, runningContainers } from '../harness/context.js';
import { waitFor } from '../harness/proc.js';
import { row, Terminal, tmux } from '../harness/tmux.js';

const h = inject('dokkupHarness');

describeDocker('dokkup tui (tmux, real agents on real Docker engines)', () => {
  const [e1, e2, e3] = [h.engines[0]!, h.engines[1]!, h.engines[2]!];
  const images = h.images!;
  let dir: string;
  let lab1: AgentProcess;
  let lab2: AgentProcess;
  let term: Terminal;
  /** Every operation the agents started on job web, as they announce it on their feeds. */
  const operations: { node: string; operation: string }[] = [];
  const feeds: FeedSession[] = [];

  const webIds = async () =>
    [
      ...(await runningContainers(e1, { 'dokkup.job.name': 'web' })),
      ...(await runningContainers(e2, { 'dokkup.job.name': 'web' })),
    ]
      .map((c) => c.id)
      .sort();

  const job = (name: string, image: string, count: number, extra = '') =>
    `name: ${name}\ngroup: all\ncount: ${count}\nupdate:\n  healthy_deadline: 30s\n  min_healthy_time: 1s\ncontainer:\n  - image: "${image}"\n${extra}`;

  /** Focuses the jobs table and selects a job by filtering on its exact name. */
  async function selectJob(name: string): Promise<void> {
    await term.keys('2', '/');
    await term.type(`^${name}\\b`);
    await term.keys('Enter');
    await term.waitFor(`job ${name} selected`, (s) => /\[2\] Jobs \(1\/\d+\) \/\^/.test(s));
  }

  async function clearFilter(): Promise<void> {
    await term.keys('Escape');
    await term.waitFor('filter cleared', (s) => !/\[2\] Jobs \(\d+\/\d+\)/.test(s));
  }

  async function confirmAndFinish(title: string): Promise<string> {
    await term.keys('y');
    const screen = await term.waitForText(/Finished in .*esc\/enter to dismiss/, 90_000);
    expect(screen).toContain(`Rollout: ${title}`);
    await term.keys('Escape');
    await term.waitFor('board dismissed', (s) => !s.includes('Rollout:'));
    return screen;
  }

  beforeAll(async () => {
    await Promise.all([resetEngine(e1), resetEngine(e2), resetEngine(e3)]);
    [lab1, lab2] = await Promise.all([
      startAgentProcess({ dockerHost: e1.dockerHost }),
      startAgentProcess({ dockerHost: e2.dockerHost }),
    ]);
    dir = mkdtempSync(join(tmpdir(), 'dokkup-tui-e2e-'));
    writeFileSync(
      join(dir, 'inventory.yaml'),
      `nodes:\n  - name: lab1\n    location: 127.0.0.1:${lab1.port}\n    key: ${lab1.key}\n    fingerprint: ${lab1.fingerprint}\n  - name: lab2\n    location: 127.0.0.1:${lab2.port}\n    key: ${lab2.key}\n    fingerprint: ${lab2.fingerprint}\ngroups:\n  - name: all\n    nodes: [lab1, lab2]\n`,
    );
    const web = (image: string) => job('web', image, 2, '    ports:\n      - in: 8000\n');
    writeFileSync(join(dir, 'web.yaml'), web(images.webV1));
    writeFileSync(join(dir, 'web-v2.yaml'), web(images.webV2));
    // Already running before the TUI starts: a container that prints known lines.
    const logger = parseJobText(
      job('logger', images.logger, 1).replace('group: all', 'node: lab1'),
      'logger.yaml',
    );
    const client = new AgentClient({
      name: 'lab1',
      location: '',
      baseUrl: lab1.baseUrl,
      key: lab1.key,
      fingerprint: lab1.fingerprint,
    });
    const result = await client.deploy(logger, () => {});
    client.close();
    expect(result.ok).toBe(true);
    for (const [node, agent] of [
      ['lab1', lab1],
      ['lab2', lab2],
    ] as const) {
      const session = new FeedSession({
        name: node,
        baseUrl: agent.baseUrl,
        key: agent.key,
        fingerprint: agent.fingerprint,
      });
      feeds.push(session);
      await new Promise<void>((resolve, reject) =>
        session.subscribeEvents(
          (event) => {
            if (event.type === 'operation-start') operations.push({ node, operation: event.operation });
          },
          { job: 'web', onSubscribed: resolve, onError: reject },
        ),
      );
    }
    term = new Terminal(dir, ['-i', 'inventory.yaml', 'web.yaml', 'web-v2.yaml'], {});
  });

  afterAll(async () => {
    term?.close();
    for (const session of feeds) session.close();
    await Promise.all([lab1?.stop(), lab2?.stop()]);
    await Promise.all([resetEngine(e1), resetEngine(e2)]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('launches and shows every node and the containers already running', async () => {
    const screen = await term.waitFor('both nodes online and the logger container', (s) => {
      return /nodes 2 online/.test(s) && !!row(s, 'lab1', 'logger-', 'running');
    });
    expect(row(screen, '●', 'lab1', 'ONLINE')).toBeDefined();
    expect(row(screen, '●', 'lab2', 'ONLINE')).toBeDefined();
    expect(screen).toContain('[2] Jobs (1)');
    expect(row(screen, 'logger', '1/1', 'in sync')).toBeDefined();
  });

  it('deploys a job file with d, after a confirmation showing the plan tables', async () => {
    await term.keys('d');
    await term.waitForText('▶ web.yaml');
    await term.keys('Enter');
    const plan = await term.waitForText('Node statuses:');
    expect(row(plan, 'lab1*', 'ONLINE', '0 -> 2', 'true')).toBeDefined();
    expect(row(plan, 'lab2*', 'ONLINE', '0 -> 2', 'true')).toBeDefined();
    expect(plan).toContain('dokkup run job -i inventory.yaml web.yaml');
    expect(plan).toMatch(/\[ Cancel \].*\[ Deploy \]/);
    const board = await confirmAndFinish('Deploy web');
    expect(row(board, 'lab1', 'OK', 'Deployment successful')).toBeDefined();
    expect(row(board, 'lab2', 'OK', 'Deployment successful')).toBeDefined();
    expect((await runningContainers(e1, { 'dokkup.job.name': 'web' })).length).toBe(2);
    expect((await runningContainers(e2, { 'dokkup.job.name': 'web' })).length).toBe(2);
    const screen = await term.waitFor('web 4/4 in the jobs table', (s) => !!row(s, 'web', '4/4', 'in sync'));
    expect(screen).toMatch(/jobs healthy 2\/2/);
  });

  it('shows the new containers with live CPU figures', async () => {
    const screen = await term.waitFor('CPU figures on web rows', (s) => {
      const rows = s.split('\n').filter((l) => /lab[12]\s+web-/.test(l));
      return rows.length === 4 && rows.every((l) => /running\s+\S+\s+\d+\.\d%/.test(l));
    });
    expect(row(screen, 'lab1', 'logger-')).toMatch(/\d+\.\d%/);
    // A container that burns a CPU shows it within a few stats batches.
    const busy = parseJobText(job('busy', images.busy, 1).replace('group: all', 'node: lab2'), 'busy.yaml');
    const client = new AgentClient({
      name: 'lab2',
      location: '',
      baseUrl: lab2.baseUrl,
      key: lab2.key,
      fingerprint: lab2.fingerprint,
    });
    try {
      expect((await client.deploy(busy, () => {})).ok).toBe(true);
      await term.waitFor('busy container over 20% CPU', (s) => {
        // NODE NAME ENTRY STATE HEALTH CPU (the ENTRY column reads - for a one-entry job).
        const cpu = /lab2\s+busy-\S+\s+-\s+running\s+\S+\s+(\d+(?:\.\d)?)%/.exec(s);
        return cpu !== null && Number(cpu[1]) >= 20;
      });
    } finally {
      // It burns a core of a shared machine: gone as soon as it was seen.
      await client.stop('busy', true, () => {});
      client.close();
    }
    await term.waitFor('busy gone', (s) => !s.includes('busy-'));
  });

  it('shows a known log line with l', async () => {
    await term.keys('3', '/');
    await term.type('logger');
    await term.keys('Enter', 'l');
    const screen = await term.waitForText(`${LOGGER_STDOUT_PREFIX} `);
    expect(screen).toMatch(/Logs: lab1\/logger-/);
    expect(screen).toContain('follow');
    await term.keys('Escape', 'Escape');
    await term.waitFor('containers unfiltered', (s) => /\[3\] Containers \(\d+\) /.test(s));
  });

  it("shows a container's escape sequences as text in the log view: the terminal's title and screen stay", async () => {
    const printer = parseJobText(
      job(
        'printer',
        images.webV1,
        1,
        `    entrypoint: ["/bin/sh", "-c"]\n    command: ["printf '\\\\033]0;pwned\\\\007\\\\033[2J\\\\033[31mred\\\\033[0m evil-line\\\\n'; trap 'exit 0' TERM; httpd -f -p 8000 -h /www & wait"]\n`,
      ).replace('group: all', 'node: lab1'),
      'printer.yaml',
    );
    const client = new AgentClient({
      name: 'lab1',
      location: '',
      baseUrl: lab1.baseUrl,
      key: lab1.key,
      fingerprint: lab1.fingerprint,
    });
    try {
      expect((await client.deploy(printer, () => {})).ok).toBe(true);
    } finally {
      client.close();
    }
    const titleBefore = tmux(['display-message', '-p', '-t', term.name, '#{pane_title}']);
    await term.waitFor('the printer container', (s) => !!row(s, 'lab1', 'printer-', 'running'));
    await term.keys('3', '/');
    await term.type('printer');
    await term.keys('Enter', 'l');
    const screen = await term.waitForText('evil-line');
    expect(screen).toContain('\\x1b]0;pwned\\x07\\x1b[2Jred evil-line');
    // Nothing was obeyed: the title is what it was, and the tables are still on screen.
    expect(tmux(['display-message', '-p', '-t', term.name, '#{pane_title}'])).toBe(titleBefore);
    expect(tmux(['display-message', '-p', '-t', term.name, '#{pane_title}'])).not.toContain('pwned');
    expect(screen).toMatch(/\[1\] Nodes/);
    await term.keys('Escape', 'Escape');
    await term.waitFor('containers unfiltered', (s) => /\[3\] Containers \(\d+\) /.test(s));
  });

  it('scales a job with s and a typed count', async () => {
    await selectJob('web');
    await term.keys('s');
    await term.waitForText('Scale web to how many containers per node?');
    await term.type('3');
    await term.keys('Enter');
    const plan = await term.waitForText('Node statuses:');
    expect(row(plan, 'lab1', '2 -> 3')).toBeDefined();
    expect(plan).toContain('with count: 3');
    await confirmAndFinish('Scale web');
    expect((await runningContainers(e1, { 'dokkup.job.name': 'web' })).length).toBe(3);
    expect((await runningContainers(e2, { 'dokkup.job.name': 'web' })).length).toBe(3);
    await clearFilter();
  });

  it("shows the nodes' audit logs in the Events tab: the scale of both nodes, with the key's id", async () => {
    await term.keys(':');
    await term.type('events');
    await term.keys('Enter');
    // Newest first: the scale's entries of both nodes, at the time it ended (above its progress).
    const screen = await term.waitFor(
      'audit entries of the scale',
      (s) =>
        /lab1\s+audit: deploy web \(scale, .*2 -> 3\) ok/.test(s) &&
        /lab2\s+audit: deploy web \(scale, .*2 -> 3\) ok/.test(s),
    );
    expect(screen).toMatch(/key [0-9a-f]{12} from 127\.0\.0\.1/);
    expect(screen).not.toContain(lab1.key);
    await term.keys('Escape');
  });

  it("shows an error message carrying a container's escapes as text on the rollout board", async () => {
    // The agent's unhealthy message quotes the health check's output, which the container controls.
    writeFileSync(
      join(dir, 'sick.yaml'),
      `name: sick\nnode: lab2\ncount: 1\nupdate:\n  healthy_deadline: 15s\n  min_healthy_time: 1s\ncontainer:\n  - image: "${images.webV1}"\n    healthcheck:\n      test: "printf '\\\\033]0;pwned\\\\007\\\\033[2Jbad-health'; exit 1"\n      interval: 1s\n      retries: 1\n`,
    );
    const titleBefore = tmux(['display-message', '-p', '-t', term.name, '#{pane_title}']);
    await term.keys('d');
    await term.waitForText('▶ web.yaml');
    for (let i = 0; i < 10 && !term.screen().includes('▶ sick.yaml'); i++) await term.keys('Down');
    await term.waitForText('▶ sick.yaml');
    await term.keys('Enter');
    await term.waitForText('Node statuses:');
    await term.keys('y');
    const board = await term.waitForText(/Finished in .*esc\/enter to dismiss/, 90_000);
    expect(board).toContain('\\x1b]0;pwned\\x07\\x1b[2Jbad-health');
    expect(tmux(['display-message', '-p', '-t', term.name, '#{pane_title}'])).toBe(titleBefore);
    await term.keys('Escape');
    await term.waitFor('board dismissed', (s) => !s.includes('Rollout:'));
  });

  it('rolls back with r after an update', async () => {
    // Update to v2 first (the second file offered by d).
    await term.keys('d');
    await term.waitForText('▶ web.yaml');
    await term.keys('Down');
    await term.waitForText('▶ web-v2.yaml');
    await term.keys('Enter');
    const update = await term.waitForText('Node statuses:');
    expect(row(update, 'lab1', 'ONLINE', 'true', '->')).toBeDefined();
    await confirmAndFinish('Deploy web');
    const updated = await runningContainers(e1, { 'dokkup.job.name': 'web' });
    expect(updated.map((c) => c.image)).toEqual(updated.map(() => images.webV2));
    expect(updated.length).toBeGreaterThan(0);

    await selectJob('web');
    await term.keys('r');
    const plan = await term.waitForText('ROLLBACK');
    expect(row(plan, 'lab1', 'ONLINE', 'true', '->')).toBeDefined();
    expect(plan).toContain('dokkup rollback job');
    await confirmAndFinish('Rollback web');
    for (const e of [e1, e2]) {
      const running = await runningContainers(e, { 'dokkup.job.name': 'web' });
      expect(running.length).toBeGreaterThan(0);
      expect(running.map((c) => c.image)).toEqual(running.map(() => images.webV1));
    }
    await clearFilter();
  });

  it('changes nothing when a confirmation is cancelled (enter on Cancel, n, esc)', async () => {
    const before = await webIds();
    expect(before.length).toBeGreaterThan(0);
    const mark = operations.length;
    await selectJob('web');
    for (const cancel of ['Enter', 'n', 'Escape']) {
      await term.keys('x');
      const pane = await term.waitForText('Stop job summary:');
      expect(row(pane, 'lab1', 'ONLINE', '-> 0', 'false')).toBeDefined();
      await term.keys(cancel);
      await term.waitForText('Cancelled — nothing was changed');
      await term.waitFor('pane closed', (s) => !s.includes('Stop job summary:'));
    }
    // Each cancel was processed (its message, then the pane gone), and so was a later key (the
    // filter cleared): an operation started by any of them would have reached an agent by now.
    await clearFilter();
    expect(operations.slice(mark)).toEqual([]);
    expect(await webIds()).toEqual(before);
  });

  it('purges only after the job name is typed', async () => {
    const before = await webIds();
    expect(before.length).toBeGreaterThan(0);
    const mark = operations.length;
    await selectJob('web');
    await term.keys('p');
    await term.waitForText('Type the job name to confirm');
    // y is just a letter here, and enter with a wrong name does nothing.
    await term.keys('y', 'Enter');
    await term.waitForText('Type web exactly to purge it');
    expect(operations.slice(mark)).toEqual([]);
    expect(await webIds()).toEqual(before);
    await term.keys('BSpace');
    await term.type('web');
    await term.keys('Enter');
    await term.waitForText(/Finished in .*esc\/enter to dismiss/, 60_000);
    await term.keys('Escape');
    expect(await webIds()).toEqual([]);
    // One purge per node, the one typed right: the wrong-name enter started none, ever.
    await waitFor('both stops announced', () => (operations.length - mark >= 2 ? true : undefined), {
      timeoutMs: 10_000,
      intervalMs: 50,
    });
    expect(operations.slice(mark)).toEqual([
      expect.objectContaining({ operation: 'stop' }),
      expect.objectContaining({ operation: 'stop' }),
    ]);
    expect(
      operations
        .slice(mark)
        .map((o) => o.node)
        .sort(),
    ).toEqual(['lab1', 'lab2']);
    expect(await runningContainers(e1, { 'dokkup.job.name': 'logger' })).toHaveLength(1);
    await clearFilter();
  });

  it('shows an agent killed mid-session as offline, and online again after a restart', async () => {
    await lab2.kill9();
    const down = await term.waitFor(
      'lab2 offline',
      (s) => !!row(s, 'lab2', 'OFFLINE') && /1 offline/.test(s),
      60_000,
    );
    expect(row(down, 'lab1', 'ONLINE')).toBeDefined();
    await lab2.restart();
    await term.waitFor(
      'lab2 online again',
      (s) => !!row(s, '●', 'lab2', 'ONLINE') && /nodes 2 online/.test(s),
      60_000,
    );
  });

  it('shows a node whose certificate is not the pinned one as UNTRUSTED, in its row and the header', async () => {
    const wrong = mkdtempSync(join(tmpdir(), 'dokkup-tui-untrusted-'));
    writeFileSync(
      join(wrong, 'inventory.yaml'),
      `nodes:\n  - name: lab1\n    location: 127.0.0.1:${lab1.port}\n    key: ${lab1.key}\n    fingerprint: ${lab1.fingerprint}\n  - name: lab2\n    location: 127.0.0.1:${lab2.port}\n    key: ${lab2.key}\n    fingerprint: SHA256:${'0'.repeat(64)}\n`,
    );
    const tui = new Terminal(wrong, ['-i', 'inventory.yaml'], {});
    try {
      // Each node's first answer comes on its own: wait for both rows to be settled.
      const screen = await tui.waitFor(
        'lab2 untrusted and lab1 online',
        (s) => !!row(s, 'lab2', 'UNTRUSTED') && !!row(s, '●', 'lab1', 'ONLINE'),
      );
      expect(row(screen, '●', 'lab1', 'ONLINE')).toBeDefined();
      expect(screen).toMatch(/1 untrusted/);
      await tui.keys('q');
      await tui.waitForText('TUI EXITED 0');
    } finally {
      tui.close();
      rmSync(wrong, { recursive: true, force: true });
    }
  });

  it('runs with an embedded agent on the local engine when there is no inventory', async () => {
    const local = mkdtempSync(join(tmpdir(), 'dokkup-tui-local-'));
    writeFileSync(join(local, 'hello.yaml'), job('hello', images.webV1, 1, '    ports:\n      - in: 8000\n'));
    const embedded = new Terminal(local, [], {
      DOCKER_HOST: e3.dockerHost,
      XDG_STATE_HOME: join(local, 'state'),
    });
    try {
      const screen = await embedded.waitFor('node local online', (s) => !!row(s, '●', 'local', 'ONLINE'));
      expect(screen).toContain('local (embedded agent)');
      // The job targets group "all", which has no meaning here: it goes to this machine.
      await embedded.keys('d');
      await embedded.waitForText('▶ hello.yaml');
      await embedded.keys('Enter');
      const plan = await embedded.waitForText('Node statuses:');
      expect(row(plan, 'local*', 'ONLINE', '0 -> 1')).toBeDefined();
      await embedded.keys('y');
      await embedded.waitForText(/Finished in .*esc\/enter to dismiss/, 60_000);
      await embedded.keys('Escape');
      await embedded.waitFor('hello container listed', (s) => !!row(s, 'local', 'hello-', 'running'));
      expect(await runningContainers(e3, { 'dokkup.job.name': 'hello' })).toHaveLength(1);
      await embedded.keys('q');
      await embedded.waitForText('TUI EXITED 0');
      // The embedded agent's history outlives the session.
      expect(readdirSync(join(local, 'state', 'dokkup', 'embedded', 'jobs'))).toContain('hello.json');
    } finally {
      embedded.close();
      await resetEngine(e3);
      rmSync(local, { recursive: true, force: true });
    }
  });
});
