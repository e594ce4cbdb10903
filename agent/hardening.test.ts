/**
 * The agent as its own boundary, over real HTTP on the whole agent that `createAgent` assembles
 * (engines in memory, files real): every spec rule the CLI keeps refused with a 400 naming the
 * field, the job policy with symlinks, sockets and networks resolved on the host, the audit log
 * of what changed, wrong keys that cannot lock out the right one, and a key rotation that closes
 * the sessions opened with the old key.
 */
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type AgentPolicy, DEFAULT_POLICY } from '../src/core/policy.js';
import { testSpec } from '../src/core/spec.fixture.js';
import { routes } from '../src/protocol/api.js';
import { AuditListSchema } from '../src/protocol/audit.js';
import type { JobSpec } from '../src/protocol/job.js';
import { FakeRuntime } from '../test/fakes/container-runtime.js';
import { type Agent, createAgent } from './app.js';
import {
  issueKey,
  KeyVerifier,
  keyFilePath,
  keyIdOf,
  legacyScryptRecord,
  loadOrCreateKey,
  readKeyRecordSync,
  rotateKey,
} from './auth/index.js';
import { MemoryFeedRuntime } from './feeds/memory-runtime.fixture.js';
import { createLogger, silentLogger } from './logger.js';
import { preparePolicy } from './policy/bind-roots.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Started {
  agent: Agent;
  url: string;
  port: number;
  key: string;
  runtime: FakeRuntime;
  dataDir: string;
  logs: Record<string, unknown>[];
}

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function startAgent(
  options: { policy?: AgentPolicy; verifier?: KeyVerifier; key?: string; dataDir?: string } = {},
): Promise<Started> {
  const dataDir = options.dataDir ?? (await tempDir('dokkup-hard-'));
  const key = options.key ?? issueKey();
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'debug',
    format: 'json',
    destination: new Writable({
      write(chunk, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line));
        done();
      },
    }),
  });
  const runtime = new FakeRuntime();
  const agent = createAgent({
    dataDir,
    verifier: options.verifier ?? KeyVerifier.forKey(key, { logger }),
    logger,
    runtimes: { containers: runtime, feeds: new MemoryFeedRuntime() },
    ...(options.policy ? { policy: options.policy } : {}),
  });
  cleanups.push(() => agent.close(1000));
  const { port } = await agent.listen(0, '127.0.0.1');
  return { agent, url: `http://127.0.0.1:${port}`, port, key, runtime, dataDir, logs };
}

const FAST_UPDATE = { healthyDeadlineMs: 5000, minHealthyMs: 0 };
const web = (container: Partial<JobSpec['container']> = {}, job: Partial<JobSpec> = {}): JobSpec =>
  testSpec({ image: 'web:v1', ...container }, { name: 'web', update: FAST_UPDATE, ...job });

async function post(s: Started, path: string, body: unknown, key = s.key) {
  const response = await fetch(`${s.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    text,
    json: () => JSON.parse(text) as { error: { code: string; message: string; path?: string } },
  };
}

/** The `done` line of an NDJSON operation. */
function doneOf(text: string): { ok: boolean; error?: { code: string; path?: string }; message: string } {
  const last = text.trim().split('\n').at(-1)!;
  return (JSON.parse(last) as { result: ReturnType<typeof doneOf> }).result;
}

async function audit(s: Started, query = '') {
  const response = await fetch(`${s.url}${routes.audit}${query}`, {
    headers: { authorization: `Bearer ${s.key}` },
  });
  expect(response.status).toBe(200);
  return AuditListSchema.parse(await response.json()).entries;
}

describe('the agent refuses what the CLI refuses, with a 400 naming the field', () => {
  const cases: [what: string, spec: JobSpec, path: string, message: RegExp][] = [
    [
      'a reserved label',
      web({ labels: { 'dokkup.job.name': 'other' } }),
      'spec.container.labels.dokkup.job.name',
      /reserved for dokkup/,
    ],
    [
      'an empty variable name',
      web({ environment: { '': 'x' } }),
      'spec.container.environment.',
      /must not be empty/,
    ],
    [
      'a blank variable name',
      web({ environment: { '  ': 'x' } }),
      'spec.container.environment.  ',
      /must not be empty/,
    ],
    [
      'a variable name with =',
      web({ environment: { 'A=B': 'x' } }),
      'spec.container.environment.A=B',
      /must not contain "="/,
    ],
    [
      'a variable name with a newline',
      web({ environment: { 'A\nB': 'x' } }),
      'spec.container.environment.A\nB',
      /control characters \(found U\+000A/,
    ],
    [
      'NUL in a variable value',
      web({ environment: { A: 'x\u0000y' } }),
      'spec.container.environment.A',
      /U\+0000/,
    ],
    [
      'a label name with an escape',
      web({ labels: { 'a\u001b[31m': 'x' } }),
      'spec.container.labels.a\u001b[31m',
      /U\+001B/,
    ],
    [
      'an escape in the image',
      web({ image: 'web:v1\u001b]0;pwned\u0007' }),
      'spec.container.image',
      /control characters/,
    ],
    ['a C1 control in the image', web({ image: 'web:v1\u009b2J' }), 'spec.container.image', /U\+009B/],
    ['spaces in the image', web({ image: 'web v1' }), 'spec.container.image', /must not contain spaces/],
    ['an upper-case repository', web({ image: 'Web:v1' }), 'spec.container.image', /lower case/],
    [
      'a path walk as the image',
      web({ image: '../../containers/x' }),
      'spec.container.image',
      /not an image reference/,
    ],
    [
      'an image with a query',
      web({ image: 'web:v1?force=1' }),
      'spec.container.image',
      /not an image reference/,
    ],
    [
      'NUL in a command word',
      web({ command: ['sh', '-c', 'a\u0000b'] }),
      'spec.container.command.2',
      /U\+0000/,
    ],
    [
      'an escape in a network',
      web({ networks: ['front\u001b[2J'] }),
      'spec.container.networks.0',
      /control characters/,
    ],
    [
      'a network that is no name',
      web({ networks: ['a b'] }),
      'spec.container.networks.0',
      /not a network name/,
    ],
    [
      'an unknown volume option',
      web({ volumes: ['data:/data:rw,exec'] }),
      'spec.container.volumes.0',
      /unknown volume option "exec"/,
    ],
    ['four volume parts', web({ volumes: ['a:/b:ro:x'] }), 'spec.container.volumes.0', /SOURCE:TARGET/],
    [
      'a relative container path',
      web({ volumes: ['data:relative'] }),
      'spec.container.volumes.0',
      /must be absolute/,
    ],
    [
      'a relative host path',
      web({ volumes: ['./x:/y'] }),
      'spec.container.volumes.0',
      /host paths must be absolute/,
    ],
    [
      'an escape in a target node',
      web({}, { target: { kind: 'nodes', nodes: ['n1\u001b]0;x\u0007'] } }),
      'spec.target.nodes.0',
      /control characters/,
    ],
    [
      'an update that can never pass',
      web({}, { update: { healthyDeadlineMs: 1000, minHealthyMs: 1000 } }),
      'spec.update.minHealthyMs',
      /shorter than healthyDeadlineMs/,
    ],
    ['a count of 0', web({}, { count: 0 }), 'spec.count', /./],
    ['a count of 1001', web({}, { count: 1001 }), 'spec.count', /./],
    ['port 0', web({ ports: [{ in: 0, protocol: 'tcp', out: null }] }), 'spec.container.ports.0.in', /./],
    [
      'port 65536',
      web({ ports: [{ in: 80, protocol: 'tcp', out: 65536 }] }),
      'spec.container.ports.0.out',
      /./,
    ],
    [
      'a privileged flag',
      { ...web(), container: { ...web().container, privileged: true } } as JobSpec,
      'spec.container.privileged',
      /./,
    ],
    [
      'a device',
      { ...web(), container: { ...web().container, devices: ['/dev/sda'] } } as JobSpec,
      'spec.container.devices',
      /./,
    ],
  ];

  it.each(cases)(
    '%s: in the plan and the deploy alike, creating nothing',
    async (_what, spec, path, message) => {
      const s = await startAgent();
      const plan = await post(s, routes.plan('web'), { operation: 'deploy', spec });
      expect(plan.status).toBe(400);
      expect(plan.json().error).toMatchObject({ code: 'invalid_request', path });
      expect(plan.json().error.message).toMatch(message);
      const deploy = await post(s, routes.deploy('web'), { spec });
      expect(deploy.status).toBe(400);
      expect(deploy.json().error).toMatchObject({ code: 'invalid_request', path });
      expect(s.runtime.counts()).toEqual({ running: 0, total: 0 });
    },
  );
});

describe('the job policy, resolved on the host', () => {
  async function rooted() {
    const base = await tempDir('dokkup-roots-');
    const root = join(base, 'binds');
    await mkdir(join(root, 'app'), { recursive: true });
    await symlink('/etc', join(root, 'etc-link'));
    await symlink(join(root, 'app'), join(root, 'inside-link'));
    await symlink(join(base, 'nowhere', 'x'), join(root, 'dangling'));
    const socketPath = join(root, 'control.sock');
    const socketServer: NetServer = createNetServer();
    await new Promise<void>((resolve) => socketServer.listen(socketPath, resolve));
    cleanups.push(() => new Promise((resolve) => socketServer.close(resolve)));
    const policy = await preparePolicy({ bindRoots: [root], allowHostBinds: false, allowHostNetwork: false });
    return { root, s: await startAgent({ policy }) };
  }

  it('deploys a bind under a bind root, and one through a symlink that stays under it', async () => {
    const { root, s } = await rooted();
    for (const volume of [`${root}/app:/app`, `${root}/inside-link:/app:ro`, `${root}/new/dir:/data`]) {
      const spec = web({ volumes: [volume] });
      expect((await post(s, routes.plan('web'), { operation: 'deploy', spec })).status, volume).toBe(200);
      const deploy = await post(s, routes.deploy('web'), { spec });
      expect(deploy.status).toBe(200);
      expect(doneOf(deploy.text)).toMatchObject({ ok: true });
    }
  });

  it.each([
    [
      'a symlink under the root that leads to /etc',
      (root: string) => `${root}/etc-link/cron.d:/c`,
      /configuration.*resolves to \/etc\/cron\.d/,
    ],
    ['a symlink that points nowhere', (root: string) => `${root}/dangling/sub:/x`, /points nowhere/],
    ['a socket under the root', (root: string) => `${root}/control.sock:/c.sock`, /binds a socket/],
    [
      'a path walking out of the root',
      (root: string) => `${root}/${'../'.repeat(root.split('/').length)}etc:/e`,
      /configuration/,
    ],
    [
      'the Docker socket',
      () => '/var/run/docker.sock:/var/run/docker.sock',
      /runtime sockets|binds a socket/,
    ],
    ['the host root', () => '/:/host', /whole filesystem/],
    ["procfs's view of the host root", () => '/proc/1/root:/host', /processes/],
  ])('refuses %s in the plan and the deploy, creating nothing', async (_what, volume, message) => {
    const { root, s } = await rooted();
    const spec = web({ volumes: ['cache:/cache', volume(root)] });
    for (const [path, body] of [
      [routes.plan('web'), { operation: 'deploy', spec }],
      [routes.deploy('web'), { spec }],
    ] as const) {
      const answer = await post(s, path, body);
      expect(answer.status).toBe(400);
      expect(answer.json().error).toMatchObject({
        code: 'invalid_request',
        path: 'spec.container.volumes.1',
      });
      expect(answer.json().error.message).toMatch(message);
    }
    expect(s.runtime.counts()).toEqual({ running: 0, total: 0 });
  });

  it('refuses the host network, another container namespace and a name Docker resolves to the host network', async () => {
    const s = await startAgent();
    s.runtime.networks.set('5e1f00d', 'host');
    for (const network of ['host', 'container:db', '5e1f00d']) {
      const deploy = await post(s, routes.deploy('web'), { spec: web({ networks: [network] }) });
      expect(deploy.status, network).toBe(400);
      expect(deploy.json().error).toMatchObject({ path: 'spec.container.networks.0' });
      expect(deploy.json().error.message).toContain('--allow-host-network');
    }
    expect(s.runtime.counts().total).toBe(0);
    const allowed = await startAgent({ policy: { ...DEFAULT_POLICY, allowHostNetwork: true } });
    expect(
      doneOf((await post(allowed, routes.deploy('web'), { spec: web({ networks: ['host'] }) })).text).ok,
    ).toBe(true);
  });

  it("never lets a job bind the agent's own data directory, whatever the roots", async () => {
    const dataDir = await tempDir('dokkup-own-');
    const s = await startAgent({ dataDir, policy: { ...DEFAULT_POLICY, bindRoots: ['/tmp', tmpdir()] } });
    const deploy = await post(s, routes.deploy('web'), {
      spec: web({ volumes: [`${dataDir}/jobs:/steal`] }),
    });
    expect(deploy.status).toBe(400);
    expect(deploy.json().error.message).toMatch(/agent's own data/);
  });
});

describe('the audit log', () => {
  it('records a deploy, a scale, a failed update, refusals and a stop, with who, what and how it ended', async () => {
    const s = await startAgent();
    const v1 = web({}, { count: 2 });
    expect(doneOf((await post(s, routes.deploy('web'), { spec: v1 })).text).ok).toBe(true);
    expect(doneOf((await post(s, routes.deploy('web'), { spec: { ...v1, count: 3 } })).text).ok).toBe(true);
    s.runtime.failCreate(1);
    const failed = doneOf(
      (await post(s, routes.deploy('web'), { spec: web({ image: 'web:v2' }, { count: 3 }) })).text,
    );
    expect(failed).toMatchObject({ ok: false, error: { code: 'create_failed' } });
    expect((await post(s, routes.deploy('web'), { spec: web({ volumes: ['/etc:/e'] }) })).status).toBe(400);
    expect(
      (await post(s, routes.plan('web'), { operation: 'deploy', spec: web({ networks: ['host'] }) })).status,
    ).toBe(400);
    expect(doneOf((await post(s, routes.stop('web'), { purge: false })).text).ok).toBe(true);

    const entries = await audit(s);
    const keyId = keyIdOf(s.key);
    expect(entries.map((e) => [e.operation, e.result, e.action])).toEqual([
      ['deploy', 'ok', 'fresh'],
      ['deploy', 'ok', 'scale'],
      ['deploy', 'failed', 'update'],
      ['deploy', 'refused', null],
      ['plan', 'refused', null],
      ['stop', 'ok', 'stop'],
    ]);
    for (const e of entries) {
      expect(e).toMatchObject({ keyId, job: 'web' });
      expect(e.remote).toMatch(/127\.0\.0\.1/);
      expect(Number.isNaN(Date.parse(e.at))).toBe(false);
      expect(e.durationMs).toBeGreaterThanOrEqual(0);
    }
    const [fresh, scale, update, refused, plan, stop] = entries;
    expect(fresh).toMatchObject({ versionFrom: null, countFrom: 0, countTo: 2 });
    expect(scale).toMatchObject({ countFrom: 2, countTo: 3 });
    expect(update).toMatchObject({
      versionFrom: fresh!.versionTo,
      countFrom: 3,
      countTo: 3,
      error: { code: 'create_failed' },
    });
    expect(update!.versionTo).not.toBe(fresh!.versionTo);
    expect(refused!.error).toMatchObject({ code: 'invalid_request', path: 'spec.container.volumes.0' });
    expect(plan!.error).toMatchObject({ path: 'spec.container.networks.0' });
    expect(stop).toMatchObject({ countFrom: 3, countTo: 0 });
    expect(JSON.stringify(entries)).not.toContain(s.key);

    expect((await audit(s, '?limit=2')).map((e) => e.operation)).toEqual(['plan', 'stop']);
    expect(await audit(s, '?since=2000-01-01T00:00:00Z')).toHaveLength(6);
    const unauthenticated = await fetch(`${s.url}${routes.audit}`);
    expect(unauthenticated.status).toBe(401);
    const bad = await fetch(`${s.url}${routes.audit}?since=later`, {
      headers: { authorization: `Bearer ${s.key}` },
    });
    expect(bad.status).toBe(400);
  });

  it('records a job_busy refusal and a rollback, and never an attempt that did not get past the key', async () => {
    const s = await startAgent();
    s.runtime.scriptImage('web:slow', { kind: 'healthy', afterMs: 400 });
    await post(s, routes.deploy('web'), { spec: web() });
    const slow = post(s, routes.deploy('web'), {
      spec: web({
        image: 'web:slow',
        healthcheck: {
          test: ['CMD', 'true'],
          intervalMs: 100,
          timeoutMs: null,
          retries: null,
          startPeriodMs: null,
        },
      }),
    });
    await new Promise((r) => setTimeout(r, 100));
    const busy = await post(s, routes.deploy('web'), { spec: web({ image: 'web:v3' }) });
    expect(busy.status).toBe(200);
    expect(doneOf(busy.text)).toMatchObject({ ok: false, error: { code: 'job_busy' } });
    await slow;
    expect(doneOf((await post(s, routes.rollback('web'), {})).text).ok).toBe(true);
    await post(s, routes.deploy('web'), { spec: web() }, 'wrong-key');
    const entries = await audit(s);
    expect(entries.map((e) => [e.operation, e.result])).toEqual([
      ['deploy', 'ok'],
      ['deploy', 'refused'],
      ['deploy', 'ok'],
      ['rollback', 'ok'],
    ]);
    expect(entries[1]!.error?.code).toBe('job_busy');
  });
});

describe('wrong keys', () => {
  it('120 parallel wrong keys from one address do not keep the right key out', async () => {
    const s = await startAgent();
    const wrong = Array.from({ length: 120 }, () =>
      fetch(`${s.url}${routes.info}`, { headers: { authorization: `Bearer ${issueKey()}` } }).then(
        (r) => r.status,
      ),
    );
    const right = fetch(`${s.url}${routes.info}`, { headers: { authorization: `Bearer ${s.key}` } }).then(
      (r) => r.status,
    );
    const statuses = await Promise.all(wrong);
    expect(await right).toBe(200);
    expect(statuses.every((status) => status === 401 || status === 429)).toBe(true);
    expect(statuses).toContain(429);
    expect(
      (await fetch(`${s.url}${routes.info}`, { headers: { authorization: `Bearer ${s.key}` } })).status,
    ).toBe(200);
  });

  it('a client that aborts mid-body is a debug line, not an error with a stack', async () => {
    const s = await startAgent();
    await new Promise<void>((resolve) => {
      const req = request(`${s.url}${routes.deploy('web')}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${s.key}`,
          'content-type': 'application/json',
          'content-length': '5000',
        },
      });
      req.on('error', () => resolve());
      req.write('{"spec": {"name"');
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 50);
    });
    await new Promise((r) => setTimeout(r, 100));
    const serious = s.logs.filter((l) => (l['level'] as number) >= 50);
    expect(serious).toEqual([]);
    expect(s.logs).toContainEqual(
      expect.objectContaining({
        level: 20,
        msg: expect.stringMatching(/client went away|closed the request/),
      }),
    );
    expect(JSON.stringify(s.logs)).not.toMatch(/"stack"/);
  });
});

describe('a key rotation', () => {
  function openFeeds(port: number, key: string): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${routes.feeds}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
  }

  it('by another writer closes every live session opened with the old key, without waiting for a request', async () => {
    const dataDir = await tempDir('dokkup-rotate-');
    const { verifier, newKey } = await loadOrCreateKey(dataDir);
    verifier.watch();
    cleanups.push(() => verifier.close());
    const s = await startAgent({ dataDir, verifier, key: newKey! });
    const live = await openFeeds(s.port, s.key);
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      live.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    const rotated = await rotateKey(dataDir);
    expect(await closed).toEqual({ code: 1008, reason: 'the API key was rotated' });
    expect(
      (await fetch(`${s.url}${routes.info}`, { headers: { authorization: `Bearer ${s.key}` } })).status,
    ).toBe(401);
    await expect(openFeeds(s.port, s.key)).rejects.toThrow(/401/);
    const fresh = await openFeeds(s.port, rotated.key);
    expect(fresh.readyState).toBe(WebSocket.OPEN);
    fresh.close();
  });

  it('a migration of a 0.3 key record keeps the key, and the sessions opened with it', async () => {
    const dataDir = await tempDir('dokkup-migrate-');
    const key = issueKey();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(
      keyFilePath(dataDir),
      JSON.stringify(legacyScryptRecord(key, { N: 1024, r: 8, p: 1, keyLength: 32 })),
      {
        mode: 0o600,
      },
    );
    const { verifier } = await loadOrCreateKey(dataDir);
    verifier.watch();
    cleanups.push(() => verifier.close());
    const s = await startAgent({ dataDir, verifier, key });
    const live = await openFeeds(s.port, key);
    let closed = false;
    live.once('close', () => {
      closed = true;
    });
    await expect.poll(() => readKeyRecordSync(keyFilePath(dataDir))?.algorithm).toBe('sha256');
    // Give the watcher a few rounds to have noticed the rewritten record.
    await new Promise((r) => setTimeout(r, 600));
    expect(closed).toBe(false);
    expect(
      (await fetch(`${s.url}${routes.info}`, { headers: { authorization: `Bearer ${key}` } })).status,
    ).toBe(200);
    live.close();
  });
});

describe('silentLogger', () => {
  it('is still what the other agent tests use', () => {
    expect(typeof silentLogger().info).toBe('function');
  });
});
