/**
 * The whole HTTP surface of the agent, over real loopback HTTP, with a fake JobService (the
 * engine itself is tested against real Docker elsewhere).
 */
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DokkupError, JobBusyError, NotFoundError } from '../../src/core/errors.js';
import { testSpec } from '../../src/core/spec.fixture.js';
import {
  type AgentInfo,
  ErrorBodySchema,
  MAX_BODY_BYTES,
  type OperationLine,
  OperationLineSchema,
  type OperationResult,
  type Plan,
  type PlanRequest,
  routes,
} from '../../src/protocol/api.js';
import type { JobSpec } from '../../src/protocol/job.js';
import { issueKey, KeyVerifier } from '../auth/index.js';
import type { JobService, OperationOptions, ProgressSink } from '../jobs/service.js';
import { type AgentServer, createAgentServer } from './server.js';

const KEY = issueKey();

function spec(name = 'web'): JobSpec {
  return testSpec(
    { image: 'busybox:1', ports: [{ in: 80, protocol: 'tcp', out: null }] },
    { name, count: 2, target: { kind: 'group', group: 'all' } },
  );
}

const INFO: AgentInfo = {
  agentVersion: '9.9.9',
  dockerVersion: '26.1.5',
  dockerApiVersion: '1.45',
  hostname: 'node-1',
  os: 'linux',
  arch: 'x64',
  jobs: 1,
  containers: { running: 2, total: 3 },
};

function result(overrides: Partial<OperationResult> = {}): OperationResult {
  return {
    ok: true,
    action: 'fresh',
    message: 'Deployment successful',
    versionFrom: null,
    versionTo: 'abcdef1',
    running: 2,
    total: 2,
    ...overrides,
  };
}

function plan(job: string, request: PlanRequest): Plan {
  return {
    job,
    operation: request.operation,
    action: 'fresh',
    changes: true,
    fresh: true,
    versionFrom: null,
    versionTo: 'abcdef1',
    running: 0,
    total: 0,
    desired: 2,
    strategy: null,
    canRollback: false,
    rollbackTo: null,
    diff: null,
    warnings: [],
  };
}

/** A JobService whose every method a test can replace; calls are recorded. */
class FakeService implements JobService {
  calls: Array<{ method: string; args: unknown[] }> = [];
  info = async (): Promise<AgentInfo> => this.record('info', [], INFO);
  listJobs = async () => this.record('listJobs', [], { jobs: [] });
  listContainers = async () => this.record('listContainers', [], { containers: [] });
  status = async (job: string) =>
    this.record('status', [job], {
      name: job,
      version: 'abcdef1',
      image: 'busybox:1',
      desired: 2,
      running: 2,
      total: 2,
      containers: [],
    });
  history = async (job: string) => this.record('history', [job], { job, current: null, entries: [] });
  plan = async (job: string, request: PlanRequest) => this.record('plan', [job, request], plan(job, request));
  deploy = async (spec: JobSpec, progress: ProgressSink, options?: OperationOptions) => {
    progress({ type: 'progress', phase: 'pull', message: 'Pulling busybox:1' });
    progress({
      type: 'progress',
      phase: 'create',
      message: 'Creating container (1/2)',
      current: 1,
      total: 2,
    });
    progress({ type: 'progress', phase: 'start', message: 'Starting container (2/2)', current: 2, total: 2 });
    // The credentials only: the hooks (`onPlan`) are the audit log's.
    const auth = options?.registryAuth;
    return this.record('deploy', auth ? [spec, { registryAuth: auth }] : [spec], result());
  };
  rollback = async (
    job: string,
    to: string | undefined,
    _progress: ProgressSink,
    options?: OperationOptions,
  ) =>
    this.record(
      'rollback',
      options?.registryAuth ? [job, to, { registryAuth: options.registryAuth }] : [job, to],
      result({ action: 'rollback', message: 'Rollback successful' }),
    );
  stop = async (job: string, purge: boolean, _progress: ProgressSink) =>
    this.record(
      'stop',
      [job, purge],
      result({ action: purge ? 'purge' : 'stop', message: 'Job stopped successfully' }),
    );
  promote = async (job: string, version: string) =>
    this.record('promote', [job, version], { job, version, promoted: true });

  private record<T>(method: string, args: unknown[], value: T): T {
    this.calls.push({ method, args });
    return value;
  }
}

let service: FakeService;
let server: AgentServer;
let baseUrl: string;
let logLines: string[];

beforeEach(async () => {
  service = new FakeService();
  logLines = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  server = createAgentServer({
    service,
    verifier: KeyVerifier.forKey(KEY),
    logger: pino({ level: 'debug' }, sink),
    agentVersion: '9.9.9',
    streamHeaderDelayMs: 50,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

interface CallOptions {
  method?: string;
  body?: unknown;
  rawBody?: string;
  key?: string | null;
  headers?: Record<string, string>;
}

async function call(path: string, options: CallOptions = {}) {
  const headers: Record<string, string> = { ...options.headers };
  const key = options.key === undefined ? KEY : options.key;
  if (key !== null) headers['authorization'] = `Bearer ${key}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(`${baseUrl}${path}`, { method: options.method ?? 'GET', headers, body });
  const text = await response.text();
  const isJson = response.headers.get('content-type')?.startsWith('application/json') ?? false;
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: isJson ? JSON.parse(text) : undefined,
  };
}

function expectError(response: { json: unknown; text: string }, code: string) {
  const body = ErrorBodySchema.parse(response.json);
  expect(body.error.code).toBe(code);
  expect(response.text).not.toMatch(/\n\s+at /);
  return body.error;
}

function ndjsonLines(text: string): OperationLine[] {
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => OperationLineSchema.parse(JSON.parse(line)));
}

describe('health probe', () => {
  it('answers without a key and reveals nothing but ok', async () => {
    const response = await call(routes.health, { key: null });
    expect(response.status).toBe(200);
    expect(response.text).toBe('{"ok":true}');
    expect(response.headers.get('x-dokkup-agent-version')).toBeNull();
    expect(service.calls).toEqual([]);
  });

  it('answers the same with a wrong key, and 405 for other methods', async () => {
    expect((await call(routes.health, { key: 'wrong' })).text).toBe('{"ok":true}');
    const post = await call(routes.health, { method: 'POST', key: null });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('authentication', () => {
  it('refuses every route without a key, before routing (unknown routes too)', async () => {
    for (const [method, path] of [
      ['GET', routes.info],
      ['GET', routes.jobs],
      ['GET', routes.containers],
      ['GET', routes.job('web')],
      ['GET', routes.history('web')],
      ['POST', routes.plan('web')],
      ['POST', routes.deploy('web')],
      ['POST', routes.rollback('web')],
      ['POST', routes.stop('web')],
      ['GET', '/v1/does-not-exist'],
      ['DELETE', routes.info],
    ] as const) {
      const response = await call(path, { method, key: null });
      expect(response.status, `${method} ${path}`).toBe(401);
      expect(expectError(response, 'unauthorized').message).toMatch(/Authorization: Bearer/);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect(service.calls).toEqual([]);
  });

  it('refuses a wrong key and a wrong scheme', async () => {
    const wrong = await call(routes.info, { key: issueKey() });
    expect(wrong.status).toBe(401);
    expect(expectError(wrong, 'unauthorized').message).toBe('wrong API key');
    const basic = await call(routes.info, { key: null, headers: { authorization: `Basic ${KEY}` } });
    expect(basic.status).toBe(401);
    expect(service.calls).toEqual([]);
  });

  it('answers with the right key', async () => {
    const response = await call(routes.info);
    expect(response.status).toBe(200);
    expect(response.json).toEqual(INFO);
    expect(response.headers.get('x-dokkup-agent-version')).toBe('9.9.9');
  });

  it('answers 429 with Retry-After after 10 wrong keys from one address, yet serves the right key from it', async () => {
    for (let i = 0; i < 10; i++) expect((await call(routes.info, { key: `wrong-${i}` })).status).toBe(401);
    const throttled = await call(routes.info, { key: 'wrong-again' });
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    expectError(throttled, 'unauthorized');
    expect(service.calls).toEqual([]);
    // Behind a TLS proxy every operator shares one address: the right key is never locked out.
    expect((await call(routes.info)).status).toBe(200);
  });

  it('never writes the key to the log', async () => {
    await call(routes.info);
    await call(routes.info, { key: `${KEY}x` });
    await call(routes.deploy('web'), { method: 'POST', body: { spec: spec() } });
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('\n')).not.toContain(KEY);
  });
});

describe('routing', () => {
  it('serves each read route from the service', async () => {
    expect((await call(routes.jobs)).json).toEqual({ jobs: [] });
    expect((await call(routes.job('web'))).json).toMatchObject({ name: 'web', running: 2 });
    expect((await call(routes.history('web'))).json).toEqual({ job: 'web', current: null, entries: [] });
    expect((await call(routes.containers)).json).toEqual({ containers: [] });
    expect(service.calls.map((c) => [c.method, ...c.args])).toEqual([
      ['listJobs'],
      ['status', 'web'],
      ['history', 'web'],
      ['listContainers'],
    ]);
  });

  it('answers 404 for unknown routes and 405 with Allow for a wrong method', async () => {
    const missing = await call('/v1/nope');
    expect(missing.status).toBe(404);
    expectError(missing, 'not_found');
    expect((await call('/v1/jobs/web/extra/segment')).status).toBe(404);
    expect((await call('/')).status).toBe(404);

    const wrongMethod = await call(routes.deploy('web'));
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expectError(wrongMethod, 'invalid_request');
    expect((await call(routes.info, { method: 'POST', body: {} })).status).toBe(405);
  });

  it('rejects job names outside the pattern with 400 naming the field', async () => {
    for (const bad of ['.hidden', '-x', 'a b', 'x'.repeat(64), '..%2fetc']) {
      const response = await call(`/v1/jobs/${bad}`);
      expect(response.status, bad).toBe(400);
      expect(expectError(response, 'invalid_request').path).toBe('name');
    }
    // fetch would normalise these away; a raw client can send them as they are.
    for (const bad of ['..', '%2e%2e', '..%2F..%2Fetc%2Fpasswd']) {
      const response = await rawRequest({
        method: 'GET',
        path: `/v1/jobs/${bad}/history`,
        headers: {},
        body: '',
      });
      expect(response.status, bad).toBe(400);
      expect(JSON.parse(response.text).error.path).toBe('name');
    }
    const badEncoding = await call('/v1/jobs/%E0%A4%A');
    expect(badEncoding.status).toBe(400);
    expect(service.calls).toEqual([]);
  });

  it('ignores the query string when routing', async () => {
    expect((await call(`${routes.info}?verbose=1`)).status).toBe(200);
  });
});

describe('request bodies', () => {
  it('gives 400 with the path of the first bad field of a spec', async () => {
    const bad = spec();
    (bad.container[0]!.ports[0] as unknown as Record<string, unknown>)['in'] = '80';
    const response = await call(routes.deploy('web'), { method: 'POST', body: { spec: bad } });
    expect(response.status).toBe(400);
    const error = expectError(response, 'invalid_request');
    expect(error.path).toBe('spec.container.0.ports.0.in');
    expect(error.message).toMatch(/^spec\.container\.0\.ports\.0\.in: .*number/);
    expect(service.calls).toEqual([]);
  });

  it('refuses a job with several containers whose names are missing or repeated, naming the entry', async () => {
    const two = spec();
    two.container = [
      { ...two.container[0]!, name: 'web' },
      { ...two.container[0]!, image: 'side:1' },
    ];
    for (const route of [routes.deploy('web'), routes.plan('web')]) {
      const body = route.endsWith('plan') ? { operation: 'deploy', spec: two } : { spec: two };
      const missing = await call(route, { method: 'POST', body });
      expect(expectError(missing, 'invalid_request')).toMatchObject({
        path: 'spec.container.1.name',
        message: /is required when a job has more than one container/,
      });
    }
    two.container[1]!.name = 'web';
    const repeated = await call(routes.deploy('web'), { method: 'POST', body: { spec: two } });
    expect(expectError(repeated, 'invalid_request')).toMatchObject({
      path: 'spec.container.1.name',
      message: /"web" is already the name of container\[0\]/,
    });
    expect(service.calls).toEqual([]);
  });

  it('names an unknown key and a missing field', async () => {
    const extra = { spec: { ...spec(), container: [{ ...spec().container[0]!, privileged: true }] } };
    const unknown = await call(routes.deploy('web'), { method: 'POST', body: extra });
    expect(expectError(unknown, 'invalid_request').path).toBe('spec.container.0.privileged');
    const missing = await call(routes.deploy('web'), { method: 'POST', body: {} });
    expect(expectError(missing, 'invalid_request').path).toBe('spec');
    const badRollback = await call(routes.rollback('web'), { method: 'POST', body: { to: 'HEAD~1' } });
    expect(expectError(badRollback, 'invalid_request')).toMatchObject({ path: 'to', message: /7-character/ });
    const badPlan = await call(routes.plan('web'), { method: 'POST', body: { operation: 'explode' } });
    expect(expectError(badPlan, 'invalid_request').path).toBe('operation');
  });

  it('hands registry credentials to the operation only: never logged, never echoed in a 400', async () => {
    const registryAuth = [{ server: 'ghcr.io', username: 'bot', password: 'reg-secret-1' }];
    const deployed = await call(routes.deploy('web'), {
      method: 'POST',
      body: { spec: spec(), registryAuth },
    });
    expect(deployed.status).toBe(200);
    const rolled = await call(routes.rollback('web'), { method: 'POST', body: { registryAuth } });
    expect(rolled.status).toBe(200);
    const planned = await call(routes.plan('web'), {
      method: 'POST',
      body: { operation: 'deploy', spec: spec(), registryAuth },
    });
    expect(planned.status).toBe(200);
    expect(service.calls).toEqual([
      { method: 'deploy', args: [spec(), { registryAuth }] },
      { method: 'rollback', args: ['web', undefined, { registryAuth }] },
      { method: 'plan', args: ['web', { operation: 'deploy', spec: spec(), registryAuth }] },
    ]);
    const bad = await call(routes.deploy('web'), {
      method: 'POST',
      body: { spec: spec(), registryAuth: [{ server: 'ghcr.io', password: 'reg-secret-2' }] },
    });
    expect(expectError(bad, 'invalid_request')).toMatchObject({
      path: 'registryAuth.0',
      message: 'registryAuth.0: needs username and password, or identitytoken',
    });
    const unknown = await call(routes.deploy('web'), {
      method: 'POST',
      body: {
        spec: spec(),
        registryAuth: [{ server: 'ghcr.io', username: 'u', password: 'reg-secret-3', x: 1 }],
      },
    });
    expect(expectError(unknown, 'invalid_request').path).toBe('registryAuth.0.x');
    expect(`${logLines.join('\n')}${bad.text}${unknown.text}`).not.toMatch(/reg-secret/);
  });

  it('gives 400 for malformed JSON and for a body that is not an object', async () => {
    const malformed = await call(routes.stop('web'), { method: 'POST', rawBody: '{"purge": tru' });
    expect(malformed.status).toBe(400);
    expect(expectError(malformed, 'invalid_request').message).toMatch(/not valid JSON/);
    const array = await call(routes.stop('web'), { method: 'POST', rawBody: '[1,2]' });
    expect(array.status).toBe(400);
    expect(service.calls).toEqual([]);
  });

  it('refuses a spec sent to another job name', async () => {
    const response = await call(routes.deploy('api'), { method: 'POST', body: { spec: spec('web') } });
    expect(response.status).toBe(400);
    expect(expectError(response, 'invalid_request').path).toBe('spec.name');
    const planned = await call(routes.plan('api'), {
      method: 'POST',
      body: { operation: 'deploy', spec: spec('web') },
    });
    expect(expectError(planned, 'invalid_request').path).toBe('spec.name');
    expect(service.calls).toEqual([]);
  });

  it('treats an empty body as {} (stop defaults to no purge)', async () => {
    const response = await call(routes.stop('web'), { method: 'POST' });
    expect(response.status).toBe(200);
    expect(service.calls).toEqual([{ method: 'stop', args: ['web', false] }]);
  });

  it('passes plan requests through', async () => {
    const response = await call(routes.plan('web'), {
      method: 'POST',
      body: { operation: 'stop', purge: true },
    });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ job: 'web', operation: 'stop' });
    expect(service.calls).toEqual([{ method: 'plan', args: ['web', { operation: 'stop', purge: true }] }]);
  });

  it('answers 413 when Content-Length is over the limit, before reading the body', async () => {
    const response = await rawRequest({
      path: routes.deploy('web'),
      headers: { 'content-length': String(MAX_BODY_BYTES + 1) },
      body: '{}',
      endBody: false,
    });
    expect(response.status).toBe(413);
    expectError({ json: JSON.parse(response.text), text: response.text }, 'payload_too_large');
  });

  it('answers 413 to a huge chunked body and keeps serving', async () => {
    const chunk = 'x'.repeat(64 * 1024);
    const response = await rawRequest({
      path: routes.deploy('web'),
      headers: { 'transfer-encoding': 'chunked' },
      body: chunk.repeat(64), // 4 MiB
    });
    expect(response.status).toBe(413);
    expect(JSON.parse(response.text).error.code).toBe('payload_too_large');
    expect((await call(routes.info)).status).toBe(200);
    expect(service.calls.map((c) => c.method)).toEqual(['info']);
  });

  it('accepts a body just under the limit', async () => {
    const padding = 'x'.repeat(MAX_BODY_BYTES - 100);
    const response = await call(routes.stop('web'), {
      method: 'POST',
      rawBody: `{"purge":false}${' '.repeat(padding.length)}`,
    });
    expect(response.status).toBe(200);
  });
});

describe('long operations (NDJSON)', () => {
  it('streams progress lines then one done line', async () => {
    const response = await call(routes.deploy('web'), { method: 'POST', body: { spec: spec() } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = ndjsonLines(response.text);
    expect(lines.map((l) => l.type)).toEqual(['progress', 'progress', 'progress', 'done']);
    expect(lines[1]).toEqual({
      type: 'progress',
      phase: 'create',
      message: 'Creating container (1/2)',
      current: 1,
      total: 2,
    });
    expect(lines[3]).toEqual({ type: 'done', result: result() });
    expect(service.calls).toEqual([{ method: 'deploy', args: [spec()] }]);
  });

  it('streams rollback and stop too, passing their options', async () => {
    const rollback = await call(routes.rollback('web'), { method: 'POST', body: { to: '1234567' } });
    expect(ndjsonLines(rollback.text).at(-1)).toMatchObject({ type: 'done', result: { action: 'rollback' } });
    const stop = await call(routes.stop('web'), { method: 'POST', body: { purge: true } });
    expect(ndjsonLines(stop.text).at(-1)).toMatchObject({ type: 'done', result: { action: 'purge' } });
    expect(service.calls).toEqual([
      { method: 'rollback', args: ['web', '1234567'] },
      { method: 'stop', args: ['web', true] },
    ]);
  });

  it('sends each line as it happens, not at the end', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    service.deploy = async (_spec, progress) => {
      progress({ type: 'progress', phase: 'pull', message: 'first' });
      await released;
      return result();
    };
    const response = await fetch(`${baseUrl}${routes.deploy('web')}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ spec: spec() }),
    });
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(JSON.parse(first)).toEqual({ type: 'progress', phase: 'pull', message: 'first' });
    release();
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      rest += new TextDecoder().decode(chunk.value);
    }
    expect(JSON.parse(rest).type).toBe('done');
  });

  it('starts the stream after a quiet moment even before the first line', async () => {
    let release!: () => void;
    service.stop = (_job, _purge, _progress) =>
      new Promise((resolve) => {
        release = () => resolve(result({ action: 'stop' }));
      });
    const response = await fetch(`${baseUrl}${routes.stop('web')}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}` },
    });
    // Headers arrived although the operation has not said anything yet.
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    release();
    expect(ndjsonLines(await response.text()).map((l) => l.type)).toEqual(['done']);
  });

  it('finishes the operation when the client disconnects mid-way', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let finished = false;
    service.deploy = async (_spec, progress) => {
      progress({ type: 'progress', phase: 'pull', message: 'first' });
      await released;
      progress({ type: 'progress', phase: 'start', message: 'after the client left' });
      finished = true;
      return result();
    };
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${baseUrl}${routes.deploy('web')}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}` },
      });
      req.on('response', (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (error) => {
        if (!(error as NodeJS.ErrnoException).code?.startsWith('ECONNRESET')) reject(error);
      });
      req.end(JSON.stringify({ spec: spec() }));
    });
    expect(server.activeOperations).toBe(1);
    release();
    expect(await server.waitForOperations(5000)).toBe(true);
    expect(finished).toBe(true);
    expect(server.activeOperations).toBe(0);
    expect((await call(routes.info)).status).toBe(200);
  });

  it('answers a refused operation (job busy) with a plain 409 JSON error', async () => {
    service.deploy = async () => {
      throw new JobBusyError('web', 'deploy', 12_000);
    };
    const response = await call(routes.deploy('web'), { method: 'POST', body: { spec: spec() } });
    expect(response.status).toBe(409);
    expect(expectError(response, 'job_busy').message).toMatch(/busy/);
  });

  it('ends the stream with a failed done line when an operation throws after it started', async () => {
    service.deploy = async (_spec, progress) => {
      progress({ type: 'progress', phase: 'pull', message: 'first' });
      throw new Error('boom with /secret/path');
    };
    const response = await call(routes.deploy('web'), { method: 'POST', body: { spec: spec() } });
    expect(response.status).toBe(200);
    const lines = ndjsonLines(response.text);
    expect(lines.at(-1)).toMatchObject({ type: 'done', result: { ok: false, error: { code: 'internal' } } });
    expect(response.text).not.toContain('/secret/path');
    expect(server.activeOperations).toBe(0);
  });
});

describe('errors', () => {
  it('maps typed errors to statuses', async () => {
    const cases: Array<[Error, number, string]> = [
      [new NotFoundError('job web is not on this node'), 404, 'not_found'],
      [new DokkupError('nothing_to_rollback', 'no earlier version'), 409, 'nothing_to_rollback'],
      [new DokkupError('docker_unavailable', 'Docker is not reachable'), 503, 'docker_unavailable'],
      [new DokkupError('invalid_request', 'bad', 'spec.count'), 400, 'invalid_request'],
      [
        Object.assign(new Error('connect ENOENT /var/run/docker.sock'), {
          code: 'ENOENT',
          syscall: 'connect',
        }),
        503,
        'docker_unavailable',
      ],
    ];
    for (const [error, status, code] of cases) {
      service.status = async () => {
        throw error;
      };
      const response = await call(routes.job('web'));
      expect(response.status, code).toBe(status);
      expectError(response, code);
    }
  });

  it('a throwing handler gives 500 JSON with a safe message, logs the error, and the server keeps answering', async () => {
    service.info = async () => {
      throw new TypeError("Cannot read properties of undefined (reading 'secretThing')");
    };
    const response = await call(routes.info);
    expect(response.status).toBe(500);
    const error = expectError(response, 'internal');
    expect(error.message).not.toContain('secretThing');
    expect(logLines.some((line) => line.includes('secretThing') && line.includes('"level":50'))).toBe(true);

    service.listJobs = () => {
      // Not even a promise: a synchronous throw of a non-Error.
      throw 'string thrown';
    };
    expect((await call(routes.jobs)).status).toBe(500);
    expect((await call(routes.job('web'))).status).toBe(200);
  });
});

describe('access log and shutdown', () => {
  it('logs method, path, status and duration for each request', async () => {
    await call(`${routes.job('web')}?x=1`);
    const entry = logLines.map((line) => JSON.parse(line)).find((l) => l.msg === 'request');
    expect(entry).toMatchObject({ method: 'GET', path: '/v1/jobs/web', status: 200, remote: '127.0.0.1' });
    expect(typeof entry.ms).toBe('number');
  });

  it('refuses new requests once shutting down, while running operations finish', async () => {
    let release!: () => void;
    service.stop = (_job, _purge, _progress) =>
      new Promise((resolve) => {
        release = () => resolve(result({ action: 'stop' }));
      });
    const running = call(routes.stop('web'), { method: 'POST' });
    await expect.poll(() => server.activeOperations).toBe(1);
    server.beginShutdown();
    const refused = await call(routes.info);
    expect(refused.status).toBe(503);
    expectError(refused, 'interrupted');
    expect(await server.waitForOperations(20)).toBe(false);
    release();
    expect(await server.waitForOperations(5000)).toBe(true);
    expect(ndjsonLines((await running).text).at(-1)).toMatchObject({ type: 'done', result: { ok: true } });
  });
});

/** A request over node:http, for what fetch cannot do (lying Content-Length, chunked uploads). */
function rawRequest(options: {
  method?: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  endBody?: boolean;
}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    // host/port/path given apart: a URL string would be normalised (`..` removed) on the way.
    const { hostname, port } = new URL(baseUrl);
    const req = httpRequest({
      hostname,
      port,
      path: options.path,
      method: options.method ?? 'POST',
      headers: { authorization: `Bearer ${KEY}`, ...options.headers },
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, text });
        req.destroy();
      });
    });
    req.on('error', reject);
    req.write(options.body);
    if (options.endBody !== false) req.end();
  });
}
