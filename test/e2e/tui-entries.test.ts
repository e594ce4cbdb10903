/**
 * `dokkup tui` with a job of two entries, end to end: the built binary in tmux (160×48) against a
 * real agent on a harness engine (TLS, the certificate pinned). The jobs panel names the entries
 * (ENTRY column, per-entry counts in Info) and the containers panel says which entry each
 * container runs; what the screen claims is checked against the engine.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { AgentClient } from '../../src/client/index.js';
import { parseJobText } from '../../src/config/index.js';
import { type AgentProcess, startAgentProcess } from '../harness/agent-process.js';
import { describeDocker, resetEngine, runningContainers } from '../harness/context.js';
import { docker } from '../harness/docker-cli.js';
import { Terminal } from '../harness/tmux.js';

const h = inject('dokkupHarness');

describeDocker('dokkup tui with a job of two entries (tmux, real agent, real Docker)', () => {
  const engine = h.engines[0]!;
  const images = h.images!;
  let dir: string;
  let agent: AgentProcess;
  let term: Terminal;

  const screen = () => term.screen();
  const keys = (...list: string[]) => term.keys(...list);
  const until = (what: string, test: (s: string) => boolean, timeoutMs = 30_000) =>
    term.waitFor(what, test, timeoutMs);
  const rows = (s: string, pattern: RegExp) => s.split('\n').filter((line) => pattern.test(line));

  beforeAll(async () => {
    await resetEngine(engine);
    agent = await startAgentProcess({ dockerHost: engine.dockerHost });
    dir = mkdtempSync(join(tmpdir(), 'dokkup-tui-entries-'));
    writeFileSync(
      join(dir, 'inventory.yaml'),
      `nodes:\n  - name: lab1\n    location: 127.0.0.1:${agent.port}\n    key: ${agent.key}\n    fingerprint: ${agent.fingerprint}\n`,
    );
    // Two replicas of web (httpd) and side (a loop): deployed before the TUI starts.
    const shop = parseJobText(
      `name: shop
node: lab1
count: 2
update:
  healthy_deadline: 30s
  min_healthy_time: 1s
container:
  - name: web
    image: "${images.webV1}"
    networks: [shopnet]
  - name: side
    image: "${images.webV1}"
    init: true
    command: ["sh", "-c", "while true; do sleep 1; done"]
    networks: [shopnet]
`,
      'shop.yaml',
    );
    const client = new AgentClient(agent.inventoryNode('lab1'));
    const result = await client.deploy(shop, () => {});
    client.close();
    expect(result).toMatchObject({ ok: true, running: 4 });
    term = new Terminal(dir, ['-i', 'inventory.yaml'], {});
  });

  afterAll(async () => {
    term?.close();
    await agent?.stop();
    await docker(engine.dockerHost, ['network', 'rm', 'shopnet'], { allowFail: true });
    await resetEngine(engine);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the jobs panel lists the entries and sums them; the containers panel has an ENTRY column', async () => {
    const s = await until(
      'shop with its entries, and four containers',
      (text) =>
        // Half the screen's width: the ENTRY cell is cut (`web,…`); Info lists the entries whole.
        /shop\s+web,\S*\s+4\/4/.test(text) &&
        rows(text, /lab1\s+shop-(web|side)-\S*\s+(web|side)\s+running/).length === 4,
    );
    expect(s).toMatch(/JOB\s+ENTRY\s+RUN\/DES/);
    expect(s).toMatch(/NODE\s+NAME\s+ENTRY\s+STATE/);
    // Each container's ENTRY cell is the entry its name says, and the engine agrees.
    const shown = rows(s, /lab1\s+shop-(web|side)-/).map((line) => {
      const [, nameEntry, entry] = /shop-(web|side)-\S*\s+(\S+)/.exec(line)!;
      expect(entry).toBe(nameEntry);
      return entry;
    });
    expect(shown.sort()).toEqual(['side', 'side', 'web', 'web']);
    const labels = (await runningContainers(engine, { 'dokkup.job.name': 'shop' })).map(
      (c) => c.labels['dokkup.job.entry'],
    );
    expect(labels.sort()).toEqual(['side', 'side', 'web', 'web']);
  });

  it("the job's Info tab shows each entry's image and running/desired", async () => {
    await keys('2', '/');
    await term.type('^shop\\b');
    await keys('Enter');
    await until('shop selected', (text) => /\[2\] Jobs \((1\/)?\d+\) \/\^shop/.test(text));
    // The Info tab of the detail pane: cycle the tabs until it shows the entries.
    let s = screen();
    for (let i = 0; i < 4 && !/Entry\s+side/.test(s); i++) {
      await keys(']');
      s = screen();
    }
    s = await until(
      'the entries in Info',
      (text) => /Entry\s+web\s+/.test(text) && /Entry\s+side\s+/.test(text),
    );
    // `Entry  web  <image, cut to fit>  2/2`: both replicas of each entry run.
    const prefix = images.webV1.slice(0, 12);
    for (const entry of ['web', 'side']) {
      const line = rows(s, new RegExp(`Entry\\s+${entry}\\s`));
      expect(line, entry).toHaveLength(1);
      expect(line[0]).toContain(prefix);
      expect(line[0]).toMatch(/\s2\/2\s*(│|$)/);
    }
  });
});
