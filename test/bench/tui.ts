/**
 * `npm run bench:tui [-- --nodes 1000,10000 --rtt 50ms --events-per-minute 0.5 --seconds 10
 *   --transport tls|plain]`:
 * the control center over a simulated fleet of 1,000 and 10,000 agents.
 *
 * SIMULATION. The agents are the simulator's (`test/sim`: the real agent HTTP code, job engine and
 * live feeds — WebSocket, key check, hub, summaries — over an in-memory container runtime, one
 * loopback port per node, over TLS with one certificate the inventory pins), in their own
 * processes (`test/sim/fleet.ts`: 2,500 nodes a process),
 * with an injected round trip (50 ms ± 10 % by default: two for a WebSocket upgrade, one for each
 * frame the client sends) and ambient container events (a restart — `die`, then `start` — every
 * two minutes per node on average: 83 events a second at 10,000 nodes; Docker-like stats, one
 * reading a second per container). Every node runs the job `web` (2 containers).
 *
 * The TUI is the real app (`runTui`: store, reducer, controllers, feed sessions, blessed view),
 * run in this process with a real terminal stream: blessed writes its escape sequences to a
 * 160×48 "terminal" whose bytes are counted, and keys are typed into its input as a terminal
 * would send them. In process rather than the built CLI under tmux, because what is measured is
 * the time from a key's bytes to the frame that shows it (tmux's capture is 10–50 ms coarse and
 * cannot tell which frame showed what), and the TUI's own memory and CPU: the simulator runs in
 * other processes, so this process is the TUI plus this file's bookkeeping.
 *
 * Figures per fleet size:
 * - time to the first complete screen: every node's status known (none still connecting) and the
 *   header's counts equal to the fleet; then the time until every node's summary (containers,
 *   usage) is in;
 * - connections per second (nodes online / time to all online) and the most attempts in flight;
 * - peak RSS; CPU idle (the first screen: nodes, jobs, the first containers with live stats) and
 *   with the job's stats from every node on screen (jobs table, Stats tab);
 * - key press to frame, p50 / p95 (moving the selection while the feeds run), and per character
 *   typed into a filter over every node;
 * - stats subscriptions open before, at the end of, and after scrolling the containers end to end
 *   and back;
 * - reconnecting after a blip that cuts every feed socket at once.
 * Printed, never asserted. Goals: first screen < 3 s (1,000) / < 20 s (10,000); RSS < 300 MB /
 * < 1 GB; idle CPU < 5 %; key press p95 < 50 ms.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { loadInventoryFile } from '../../src/config/index.js';
import { runTui, type TuiHandle } from '../../tui/app.js';
import type { TuiState } from '../../tui/store/state.js';
import { startFleet } from '../sim/fleet.js';

const WIDTH = 160;
const HEIGHT = 48;

class Terminal extends Writable {
  bytes = 0;
  isTTY = true;
  columns = WIDTH;
  rows = HEIGHT;
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.bytes += chunk.length;
    done();
  }
}

/**
 * With DOKKUP_BENCH_PROFILE=idle (or start-up), a CPU profile of that phase (where its CPU goes), written to
 * the temporary directory; open it in Chrome's DevTools or read it with a script. With
 * DOKKUP_BENCH_HEAP=1, a heap snapshot just before the idle phase.
 */
async function startProfile(phase: string): Promise<{ stop(file: string): Promise<void> } | null> {
  if (process.env.DOKKUP_BENCH_PROFILE !== phase) return null;
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(file) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
      console.log(`  CPU profile: ${file}`);
    },
  };
}

/** CPU ticks (user + system) per thread name of this process, from /proc (Linux; empty elsewhere). */
function threadTimes(): Map<string, number> {
  const times = new Map<string, number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      times.set(name, (times.get(name) ?? 0) + ticks);
    }
  } catch {
    // not Linux: no breakdown
  }
  return times;
}

/** `main 9.1 %, V8 workers 3.2 %, …` between two readings `wallMs` apart (100 ticks a second). */
function threadShares(before: Map<string, number>, after: Map<string, number>, wallMs: number): string {
  return [...after]
    .map(([name, ticks]) => [name, ((ticks - (before.get(name) ?? 0)) * 10 * 100) / wallMs] as const)
    .filter(([, percent]) => percent >= 0.1)
    .sort((a, b) => b[1] - a[1])
    .map(([name, percent]) => `${name} ${percent.toFixed(1)} %`)
    .join(', ');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const ms = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(1)} ms`);
const mb = (bytes: number) => `${Math.round(bytes / 1e6)} MB`;

interface Run {
  nodes: number;
  firstPaint: number;
  complete: number;
  summaries: number;
  allOnline: number;
  peakConnecting: number;
  peakRss: number;
  idleCpu: number;
  liveCpu: number;
  liveBatchesPerSecond: number;
  keys: number[];
  filterKeys: number[];
  subs: { before: number; end: number; back: number; peak: number };
  reconnect: { dropped: number; seconds: number; peakInFlight: number };
  framesPerSecondIdle: number;
}

async function measure(
  nodes: number,
  rtt: string,
  eventsPerMinute: number,
  seconds: number,
  plainHttp: boolean,
): Promise<Run> {
  const dir = path.join(tmpdir(), `dokkup-bench-tui-${process.pid}-${nodes}`);
  const tSim = performance.now();
  const fleet = await startFleet({ nodes, dir, rtt, eventsPerMinute, plainHttp });
  console.log(
    `  simulator: ${nodes} nodes in ${Math.ceil(nodes / 2500)} process(es), ready in ${ms(performance.now() - tSim)}`,
  );
  const inventory = await loadInventoryFile(fleet.inventory, { ...process.env, ...fleet.env });

  const input = new PassThrough();
  const output = new Terminal();
  let state: TuiState | null = null;
  let handle: TuiHandle | null = null;
  const frameWaiters: { test(s: TuiState): boolean; resolve(at: number): void }[] = [];
  let firstPaint = 0;
  let complete = 0;
  let summaries = 0;
  let frames = 0;
  let peakRss = process.memoryUsage().rss;
  // The peak per phase (start-up, idle, keys, the job's stats, scrolling, the blip), with the JS
  // heap's size at that moment: which phase makes the peak, and whether it is the heap.
  let phase = 'start-up';
  const phasePeaks = new Map<string, { rss: number; heapTotal: number; heapUsed: number }>();
  const rssTimer = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    const p = phasePeaks.get(phase);
    if (!p || m.rss > p.rss)
      phasePeaks.set(phase, { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed });
  }, 100);

  const startupProfile = await startProfile('start-up');
  const t0 = performance.now();
  const running = runTui({
    inventory,
    inventoryName: 'inventory.yaml',
    inventoryPath: fleet.inventory,
    embedded: false,
    jobFiles: [fleet.job],
    cwd: dir,
    color: true,
    input,
    output,
    onStart: (h) => {
      handle = h;
    },
    onFrame: (s) => {
      const at = performance.now();
      frames++;
      state = s;
      if (!firstPaint) firstPaint = at - t0;
      if (!complete || !summaries) {
        let known = 0;
        let online = 0;
        let listed = 0;
        for (const name of s.nodeOrder) {
          const n = s.nodes[name]!;
          if (n.conn !== 'connecting' && n.conn !== 'reconnecting') known++;
          if (n.conn === 'online') online++;
          if (n.jobsAt !== null) listed++;
        }
        if (!complete && known === nodes && online === nodes) complete = at - t0;
        if (!summaries && listed === nodes) summaries = at - t0;
      }
      for (const w of [...frameWaiters]) {
        if (w.test(s)) {
          frameWaiters.splice(frameWaiters.indexOf(w), 1);
          w.resolve(at);
        }
      }
    },
  });
  const frameWhere = (test: (s: TuiState) => boolean, timeoutMs = 60_000) =>
    new Promise<number>((resolve) => {
      if (state && test(state)) return resolve(performance.now());
      const waiter = { test, resolve };
      frameWaiters.push(waiter);
      setTimeout(() => {
        const i = frameWaiters.indexOf(waiter);
        if (i >= 0) {
          frameWaiters.splice(i, 1);
          resolve(Number.NaN);
        }
      }, timeoutMs);
    });
  /** Types a key; resolves with the time until a frame showed what `test` expects. */
  const press = async (key: string, test: (s: TuiState) => boolean, timeoutMs = 2_000) => {
    const start = performance.now();
    const shown = frameWhere(test, timeoutMs);
    input.write(key);
    return (await shown) - start;
  };
  const h = () => handle as unknown as TuiHandle;

  const allOnline = () => frameWhere((s) => s.nodeOrder.every((n) => s.nodes[n]!.conn === 'online'), 180_000);
  const onlineAt = (await allOnline()) - t0;
  await frameWhere((s) => s.nodeOrder.every((n) => s.nodes[n]!.jobsAt !== null), 180_000);
  const peakConnecting = h().feeds.scheduler?.stats.peakInFlight ?? 0;
  await startupProfile?.stop(path.join(tmpdir(), `dokkup-bench-tui-start-up-${nodes}.cpuprofile`));
  console.log(
    `  first paint ${ms(firstPaint)}, complete ${ms(complete)}, every summary in ${ms(summaries)}, all online ${ms(onlineAt)}`,
  );

  // Idle: the first screen, nobody typing.
  phase = 'idle';
  await sleep(5_000);
  const mem = process.memoryUsage();
  console.log(
    `  memory after start-up: RSS ${mb(mem.rss)}, JS heap ${mb(mem.heapUsed)} of ${mb(mem.heapTotal)}, external ${mb(mem.external)} (buffers ${mb(mem.arrayBuffers)})`,
  );
  if (process.env.DOKKUP_BENCH_HEAP === '1') {
    const { writeHeapSnapshot } = await import('node:v8');
    console.log(
      `  heap snapshot: ${writeHeapSnapshot(path.join(tmpdir(), `dokkup-bench-tui-${nodes}.heapsnapshot`))}`,
    );
  }
  const framesBefore = frames;
  const profile = await startProfile('idle');
  const threads0 = threadTimes();
  let cpu0 = process.cpuUsage();
  let w0 = performance.now();
  await sleep(seconds * 1000);
  let c = process.cpuUsage(cpu0);
  await profile?.stop(path.join(tmpdir(), `dokkup-bench-tui-idle-${nodes}.cpuprofile`));
  const idleWall = performance.now() - w0;
  const idleCpu = ((c.user + c.system) / 1000 / idleWall) * 100;
  console.log(
    `  idle CPU by thread: ${threadShares(threads0, threadTimes(), idleWall)} (user ${((c.user / 1000 / idleWall) * 100).toFixed(1)} %, system ${((c.system / 1000 / idleWall) * 100).toFixed(1)} %)`,
  );
  const framesPerSecondIdle = ((frames - framesBefore) * 1000) / idleWall;
  console.log(
    `  idle: ${idleCpu.toFixed(1)} % CPU, ${framesPerSecondIdle.toFixed(1)} frames/s, stats subscriptions ${h().feeds.open.stats}`,
  );

  // Keys while the feeds run: move the selection in the nodes table.
  phase = 'keys';
  const keys: number[] = [];
  for (let i = 0; i < 40; i++) {
    const before = (state as TuiState | null)?.tables.nodes.selected ?? null;
    const key = i % 2 === 0 ? 'j' : 'k';
    keys.push(await press(key, (s) => s.tables.nodes.selected !== before));
    await sleep(100 + Math.random() * 100);
  }

  // A filter over every node, typed a character at a time.
  const filterKeys: number[] = [];
  await press('/', (s) => s.modal?.kind === 'prompt');
  const name = inventory.nodes[Math.floor(nodes * 0.73)]!.name;
  let typed = '';
  for (const ch of name) {
    typed += ch;
    const want = typed;
    filterKeys.push(await press(ch, (s) => s.tables.nodes.filter === want));
    await sleep(80);
  }
  const matched = await frameWhere((s) => s.tables.nodes.filter === name);
  void matched;
  await press('\r', (s) => s.modal === null);
  await press('\x1b', (s) => s.tables.nodes.filter === '');
  await sleep(300);

  // The job's stats from every node on screen: the jobs table, the Stats tab.
  phase = 'stats';
  await press('2', (s) => s.focus === 'jobs');
  await press(']', (s) => s.detail.tab === 'logs');
  await press(']', (s) => s.detail.tab === 'stats');
  await sleep(5_000);
  const statsSubs = h().feeds.open.stats;
  let batches = 0;
  const unsubscribe = h().store.subscribe((_s, _p, action) => {
    if (action.type === 'feedBatch') for (const f of action.facts) if (f.type === 'statsBatch') batches++;
  });
  cpu0 = process.cpuUsage();
  w0 = performance.now();
  // Keys while every node streams the job's stats: the help, opened and closed (what is
  // subscribed stays the same).
  for (let i = 0; i < 20; i++) {
    await sleep(seconds * 25 + Math.random() * 100);
    keys.push(await press('?', (s) => (s.modal?.kind === 'help') === (i % 2 === 0)));
  }
  await sleep(Math.max(0, seconds * 1000 - (performance.now() - w0)));
  c = process.cpuUsage(cpu0);
  const liveWall = performance.now() - w0;
  unsubscribe();
  const liveCpu = ((c.user + c.system) / 1000 / liveWall) * 100;
  const liveBatchesPerSecond = (batches * 1000) / liveWall;
  console.log(
    `  job stats on screen: ${liveCpu.toFixed(1)} % CPU, ${statsSubs} stats subscriptions, ${liveBatchesPerSecond.toFixed(0)} batches/s`,
  );
  await press('[', (s) => s.detail.tab === 'logs');
  await press('[', (s) => s.detail.tab === 'info');

  // Scrolling the containers end to end and back.
  phase = 'scroll';
  await press('3', (s) => s.focus === 'containers');
  await sleep(1_000);
  const subsBefore = h().feeds.open.stats;
  let peak = subsBefore;
  const track = h().store.subscribe(() => {
    peak = Math.max(peak, h().feeds.open.stats);
  });
  for (let i = 0; i < 30; i++) {
    await press('\x1b[6~', () => true);
    await sleep(20);
  }
  await press('G', (s) => s.tables.containers.selected !== null);
  await sleep(1_000);
  const subsEnd = h().feeds.open.stats;
  for (let i = 0; i < 30; i++) {
    await press('\x1b[5~', () => true);
    await sleep(20);
  }
  await press('g', () => true);
  await sleep(1_000);
  const subsBack = h().feeds.open.stats;
  track();
  console.log(`  stats subscriptions: ${subsBefore} → end ${subsEnd} → back ${subsBack} (peak ${peak})`);

  // A blip: every feed socket cut at once.
  phase = 'blip';
  await press('1', (s) => s.focus === 'nodes');
  const startedBefore = h().feeds.scheduler?.stats.started ?? 0;
  const peakBefore = h().feeds.scheduler?.stats.peakInFlight ?? 0;
  const tDrop = performance.now();
  const dropped = await fleet.dropFeeds();
  await frameWhere((s) => s.nodeOrder.some((n) => s.nodes[n]!.conn !== 'online'), 10_000);
  const back = (await allOnline()) - tDrop;
  const reconnect = {
    dropped,
    seconds: back / 1000,
    peakInFlight: Math.max(peakBefore, h().feeds.scheduler?.stats.peakInFlight ?? 0),
  };
  console.log(
    `  blip: ${dropped} sockets cut, all online again after ${ms(back)} (${(h().feeds.scheduler?.stats.started ?? 0) - startedBefore} attempts, at most ${reconnect.peakInFlight} at once)`,
  );

  input.write('q');
  await running;
  clearInterval(rssTimer);
  console.log(
    `  peak RSS by phase: ${[...phasePeaks]
      .map(([name, p]) => `${name} ${mb(p.rss)} (JS heap ${mb(p.heapUsed)} of ${mb(p.heapTotal)})`)
      .join(', ')}`,
  );
  await fleet.close();
  return {
    nodes,
    firstPaint,
    complete,
    summaries,
    allOnline: onlineAt,
    peakConnecting,
    peakRss,
    idleCpu,
    liveCpu,
    liveBatchesPerSecond,
    keys,
    filterKeys,
    subs: { before: subsBefore, end: subsEnd, back: subsBack, peak },
    reconnect,
    framesPerSecondIdle,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '1000,10000' },
      rtt: { type: 'string', default: '50ms' },
      'events-per-minute': { type: 'string', default: '0.5' },
      seconds: { type: 'string', default: '10' },
      /** `plain`: the agents serve plain HTTP/WS (`--insecure-http`), for comparison. */
      transport: { type: 'string', default: 'tls' },
    },
  });
  if (values.transport !== 'tls' && values.transport !== 'plain')
    throw new Error(`--transport is tls or plain, got ${values.transport}`);
  const plainHttp = values.transport === 'plain';
  process.env['TERM'] = 'xterm-256color';
  const sizes = values.nodes.split(',').map(Number);
  const seconds = Number(values.seconds);
  const eventsPerMinute = Number(values['events-per-minute']);
  console.log(
    `dokkup TUI at fleet scale (SIMULATION: simulated agents over real WebSockets${plainHttp ? ' (plain HTTP)' : ' over TLS, pinned'}, ${values.rtt} round trip, ${eventsPerMinute} container events per node per minute, real TUI in this process on a ${WIDTH}×${HEIGHT} terminal stream)`,
  );
  console.log(
    `node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );
  const runs: Run[] = [];
  for (const n of sizes) {
    console.log(`${n} nodes:`);
    runs.push(await measure(n, values.rtt, eventsPerMinute, seconds, plainHttp));
    console.log('');
  }
  console.log('| | '.concat(runs.map((r) => `${r.nodes.toLocaleString('en')} nodes`).join(' | '), ' |'));
  console.log(`|---|${runs.map(() => '---').join('|')}|`);
  const row = (label: string, f: (r: Run) => string) =>
    console.log(`| ${label} | ${runs.map(f).join(' | ')} |`);
  row('first complete screen (every status known)', (r) => ms(r.complete));
  row('every node’s summary in', (r) => ms(r.summaries));
  row(
    'connections per second',
    (r) => `${Math.round((r.nodes * 1000) / r.allOnline)} (≤ ${r.peakConnecting} at once)`,
  );
  row('peak RSS', (r) => mb(r.peakRss));
  row('idle CPU', (r) => `${r.idleCpu.toFixed(1)} % (${r.framesPerSecondIdle.toFixed(1)} frames/s)`);
  row(
    'CPU, the job’s stats from every node on screen',
    (r) => `${r.liveCpu.toFixed(1)} % (${r.liveBatchesPerSecond.toFixed(0)} batches/s)`,
  );
  row('key press → frame, p50 / p95', (r) => `${ms(percentile(r.keys, 50))} / ${ms(percentile(r.keys, 95))}`);
  row(
    'filter keystroke → frame, p50 / p95',
    (r) => `${ms(percentile(r.filterKeys, 50))} / ${ms(percentile(r.filterKeys, 95))}`,
  );
  row(
    'stats subscriptions: before → end → back',
    (r) => `${r.subs.before} → ${r.subs.end} → ${r.subs.back} (peak ${r.subs.peak})`,
  );
  row(
    'all back after a blip',
    (r) => `${r.reconnect.seconds.toFixed(1)} s (≤ ${r.reconnect.peakInFlight} at once)`,
  );
  console.log(
    `\nGoals: first screen < 3 s (1,000) and < 20 s (10,000); RSS < 300 MB / < 1 GB; idle CPU < 5 %; key press p95 < 50 ms. Load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  process.exit(0);
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
