/**
 * Nothing an agent or a container sends can drive the operator's terminal. A hostile "agent"
 * (a loopback server answering every route with well-formed JSON full of escape sequences) and
 * a feeds server with an escape-laden log line are asked by the real CLI, in-process; no byte a
 * terminal would act on may reach stdout or stderr, while `--json` keeps the text, escaped.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyVerifier } from '../../agent/auth/verifier.js';
import { attachFeeds, type FeedsHandle } from '../../agent/feeds/attach.js';
import { MemoryFeedRuntime, memoryLogLine } from '../../agent/feeds/memory-runtime.fixture.js';
import { silentLogger } from '../../agent/logger.js';
import { createSelfSignedCertificate, fingerprintOf } from '../../agent/tls/certificate.js';
import type {
  AgentInfo,
  ContainerInfo,
  JobHistory,
  JobStatus,
  OperationResult,
  Plan,
} from '../protocol/api.js';
import type { AuditList } from '../protocol/audit.js';
import { CliJsonSchema } from '../protocol/cli-json.js';
import { runCli } from './main.js';

/** Bytes a terminal acts on: C0 but \n (tabs too: they shift columns), DEL, C1, ESC especially. */
const ACTIVE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/;

const EVIL = {
  title: '\u001b]0;pwned\u0007',
  clear: '\u001b[2J\u001b[H',
  csi8: '\u009b31m',
  cr: '\roverwritten',
  link: '\u001b]8;;http://evil.example\u001b\\click\u001b]8;;\u001b\\',
  bidi: '\u202etxt.exe',
};
const ALL = Object.values(EVIL).join('');
const KEY = 'k'.repeat(43);

const container = (i: number): ContainerInfo => ({
  id: `${i}`.repeat(64).slice(0, 64),
  name: `web-${i}${EVIL.clear}`,
  job: 'web',
  version: 'aaaaaaa',
  image: `web:v1${EVIL.title}`,
  imageId: 'sha256:0',
  state: 'running',
  status: `Up 3s${EVIL.cr}`,
  health: 'none',
  ports: [],
  createdAt: 0,
});

const info: AgentInfo = {
  agentVersion: `0.4.0${EVIL.title}`,
  dockerVersion: `27${EVIL.csi8}`,
  dockerApiVersion: '1.47',
  hostname: `evil${EVIL.clear}`,
  os: `linux${EVIL.bidi}`,
  arch: 'amd64',
  jobs: 1,
  containers: { running: 1, total: 1 },
};

const status: JobStatus = {
  name: 'web',
  version: 'aaaaaaa',
  image: `web:v1${EVIL.link}`,
  desired: 1,
  running: 1,
  total: 1,
  containers: [container(1)],
};

const history: JobHistory = {
  job: 'web',
  current: 'aaaaaaa',
  entries: [
    {
      version: 'aaaaaaa',
      image: `web:v1${ALL}`,
      count: 1,
      deployedAt: '2026-01-01T00:00:00Z',
      current: true,
    },
  ],
};

const plan: Plan = {
  job: 'web',
  operation: 'deploy',
  action: 'update',
  changes: true,
  fresh: false,
  versionFrom: `aaaaaaa${EVIL.cr}`,
  versionTo: 'bbbbbbb',
  running: 1,
  total: 1,
  desired: 1,
  strategy: 'start-first',
  canRollback: true,
  rollbackTo: null,
  diff: {
    image: { from: `web:v1${EVIL.clear}`, to: 'web:v2' },
    environment: { added: [`TOKEN${EVIL.title}`], removed: [], changed: [] },
    labels: { added: [], removed: [], changed: [] },
    other: [`volumes${EVIL.csi8}`],
    imageIdChanged: false,
  },
  warnings: [`image is not here yet${EVIL.link}`],
};

const failed: OperationResult = {
  ok: false,
  action: 'update',
  message: `Update failed${EVIL.clear}`,
  versionFrom: 'aaaaaaa',
  versionTo: 'bbbbbbb',
  running: 1,
  total: 1,
  restored: true,
  error: { code: 'unhealthy', message: `container web-2 unhealthy: ${ALL}` },
};

const audit: AuditList = {
  entries: [
    {
      at: '2026-01-01T00:00:00Z',
      remote: `10.0.0.1${EVIL.title}`,
      keyId: 'a1b2c3d4e5f6',
      operation: 'deploy',
      job: `web${EVIL.clear}`,
      action: 'update',
      versionFrom: 'aaaaaaa',
      versionTo: `bbbbbbb${EVIL.csi8}`,
      countFrom: 1,
      countTo: 1,
      result: 'failed',
      error: { code: 'unhealthy', message: `bad${ALL}` },
      durationMs: 10,
    },
  ],
  truncated: false,
};

/** Another "operator's" lease on job locked, as the hostile agent tells it. */
const lease = {
  operator: `eve${EVIL.title}`,
  host: `desk${EVIL.clear}`,
  command: `run job locked.yaml${EVIL.cr}`,
  acquiredAt: '2026-01-01T00:00:00.000Z',
  renewedAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2026-01-01T00:00:30.000Z',
};

/** What the hostile agent answers for a path: status, body, content type. */
function answerFor(url: string, method: string): [number, unknown, string?] {
  if (url === '/v1/jobs/locked/lease') {
    if (method === 'GET') return [200, { job: 'locked', lease, held: false }];
    const message = `job locked is locked by ${lease.operator}@${lease.host} (${lease.command})`;
    return [409, { error: { code: 'lease_held', message, lease } }];
  }
  if (url === '/v1/info') return [200, info];
  if (url.startsWith('/v1/audit')) return [200, audit];
  if (url === '/v1/jobs/web') return [200, status];
  if (url === '/v1/jobs/web/history') return [200, history];
  if (url === '/v1/jobs/web/plan') return [200, plan];
  if (url === '/v1/jobs/web/deploy') {
    const progress = { type: 'progress', phase: 'pull', message: `Pulling${ALL}` };
    const done = { type: 'done', result: failed };
    return [200, `${JSON.stringify(progress)}\n${JSON.stringify(done)}\n`, 'application/x-ndjson'];
  }
  if (url === '/v1/jobs/web/stop')
    return [409, { error: { code: 'job_busy', message: `job web is busy${ALL}` } }];
  return [404, { error: { code: 'not_found', message: `no such route${EVIL.title}` } }];
}

function hostile(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  const [status, body, type = 'application/json'] = answerFor(req.url ?? '', req.method ?? 'GET');
  res.writeHead(status, { 'Content-Type': type });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

let dir: string;
let agent: Server;
let feedsServer: Server;
let feeds: FeedsHandle;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'dokkup-hostile-'));
  // A node the operator trusts (its certificate pinned) that has been taken over.
  const certificate = await createSelfSignedCertificate(['127.0.0.1']);
  const fingerprint = fingerprintOf(certificate.cert);
  agent = createServer(certificate, hostile);
  await new Promise<void>((resolve) => agent.listen(0, '127.0.0.1', resolve));
  const runtime = new MemoryFeedRuntime();
  runtime.addContainer({ id: 'c1'.repeat(32), job: 'web', name: `web-1${EVIL.clear}` });
  runtime.writeLog(
    'c1'.repeat(32),
    memoryLogLine(
      `\u001b[32mINFO\u001b[0m ready${EVIL.title}${EVIL.clear}${EVIL.cr}`,
      'stdout',
      Date.UTC(2026, 0, 1),
    ),
  );
  feedsServer = createServer(certificate, (_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  feeds = attachFeeds(feedsServer, { verifier: KeyVerifier.forKey(KEY), runtime, logger: silentLogger() });
  await new Promise<void>((resolve) => feedsServer.listen(0, '127.0.0.1', resolve));
  const port = (s: Server) => (s.address() as { port: number }).port;
  writeFileSync(
    path.join(dir, 'inventory.yaml'),
    `nodes:\n  - name: evil\n    location: 127.0.0.1:${port(agent)}\n    fingerprint: ${fingerprint}\n    key: ${KEY}\n  - name: logs\n    location: 127.0.0.1:${port(feedsServer)}\n    fingerprint: ${fingerprint}\n    key: ${KEY}\ngroups:\n  - name: evil\n    nodes: [evil]\n  - name: logs\n    nodes: [logs]\n`,
  );
  writeFileSync(path.join(dir, 'web.yaml'), 'name: web\ngroup: evil\ncontainer:\n  - image: web:v2\n');
  writeFileSync(path.join(dir, 'locked.yaml'), 'name: locked\ngroup: evil\ncontainer:\n  - image: web:v2\n');
  writeFileSync(path.join(dir, 'web-logs.yaml'), 'name: web\ngroup: logs\ncontainer:\n  - image: web:v2\n');
});

afterAll(async () => {
  await feeds.close();
  feedsServer.closeAllConnections();
  agent.closeAllConnections();
  await new Promise<void>((resolve) => feedsServer.close(() => resolve()));
  await new Promise<void>((resolve) => agent.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

async function cli(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    io: {
      stdout: { write: (s: string) => (stdout += s), isTTY: false },
      stderr: { write: (s: string) => (stderr += s), isTTY: false },
      stdin: new PassThrough(),
      env: { NO_COLOR: '1' },
      cwd: dir,
    },
    handleSignals: false,
  });
  return { code, stdout, stderr };
}

describe('a hostile agent cannot drive the terminal', () => {
  it.each([
    [['show', 'nodes']],
    [['show', 'job', 'web.yaml']],
    [['history', 'job', 'web.yaml']],
    [['plan', 'job', 'web.yaml']],
    [['run', 'job', '-y', 'web.yaml']],
    [['stop', 'job', '-y', 'web.yaml']],
    [['audit']],
    [['logs', 'job', 'web-logs.yaml']],
    [['run', 'job', '-y', 'locked.yaml']],
    [['lock', 'status', 'job', 'locked.yaml']],
  ])('dokkup %j shows every escape as visible text', async (argv) => {
    const ran = await cli(argv);
    const output = ran.stdout + ran.stderr;
    expect(output.length).toBeGreaterThan(0);
    expect(output, JSON.stringify(output)).not.toMatch(ACTIVE);
    // The text is still there, shown: the operator sees something odd was sent.
    expect(output).toMatch(/\\x1b\[2J|\\x1b\]0;pwned\\x07|\\x0doverwritten/);
  });

  it('the log line loses its colour codes and shows the rest', async () => {
    const ran = await cli(['logs', 'job', 'web-logs.yaml']);
    expect(ran.stdout).toContain('INFO ready\\x1b]0;pwned\\x07\\x1b[2J\\x1b[H\\x0doverwritten');
  });

  it.each([
    [['show', 'job', '--json', 'web.yaml']],
    [['run', 'job', '-y', '--json', 'web.yaml']],
    [['audit', '--json']],
  ])('dokkup %j carries the text as it is, JSON-escaped', async (argv) => {
    const ran = await cli(argv);
    expect(ran.stdout).not.toMatch(ACTIVE);
    const document = CliJsonSchema.parse(JSON.parse(ran.stdout));
    expect(JSON.stringify(document)).toMatch(/\\u001b\[2J|\\u001b\]0;pwned/);
  });
});
