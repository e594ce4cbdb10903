/**
 * `npm run bench:tui:frames`: how fast the TUI draws a big fleet, frame by frame, and what it costs
 * while idle (the fleet-scale figures, against simulated agents, are `npm run bench:tui`).
 *
 * SIMULATION: 50 nodes × 40 containers (2,000 rows) fed through the real store, reducer,
 * selectors and blessed view, rendering into a real blessed screen whose output is a dummy
 * 160×48 terminal stream (the bytes are counted, not shown). The "feed" is synthetic actions of
 * the shapes the feed and refresh controllers dispatch: stats batches per node every 2 s and container
 * events. No agent, network or Docker is involved: this measures the TUI alone.
 *
 * Figures:
 * - frame time (reducer work excluded, then included) for the main screen, moving the selection,
 *   a filter, the logs tab with a full buffer, and a narrow 80×24 terminal;
 * - CPU of the process over ~10 s idle (clock tick + render loop, nothing arriving), and over
 *   ~10 s with the simulated stats feed running.
 * Goals: < 30 ms per frame, < 5 % of one core when idle.
 */
import { cpus, loadavg } from 'node:os';
import { PassThrough, Writable } from 'node:stream';
import type { ContainerStats } from '../../src/protocol/feeds.js';
import { RenderLoop } from '../../tui/controllers/render-loop.js';
import type { Action } from '../../tui/store/actions.js';
import { resolveKey } from '../../tui/store/keymap.js';
import { initialState } from '../../tui/store/state.js';
import { Store } from '../../tui/store/store.js';
import { TuiView } from '../../tui/views/screen.js';
import { agentInfo, container, jobStatus, logLine } from '../sim/agent-values.js';

const NODES = 50;
const JOBS_PER_NODE = 4;
const CONTAINERS_PER_JOB = 10;
const STATS_INTERVAL_MS = 2_000;
const IDLE_SECONDS = Number(process.env['BENCH_TUI_IDLE_SECONDS'] ?? 10);

class DummyTerminal extends Writable {
  bytes = 0;
  isTTY = true;
  constructor(
    public columns: number,
    public rows: number,
  ) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.bytes += chunk.length;
    done();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summary(samples: number[]): { p50: number; p95: number; max: number; mean: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    max: sorted.at(-1)!,
    mean: samples.reduce((s, x) => s + x, 0) / samples.length,
  };
}

const fmt = (ms: number) => `${ms.toFixed(2)} ms`;

function fleet(now: number, width: number, height: number): Store {
  const names = Array.from({ length: NODES }, (_, i) => `node-${String(i + 1).padStart(2, '0')}`);
  const store = new Store(
    initialState(
      names.map((name, i) => ({ name, location: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}:8080` })),
      { inventoryName: 'inventory.yaml', inventoryPath: 'inventory.yaml', color: true },
      now,
      { width, height },
    ),
  );
  names.forEach((name, n) => {
    const jobs = Array.from({ length: JOBS_PER_NODE }, (_, j) => {
      const job = `svc${j}`;
      return jobStatus(
        job,
        Array.from({ length: CONTAINERS_PER_JOB }, (_, c) =>
          container(job, n * 1000 + c, {
            // Young containers: their uptime (seconds) changes every second, as on a fresh fleet.
            createdAt: Math.floor(now / 1000) - 30 * (c + 1),
            id: `${name}-${job}-${c}`.padEnd(64, '0'),
            version: j === 3 && n % 5 === 0 ? 'bbbbbbb' : 'aaaaaaa',
          }),
        ),
      );
    });
    store.dispatch({
      type: 'nodeProbed',
      node: name,
      info: agentInfo({ hostname: name }),
      latencyMs: 2 + (n % 7),
      jobs,
      at: now,
    });
    // Every 17th node stops answering (its last job list stays, greyed).
    if (n % 17 === 16)
      store.dispatch({ type: 'nodeProbeFailed', node: name, at: now, failure: 'offline', error: 'timeout' });
  });
  return store;
}

/** One stats batch per online node, like the feed controller dispatches every 2 s. */
function statsRound(store: Store, at: number, seed: number): Action[] {
  const actions: Action[] = [];
  for (const name of store.state.nodeOrder) {
    if (store.state.nodes[name]!.conn !== 'online') continue;
    const containers: ContainerStats[] = [];
    for (const job of Object.values(store.state.nodes[name]!.jobs)) {
      for (const c of job.containers) {
        const x: number = Math.sin(seed + c.id.length + containers.length) * 0.5 + 0.5;
        // The shape the wire carries (what the feed session parses), built directly.
        containers.push({
          containerId: c.id,
          containerName: c.name,
          job: c.job,
          version: c.version,
          cpuPercent: 100 * x * x,
          memoryUsage: 20e6 + 80e6 * x,
          memoryLimit: 512e6,
          memoryPercent: (100 * (20e6 + 80e6 * x)) / 512e6,
          networkRx: seed * 1000,
          networkTx: seed * 500,
          blockRead: 0,
          blockWrite: 0,
          pids: 4,
          readAt: at,
        });
      }
    }
    actions.push({ type: 'statsBatch', node: name, at, containers });
  }
  return actions;
}

function press(store: Store, key: string): void {
  const resolved = resolveKey(store.state, key);
  if (resolved)
    store.dispatch({
      type: 'command',
      command: resolved.command,
      ...(resolved.char ? { char: resolved.char } : {}),
    });
}

interface Scenario {
  name: string;
  setup?(store: Store): void;
  /** What happens between two frames. */
  step(store: Store, i: number, at: number): void;
}

function measureFrames(scenario: Scenario, width: number, height: number, frames = 60) {
  const t0 = Date.now();
  const out = new DummyTerminal(width, height);
  const input = new PassThrough();
  const store = fleet(t0, width, height);
  const view = new TuiView({ color: true, output: out, input, terminal: 'xterm-256color' });
  // Warm up: seven stats rounds give every sparkline history, and the JIT a chance.
  for (let r = 0; r < 7; r++)
    for (const a of statsRound(store, t0 + r * STATS_INTERVAL_MS, r)) store.dispatch(a);
  scenario.setup?.(store);
  view.render(store.state);
  for (let i = 0; i < 10; i++) {
    scenario.step(store, i, t0 + (7 + i) * STATS_INTERVAL_MS);
    view.render(store.state);
  }
  const renderOnly: number[] = [];
  const withUpdate: number[] = [];
  const bytes: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < frames; i++) {
    const at = t0 + (20 + i) * STATS_INTERVAL_MS;
    const before = out.bytes;
    const c0 = process.cpuUsage();
    const u0 = performance.now();
    scenario.step(store, i, at);
    const r0 = performance.now();
    view.render(store.state);
    const r1 = performance.now();
    const c1 = process.cpuUsage(c0);
    renderOnly.push(r1 - r0);
    withUpdate.push(r1 - u0);
    cpu.push((c1.user + c1.system) / 1000);
    bytes.push(out.bytes - before);
  }
  const rows = Object.values(store.state.nodes).reduce(
    (s, n) => s + Object.values(n.jobs).reduce((t, j) => t + j.containers.length, 0),
    0,
  );
  view.destroy();
  return {
    rows,
    render: summary(renderOnly),
    total: summary(withUpdate),
    cpu: summary(cpu),
    bytes: summary(bytes),
  };
}

async function measureCpu(width: number, height: number, feed: boolean, seconds: number) {
  const t0 = Date.now();
  const out = new DummyTerminal(width, height);
  const input = new PassThrough();
  const store = fleet(t0, width, height);
  const view = new TuiView({ color: true, output: out, input, terminal: 'xterm-256color' });
  for (let r = 0; r < 7; r++)
    for (const a of statsRound(store, t0 + r * STATS_INTERVAL_MS, r)) store.dispatch(a);
  const loop = new RenderLoop(store, view);
  loop.frame();
  // What app.ts runs: the clock once a second.
  const clock = setInterval(() => store.dispatch({ type: 'tick', now: Date.now() }), 1000);
  // The simulated feed: each node's batch arrives on its own, spread over the interval.
  const timers: NodeJS.Timeout[] = [];
  if (feed) {
    store.state.nodeOrder.forEach((_name, n) => {
      const offset = (n * STATS_INTERVAL_MS) / NODES;
      timers.push(
        setTimeout(() => {
          let round = 7;
          const send = () => {
            const all = statsRound(store, Date.now(), round++);
            const mine = all[n % all.length];
            if (mine) store.dispatch(mine);
          };
          send();
          timers.push(setInterval(send, STATS_INTERVAL_MS));
        }, offset),
      );
    });
  }
  await new Promise((r) => setTimeout(r, 1000));
  const framesBefore = view.frames;
  const bytesBefore = out.bytes;
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - w0;
  const frames = view.frames - framesBefore;
  const bytes = out.bytes - bytesBefore;
  for (const t of timers) clearTimeout(t);
  clearInterval(clock);
  loop.stop();
  view.destroy();
  return {
    percent: ((cpu.user + cpu.system) / 1000 / wall) * 100,
    frames,
    fps: frames / (wall / 1000),
    bytes,
  };
}

async function main(): Promise<void> {
  console.log(
    `dokkup TUI benchmark (SIMULATION: ${NODES} nodes × ${JOBS_PER_NODE * CONTAINERS_PER_JOB} containers, synthetic feed, dummy terminal)`,
  );
  console.log(
    `node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );

  const scenarios: (Scenario & { width: number; height: number })[] = [
    {
      name: 'main screen, a stats batch from every node per frame',
      width: 160,
      height: 48,
      step: (store, i, at) => {
        for (const a of statsRound(store, at, i)) store.dispatch(a);
        store.dispatch({ type: 'tick', now: at });
      },
    },
    {
      name: 'moving the selection through the containers (j)',
      width: 160,
      height: 48,
      setup: (store) => press(store, '3'),
      step: (store) => press(store, 'j'),
    },
    {
      name: 'typing a filter over 2,000 rows (/svc[12] then !)',
      width: 160,
      height: 48,
      setup: (store) => {
        press(store, '3');
        press(store, '/');
      },
      step: (store, i) => {
        const text = 'svc[12]';
        if (i % (text.length + 1) === text.length) {
          for (let k = 0; k < text.length; k++) press(store, 'backspace');
        } else press(store, text[i % (text.length + 1)]!);
      },
    },
    {
      name: 'logs tab, 5,000-line buffer, 50 new lines per frame, search on',
      width: 160,
      height: 48,
      setup: (store) => {
        press(store, '3');
        press(store, 'l');
        press(store, '/');
        for (const ch of 'ERROR') press(store, ch);
        press(store, 'enter');
      },
      step: (store, i) => {
        const target = store.state.logs.target!;
        const lines = Array.from({ length: i === 0 ? 5000 : 50 }, (_, k) =>
          logLine(
            'node-01',
            'svc0-1',
            `${k % 20 === 0 ? 'ERROR' : 'info'} request ${i}-${k} served in ${k % 97} ms from upstream pool`,
            { at: 1_700_000_000_000 + i * 1000 + k },
          ),
        );
        store.dispatch({ type: 'logLines', target, lines });
      },
    },
    {
      name: 'small terminal 80×24, stats batch per frame',
      width: 80,
      height: 24,
      step: (store, i, at) => {
        for (const a of statsRound(store, at, i)) store.dispatch(a);
      },
    },
  ];

  let worst = 0;
  let worstCpu = 0;
  for (const s of scenarios) {
    const r = measureFrames(s, s.width, s.height);
    worst = Math.max(worst, r.total.p95);
    worstCpu = Math.max(worstCpu, r.cpu.p95);
    console.log(`${s.name} (${s.width}×${s.height}, ${r.rows} rows)`);
    console.log(
      `  render only:   p50 ${fmt(r.render.p50)}  p95 ${fmt(r.render.p95)}  max ${fmt(r.render.max)}  mean ${fmt(r.render.mean)}`,
    );
    console.log(
      `  update+render: p50 ${fmt(r.total.p50)}  p95 ${fmt(r.total.p95)}  max ${fmt(r.total.max)}  mean ${fmt(r.total.mean)}`,
    );
    console.log(
      `  CPU time of this process (update+render): p50 ${fmt(r.cpu.p50)}  p95 ${fmt(r.cpu.p95)}  mean ${fmt(r.cpu.mean)}`,
    );
    console.log(
      `  bytes to the terminal per frame: p50 ${Math.round(r.bytes.p50)}  max ${Math.round(r.bytes.max)}`,
    );
  }

  console.log(`\nCPU over ${IDLE_SECONDS} s (one process: store + view + render loop + 1 s clock)`);
  const idle = await measureCpu(160, 48, false, IDLE_SECONDS);
  console.log(
    `  idle (nothing arriving):            ${idle.percent.toFixed(2)} % of one core, ${idle.frames} frames (${idle.fps.toFixed(1)}/s), ${idle.bytes} bytes`,
  );
  const live = await measureCpu(160, 48, true, IDLE_SECONDS);
  console.log(
    `  live stats, 50 nodes every 2 s:     ${live.percent.toFixed(2)} % of one core, ${live.frames} frames (${live.fps.toFixed(1)}/s), ${live.bytes} bytes`,
  );

  console.log('\nGoals: frame < 30 ms, idle < 5 % of a core');
  console.log(
    `  worst p95 frame, wall time (update+render): ${fmt(worst)} — ${worst < 30 ? 'met' : 'NOT met'}`,
  );
  console.log(
    `  worst p95 frame, CPU time of this process:  ${fmt(worstCpu)} — ${worstCpu < 30 ? 'met' : 'NOT met'}`,
  );
  console.log(
    `  (load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} on ${cpus().length} cores)`,
  );
  console.log(`  idle CPU: ${idle.percent.toFixed(2)} % — ${idle.percent < 5 ? 'met' : 'NOT met'}`);
  // blessed keeps handles on its streams; the measurements are done.
  process.exit(0);
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
