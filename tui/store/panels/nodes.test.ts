import { describe, expect, it } from 'vitest';
import { infoLines } from '../select/detail.js';
import { plainLine, tableView } from '../select/table.js';
import { agentInfo, apply, fleet, probed, T0 } from '../store.fixture.js';
import { nodeRows } from './nodes.js';

describe('nodes panel', () => {
  it('shows versions, latency and container counts; greys offline nodes', () => {
    const rows = nodeRows(fleet());
    expect(rows.map((r) => [r.name, r.conn, r.dockerVersion, r.latency, r.containers, r.dim])).toEqual([
      ['lab1', 'online', '28.2.2', '3.0ms', '2/2', false],
      ['lab2', 'online', '27.0.1', '12ms', '2/2', false],
      ['lab3', 'offline', '-', '-', '-', true],
    ]);
  });
  it('shows a reachable node whose refresh fails (Docker down) as ERROR until a refresh succeeds', () => {
    let s = fleet();
    const status = () => plainLine(tableView(s, 'nodes')!.lines[0]!, tableView(s, 'nodes')!.columns);
    expect(status()).toMatch(/ONLINE/);
    s = apply(s, {
      type: 'nodeProbeFailed',
      node: 'lab1',
      at: T0,
      failure: 'error',
      error: 'Docker engine unreachable: connect ENOENT',
    });
    expect(status()).toMatch(/ERROR/);
    expect(infoLines(s).join('\n')).toMatch(/Docker engine unreachable/);
    s = apply(s, probed('lab1', [], { info: agentInfo() }));
    expect(status()).toMatch(/ONLINE/);
  });
});
