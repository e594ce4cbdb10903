/**
 * The blessed view drawn into a dummy terminal stream (no real terminal): what reaches the
 * terminal with and without colour, and that every overlay and tab draws.
 */
import { PassThrough, Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { bigFleet, nodeName } from '../store/fleet-scale.fixture.js';
import { initialState, type TuiState } from '../store/state.js';
import { apply, container, containerStats, jobStatus, press, probed, T0 } from '../store/store.fixture.js';
import { TuiView } from './screen.js';

class Terminal extends Writable {
  text = '';
  isTTY = true;
  constructor(
    public columns: number,
    public rows: number,
  ) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

const views: TuiView[] = [];

function view(color: boolean, width = 120, height = 40): { view: TuiView; out: Terminal } {
  const out = new Terminal(width, height);
  const v = new TuiView({ color, output: out, input: new PassThrough(), terminal: 'xterm-256color' });
  views.push(v);
  return { view: v, out };
}

afterEach(() => {
  for (const v of views.splice(0)) v.destroy();
});

function fleet(width = 120, height = 40): TuiState {
  return apply(
    initialState(
      [
        { name: 'lab1', location: '10.0.0.1:8080' },
        { name: 'lab2', location: '10.0.0.2:8080' },
      ],
      { inventoryName: 'inventory.yaml' },
      T0,
      { width, height },
    ),
    probed('lab1', [jobStatus('web', [container('web', 1), container('web', 2)])]),
    // lab2 listed its jobs once, then stopped answering.
    probed('lab2', [jobStatus('web', [container('web', 3)])]),
    { type: 'nodeProbeFailed', node: 'lab2', at: T0, failure: 'offline', error: 'connection refused' },
    {
      type: 'statsBatch',
      node: 'lab1',
      at: T0,
      containers: [
        containerStats(container('web', 1).id, { cpuPercent: 42.5, memoryUsage: 50e6, memoryLimit: 1e9 }),
      ],
    },
  );
}

/** SGR sequences that set a colour (foreground or background, 16, 256 or true colour). */
const COLOUR =
  /\x1b\[(?:[0-9;]*;)?(?:3[0-7]|4[0-7]|9[0-7]|10[0-7]|38;5;\d+|48;5;\d+|38;2;[\d;]+|48;2;[\d;]+)(?:;[0-9;]*)?m/;

describe('TuiView', () => {
  it('draws the tables, with figures from the store', () => {
    const { view: v, out } = view(true);
    expect(v.render(fleet())).toBe(true);
    expect(out.text).toContain('lab1');
    expect(out.text).toContain('42.5%');
    expect(out.text).toContain('OFFLINE');
    // lab2 is offline: how many of its containers run is unknown.
    expect(out.text).toContain('? lab2');
  });

  it('uses no colour at all with color off (NO_COLOR / --no-color), and keeps the selection visible', () => {
    const { view: v, out } = view(false);
    v.render(fleet());
    expect(out.text).not.toMatch(COLOUR);
    // Inverse video (7) marks the selected row without colour.
    expect(out.text).toMatch(/\x1b\[[0-9;]*7[0-9;]*m/);
    expect(out.text).toContain('▶');
  });

  it('uses colour on a colour terminal, offline nodes greyed', () => {
    const { view: v, out } = view(true);
    v.render(fleet());
    expect(out.text).toMatch(COLOUR);
    // Grey is colour 8 (bright black): 90 or 38;5;8, set on lab2's row before its name.
    const at = out.text.indexOf('lab2');
    const rowStart = out.text.lastIndexOf('H', at);
    expect(out.text.slice(rowStart, at)).toMatch(/\x1b\[(?:90|38;5;8)m/);
    const lab1 = out.text.indexOf('lab1');
    expect(out.text.slice(out.text.lastIndexOf('H', lab1), lab1)).not.toMatch(/\x1b\[(?:90|38;5;8)m/);
  });

  it('paints nothing when nothing changed', () => {
    const { view: v, out } = view(true);
    const s = fleet();
    v.render(s);
    const before = out.text.length;
    expect(v.render(apply(s, { type: 'tick', now: T0 + 1 }))).toBe(false);
    expect(out.text.length).toBe(before);
  });

  it('over a fleet, paints nothing for a change to a node off screen, and paints one on screen', () => {
    const { view: v } = view(false, 160, 48);
    let s = bigFleet(2_000);
    expect(v.render(s)).toBe(true);
    // Far below the visible rows: a new round trip (the node's row is rebuilt, nothing on screen
    // shows it).
    s = apply(s, { type: 'feedRtt', node: nodeName(1_900), rttMs: 77 });
    expect(v.render(s)).toBe(false);
    // The first node's round trip is in the table's RTT column.
    s = apply(s, { type: 'feedRtt', node: nodeName(1), rttMs: 77 });
    expect(v.render(s)).toBe(true);
  });

  it('draws every detail tab, the Stats graphs included, and every overlay', () => {
    for (const color of [true, false]) {
      const { view: v, out } = view(color);
      let s = press(fleet(), '3');
      for (const tab of ['logs', 'stats', 'events', 'info']) {
        while (s.detail.tab !== tab) s = press(s, ']');
        v.render(s);
      }
      s = press(s, '?');
      v.render(s);
      expect(out.text).toContain('Help');
      s = press(s, 'escape', ':');
      v.render(s);
      s = press(s, 'escape');
      v.render(s);
      expect(out.text).toContain('Stats');
    }
  });

  it('fits an 80×24 terminal', () => {
    const { view: v, out } = view(true, 80, 24);
    v.render(fleet(80, 24));
    expect(out.text).toContain('lab1');
    expect(out.text).toContain('jobs ok');
  });
});
