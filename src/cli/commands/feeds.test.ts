/**
 * `dokkup logs`, `dokkup top` and `dokkup events`: their pure parts (time parsing, line
 * prefixes and colours, the stats table, exit codes), and the commands run in-process against
 * two loopback feeds servers with in-memory runtimes (one-shot forms only; following and
 * Ctrl-C go through the built binary against real Docker in test/e2e/feeds.test.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyVerifier } from '../../../agent/auth/verifier.js';
import { attachFeeds, type FeedsHandle } from '../../../agent/feeds/attach.js';
import { MemoryFeedRuntime, memoryLogLine } from '../../../agent/feeds/memory-runtime.fixture.js';
import { silentLogger } from '../../../agent/logger.js';
import { createSelfSignedCertificate, fingerprintOf } from '../../../agent/tls/certificate.js';
import type { NodeLogLine } from '../../client/feeds/merge.js';
import { type ContainerStats, TopJobJsonSchema } from '../../protocol/feeds.js';
import type { InventoryNode } from '../../protocol/inventory.js';
import { plainStyle } from '../io.js';
import { runCli } from '../main.js';
import { formatEventLine } from './events.js';
import { LogPrinter, logsExitCode, parseSince, selectNodes, tailFlag } from './logs.js';
import { renderTop, topExitCode } from './top.js';

describe('parseSince', () => {
  const now = Date.UTC(2026, 4, 1, 12, 0, 0);
  it('takes durations, RFC 3339 times and Unix seconds', () => {
    expect(parseSince('10m', now)).toBe((now - 600_000) / 1000);
    expect(parseSince('1h30m', now)).toBe((now - 5_400_000) / 1000);
    expect(parseSince('2026-05-01T10:00:00Z', now)).toBe(Date.UTC(2026, 4, 1, 10) / 1000);
    expect(parseSince('1714557600', now)).toBe(1714557600);
    expect(parseSince('1714557600.5', now)).toBe(1714557600.5);
  });
  it('refuses anything else with a usage error', () => {
    expect(() => parseSince('yesterday', now)).toThrow(/--since must be a duration/);
    expect(() => parseSince('2026-13-45T99:00:00Z', now)).toThrow(/not a valid time/);
  });
});

describe('flags', () => {
  it('--tail is a whole number from 0', () => {
    expect(tailFlag(undefined)).toBeUndefined();
    expect(tailFlag(0)).toBe(0);
    expect(() => tailFlag(-1)).toThrow(/--tail/);
    expect(() => tailFlag(1.5)).toThrow(/--tail/);
  });
  it('--node must be one of the job nodes', () => {
    const nodes = [{ name: 'lab1' }, { name: 'lab2' }] as InventoryNode[];
    expect(selectNodes(nodes, 'lab2').map((n) => n.name)).toEqual(['lab2']);
    expect(selectNodes(nodes, undefined)).toHaveLength(2);
    expect(() => selectNodes(nodes, 'lab9')).toThrow(/not one of the job's nodes \(lab1, lab2\)/);
  });
});

describe('LogPrinter', () => {
  const line = (node: string, containerId: string, text: string): NodeLogLine => ({
    node,
    containerId,
    containerName: 'x',
    stream: 'stdout',
    ts: '2026-05-01T10:00:00.123456789Z',
    at: 0,
    text,
  });

  it('prefixes node/first-12-of-id, aligned, without colour when off', () => {
    let out = '';
    const printer = new LogPrinter({ write: (s: string) => (out += s) }, false, false);
    printer.write([line('lab1', 'aaaaaaaaaaaa1111', 'hello'), line('lab22', 'bbbbbbbbbbbb2222', 'world')]);
    expect(out).toBe('lab1/aaaaaaaaaaaa | hello\nlab22/bbbbbbbbbbbb | world\n');
    expect(out).not.toContain('\x1b[');
  });

  it('gives each replica its own colour and shows timestamps on request', () => {
    let out = '';
    const printer = new LogPrinter({ write: (s: string) => (out += s) }, true, true);
    printer.write([
      line('n', 'aaaaaaaaaaaa', 'one'),
      line('n', 'bbbbbbbbbbbb', 'two'),
      line('n', 'aaaaaaaaaaaa', 'three'),
    ]);
    const [first, second, third] = out.trimEnd().split('\n');
    const colour = (s: string | undefined) => /^\x1b\[(\d+)m/.exec(s ?? '')?.[1];
    expect(colour(first)).toBeDefined();
    expect(colour(first)).not.toBe(colour(second));
    expect(colour(third)).toBe(colour(first));
    expect(first).toContain('2026-05-01T10:00:00.123456789Z one');
  });
});

describe('top table and exit codes', () => {
  const stats = (id: string, name: string, cpu: number): ContainerStats => ({
    containerId: `${id}${'0'.repeat(20)}`,
    containerName: name,
    job: 'web',
    version: null,
    cpuPercent: cpu,
    memoryUsage: 2 * 1024 * 1024,
    memoryLimit: 1024 * 1024 * 1024,
    memoryPercent: 0.1953125,
    networkRx: 1500,
    networkTx: 250,
    blockRead: 0,
    blockWrite: 0,
    pids: 2,
    readAt: 0,
  });
  const node = (name: string) => ({ name, location: `${name}:8080`, baseUrl: '', key: '' });

  it('renders one row per container across nodes, then the nodes it could not ask', () => {
    const lines = renderTop(
      [
        {
          node: node('lab1'),
          status: 'online',
          error: null,
          latencyMs: 1,
          containers: [stats('aaaa', 'web-1', 99.5)],
        },
        { node: node('lab2'), status: 'online', error: null, latencyMs: 1, containers: [] },
        {
          node: node('lab3'),
          status: 'offline',
          error: { code: 'offline', message: 'ECONNREFUSED' },
          latencyMs: null,
          containers: null,
        },
      ],
      plainStyle,
    );
    expect(lines).toEqual([
      'NODE     CONTAINER ID     NAME      CPU %     MEM USAGE / LIMIT     MEM %     NET I/O          BLOCK I/O     PIDS',
      'lab1     aaaa00000000     web-1     99.5%     2MiB / 1GiB           0.2%      1.5kB / 250B     0B / 0B       2',
      '',
      'lab3: OFFLINE (ECONNREFUSED)',
      'No running containers of the job on: lab2',
    ]);
  });

  it('exit codes: failure, then unreachable, then ok', () => {
    const r = (status: 'online' | 'offline' | 'error' | 'unauthorized') => ({
      node: node('x'),
      status,
      error: null,
      latencyMs: null,
      containers: null,
    });
    expect(topExitCode([r('online')])).toBe(0);
    expect(topExitCode([r('online'), r('unauthorized')])).toBe(3);
    expect(topExitCode([r('offline'), r('error')])).toBe(1);
    expect(logsExitCode([{ node: 'a', status: 'ended' }])).toBe(0);
    expect(
      logsExitCode([
        { node: 'a', status: 'ended' },
        { node: 'b', status: 'offline', message: 'x' },
      ]),
    ).toBe(3);
  });

  it('event lines: time, node, job, kind, what happened', () => {
    expect(
      formatEventLine(
        'lab1',
        {
          type: 'container',
          action: 'die',
          containerId: '3f2a9c1e4b5d6e7f',
          containerName: 'web-1',
          job: 'web',
          version: null,
          image: null,
          exitCode: 3,
          at: Date.UTC(2026, 4, 1, 10, 0, 0, 123),
        },
        plainStyle,
      ),
    ).toBe('2026-05-01T10:00:00.123Z  lab1  web  container  die web-1 (3f2a9c1e4b5d): exit code 3');
  });
});

// ---------------------------------------------------------------------------------------------
// In-process against two feeds servers

const KEY = 'k'.repeat(43);
let dir: string;
/** The certificate both feeds servers present (TLS, as agents serve by default); the inventory pins it. */
let fingerprint: string;
const agents: { server: Server; feeds: FeedsHandle; runtime: MemoryFeedRuntime; port: number }[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'dokkup-feeds-cli-'));
  const certificate = await createSelfSignedCertificate(['127.0.0.1']);
  fingerprint = fingerprintOf(certificate.cert);
  for (let i = 0; i < 2; i++) {
    const runtime = new MemoryFeedRuntime();
    const server = createHttpsServer(certificate, (_req, res) => {
      res.statusCode = 404;
      res.end();
    });
    const feeds = attachFeeds(server as unknown as import('node:http').Server, {
      verifier: KeyVerifier.forKey(KEY),
      runtime,
      logger: silentLogger(),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    agents.push({ server, feeds, runtime, port: (server.address() as { port: number }).port });
  }
  // Interleaved in time across the two nodes and two containers on lab1.
  const base = Date.UTC(2026, 4, 1, 10);
  const [lab1, lab2] = agents.map((a) => a.runtime) as [MemoryFeedRuntime, MemoryFeedRuntime];
  lab1.addContainer({ id: 'a1'.repeat(32), job: 'web', name: 'web-a1' });
  lab1.addContainer({ id: 'a2'.repeat(32), job: 'web', name: 'web-a2' });
  lab2.addContainer({ id: 'b1'.repeat(32), job: 'web', name: 'web-b1' });
  lab2.addContainer({ id: 'zz'.repeat(32), job: 'other', name: 'other-1' });
  for (let i = 0; i < 12; i++) {
    const runtime = i % 3 === 2 ? lab2 : lab1;
    const id = i % 3 === 0 ? 'a1'.repeat(32) : i % 3 === 1 ? 'a2'.repeat(32) : 'b1'.repeat(32);
    runtime.writeLog(id, memoryLogLine(`line ${i}`, i % 2 ? 'stderr' : 'stdout', base + i * 10));
  }
  lab2.writeLog('zz'.repeat(32), memoryLogLine('not this job', 'stdout', base + 5));
  const dead = createServer();
  await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', () => resolve()));
  const deadPort = (dead.address() as { port: number }).port;
  await new Promise<void>((resolve) => dead.close(() => resolve()));
  writeFileSync(
    path.join(dir, 'inventory.yaml'),
    `nodes:
  - name: lab1
    location: 127.0.0.1:${agents[0]?.port}
    key: ${KEY}
    fingerprint: ${fingerprint}
  - name: lab2
    location: 127.0.0.1:${agents[1]?.port}
    key: ${KEY}
    fingerprint: ${fingerprint}
  - name: down
    location: 127.0.0.1:${deadPort}
    key: ${KEY}
    fingerprint: ${fingerprint}
  - name: wrongkey
    location: 127.0.0.1:${agents[1]?.port}
    key: ${'w'.repeat(43)}
    fingerprint: ${fingerprint}
groups:
  - name: good
    nodes: [lab1, lab2]
  - name: all
    nodes: [lab1, lab2, down]
  - name: refused
    nodes: [wrongkey]
`,
  );
  const job = (name: string, group: string) =>
    `name: ${name}\ngroup: ${group}\ncount: 1\ncontainer:\n  - image: img:1\n`;
  writeFileSync(path.join(dir, 'web.yaml'), job('web', 'good'));
  writeFileSync(path.join(dir, 'web-all.yaml'), job('web', 'all'));
  writeFileSync(path.join(dir, 'web-refused.yaml'), job('web', 'refused'));
});

afterAll(async () => {
  for (const a of agents) {
    await a.feeds.close();
    a.server.closeAllConnections();
    await new Promise<void>((resolve) => a.server.close(() => resolve()));
  }
  rmSync(dir, { recursive: true, force: true });
});

async function cli(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    io: {
      stdout: { write: (s: string) => (stdout += s), isTTY: false },
      stderr: { write: (s: string) => (stderr += s), isTTY: false },
      stdin: new PassThrough(),
      env,
      cwd: dir,
    },
    handleSignals: false,
  });
  return { code, stdout, stderr };
}

describe('dokkup logs job (in-process)', () => {
  it('merges every replica of both nodes in time order with node/container prefixes', async () => {
    const ran = await cli(['logs', 'job', 'web.yaml']);
    expect(ran.stderr).toBe('');
    expect(ran.code).toBe(0);
    const lines = ran.stdout.trimEnd().split('\n');
    expect(lines.map((l) => l.split(' | ')[1])).toEqual(Array.from({ length: 12 }, (_, i) => `line ${i}`));
    expect(lines[0]).toBe(`lab1/${'a1'.repeat(6)} | line 0`);
    expect(lines[2]).toBe(`lab2/${'b1'.repeat(6)} | line 2`);
    expect(ran.stdout).not.toContain('not this job');
  });

  it('--tail applies per container; --node limits to one node', async () => {
    const tail = await cli(['logs', 'job', '--tail', '1', 'web.yaml']);
    expect(
      tail.stdout
        .trimEnd()
        .split('\n')
        .map((l) => l.split(' | ')[1]),
    ).toEqual(['line 9', 'line 10', 'line 11']);
    const one = await cli(['logs', 'job', 'web.yaml', '--node', 'lab2']);
    expect(one.stdout.trimEnd().split('\n')).toEqual(
      [2, 5, 8, 11].map((i) => `lab2/${'b1'.repeat(6)} | line ${i}`),
    );
  });

  it('shows the reachable nodes, warns about the unreachable one, exits 3', async () => {
    const ran = await cli(['logs', 'job', 'web-all.yaml']);
    expect(ran.code).toBe(3);
    expect(ran.stdout.trimEnd().split('\n')).toHaveLength(12);
    expect(ran.stderr).toMatch(/^Warning: down is OFFLINE \(.*ECONNREFUSED.*\); its logs are not shown$/m);
  });

  it('reports a refused key as UNAUTHORIZED, exit 3', async () => {
    const ran = await cli(['logs', 'job', 'web-refused.yaml']);
    expect(ran.code).toBe(3);
    expect(ran.stderr).toContain('wrongkey is UNAUTHORIZED');
  });

  it('bad flags exit 2', async () => {
    expect((await cli(['logs', 'job', 'web.yaml', '--since', 'soon'])).code).toBe(2);
    expect((await cli(['logs', 'job', 'web.yaml', '--node', 'nope'])).code).toBe(2);
    expect((await cli(['logs', 'job', 'web.yaml', '--tail', '-3'])).code).toBe(2);
    expect((await cli(['logs', 'job', 'missing.yaml'])).code).toBe(2);
  });
});

describe('dokkup top job (in-process)', () => {
  it('prints the first complete stats batch of every node as JSON', async () => {
    const [lab1, lab2] = agents.map((a) => a.runtime) as [MemoryFeedRuntime, MemoryFeedRuntime];
    // Feed samples as soon as the agents open their stats streams.
    const feeder = setInterval(() => {
      for (const [runtime, ids] of [
        [lab1, ['a1'.repeat(32), 'a2'.repeat(32)]],
        [lab2, ['b1'.repeat(32), 'zz'.repeat(32)]],
      ] as const) {
        for (const id of ids) {
          const c = runtime.containers.find((x) => x.id === id);
          if (!c) continue;
          runtime.emitStats({
            containerId: id,
            containerName: c.name,
            job: c.job,
            version: null,
            cpuPercent: id.startsWith('a1') ? 150 : 1,
            memoryUsage: 1000,
            memoryLimit: 2000,
            memoryPercent: 50,
            networkRx: 0,
            networkTx: 0,
            blockRead: 0,
            blockWrite: 0,
            pids: 1,
            readAt: Date.now(),
          });
        }
      }
    }, 50);
    try {
      const ran = await cli(['top', 'job', '--json', 'web.yaml']);
      expect(ran.code).toBe(0);
      const doc = TopJobJsonSchema.parse(JSON.parse(ran.stdout));
      expect(doc.nodes.map((n) => [n.node, n.status, n.containers?.map((c) => c.containerName)])).toEqual([
        ['lab1', 'online', ['web-a1', 'web-a2']],
        ['lab2', 'online', ['web-b1']],
      ]);
      expect(doc.nodes[0]?.containers?.[0]?.cpuPercent).toBe(150);
      const table = await cli(['top', 'job', 'web-all.yaml']);
      expect(table.code).toBe(3);
      expect(table.stdout).toMatch(/^NODE {5}CONTAINER ID {5}NAME/);
      expect(table.stdout).toMatch(/^lab1 {5}a1a1a1a1a1a1 {5}web-a1 {5}150% {6}/m);
      expect(table.stdout).toMatch(/down: OFFLINE/);
    } finally {
      clearInterval(feeder);
    }
  });
});

describe('dokkup events (in-process)', () => {
  it('ends with exit 3 when every node refuses the key', async () => {
    const ran = await cli(['events', 'web-refused.yaml']);
    expect(ran.code).toBe(3);
    expect(ran.stderr).toContain('wrongkey is UNAUTHORIZED');
  });
});
