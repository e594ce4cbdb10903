/**
 * `dokkup tui` over a fleet of a few hundred agents, the way an operator uses it: the built
 * binary in a real terminal (tmux, 160×48), keys sent with `send-keys`, the screen read with
 * `capture-pane`. The agents are SIMULATED (test/sim: the real agent HTTP code, job engine and
 * live feeds over real WebSockets on loopback, an in-memory container runtime), in their own
 * processes, over TLS with one certificate that the inventory pins (`fingerprint:`); a few are
 * stopped so that the fleet has offline nodes. No Docker is used.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Terminal } from '../harness/tmux.js';
import { type Fleet, startFleet } from '../sim/fleet.js';

const NODES = 300;
/** Fleet indexes (0-based) of the nodes stopped before the TUI starts. */
const STOPPED = [41, 207];

describe('dokkup tui over 300 simulated agents (tmux)', () => {
  let dir: string;
  let fleet: Fleet;
  let term: Terminal;
  const keys = (...names: string[]) => term.keys(...names);
  const typeText = (text: string) => term.type(text);
  const waitForScreen = (what: string, test: (s: string) => boolean, timeoutMs = 60_000) =>
    term.waitFor(what, test, timeoutMs);
  /** The body rows of the nodes table, top to bottom (the lines with a node name). */
  const nodeLines = (s: string) => s.split('\n').filter((line) => /\bn\d{3}\b/.test(line));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dokkup-tui-fleet-'));
    fleet = await startFleet({ nodes: NODES, dir, rtt: '20ms', perProcess: 150, groupSize: 100 });
    await fleet.stopNodes(STOPPED);
    // A job for one rack only: deploying it targets that group's 100 nodes.
    writeFileSync(
      join(dir, 'api.yaml'),
      'name: api\ngroup: rack-002\ncount: 1\ncontainer:\n  - image: sim/api:1\nupdate:\n  min_healthy_time: 0\n',
    );
    term = new Terminal(dir, ['-i', 'inventory.yaml', 'api.yaml'], fleet.env);
  }, 120_000);

  afterAll(async () => {
    term?.close();
    await fleet?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('comes up with every node’s status known, the offline ones counted', async () => {
    const s = await waitForScreen(
      'every node online or offline',
      (s) => s.includes(`${NODES - STOPPED.length} online`) && s.includes(`${STOPPED.length} offline`),
    );
    expect(s).not.toContain('connecting');
    expect(s).toContain(`Nodes (${NODES})`);
    // Over TLS: every node pinned by the fleet's one certificate, none of them untrusted.
    expect(fleet.fingerprint).toMatch(/^SHA256:[0-9a-f]{64}$/);
    const pins = readFileSync(fleet.inventory, 'utf8').match(/fingerprint: \$\{DOKKUP_SIM_FINGERPRINT\}/g);
    expect(pins).toHaveLength(NODES);
    expect(s).not.toMatch(/untrusted/i);
  });

  it('the filter finds one node by name', async () => {
    const name = fleet.nodes[123]!.name;
    await keys('1', '/');
    await typeText(name);
    await keys('Enter');
    const s = await waitForScreen('one node left', (s) => s.includes(`Nodes (1/${NODES}) /${name}`));
    expect(nodeLines(s).filter((l) => l.includes('ONLINE') || l.includes('OFFLINE'))).toHaveLength(1);
    expect(nodeLines(s).find((l) => l.includes('ONLINE'))).toContain(name);
    await keys('Escape');
    await waitForScreen('the filter cleared', (s) => s.includes(`Nodes (${NODES})`));
  });

  it('sort by status puts the offline nodes first', async () => {
    await keys('1', 'S');
    const s = await waitForScreen('sorted by status', (s) => s.includes('by status'));
    const rows = nodeLines(s).filter((l) => /ONLINE|OFFLINE/.test(l));
    const stopped = STOPPED.map((i) => fleet.nodes[i]!.name);
    expect(rows.slice(0, 2).map((l) => stopped.find((n) => l.includes(n)) ?? l)).toEqual(stopped);
    expect(rows[0]).toContain('OFFLINE');
    expect(rows[1]).toContain('OFFLINE');
    expect(rows[2]).toContain('ONLINE');
  });

  it('a deploy to a group of 100 nodes shows the aggregated rollout board', async () => {
    await keys('d');
    await waitForScreen('the job files offered', (s) => s.includes('api.yaml'));
    await keys('Enter');
    await waitForScreen('the confirmation', (s) => s.includes('rack-002') && s.includes('y confirm'), 60_000);
    await keys('y');
    const board = await waitForScreen('the rollout finished', (s) => /Finished in/.test(s), 120_000);
    expect(board).toContain('100/100 nodes done');
    expect(board).toMatch(/OK\s+100\s+changed/);
    // Counts, not a line per node.
    expect(board.split('\n').filter((l) => /\bn\d{3}\b/.test(l) && l.includes('Update')).length).toBe(0);
  });
});
