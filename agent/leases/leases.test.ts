/**
 * Leases and canary marks on the agent: the lease table alone on a fake clock, then the assembled
 * agent (`createAgent`, in-memory container engine) over real HTTP through the real client: the
 * lease routes, the refusal of everybody else's changes while a lease is held, bad input, and a
 * canary deploy's mark in the plan, status and history, cleared by promote.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AgentClient, type RequestOptions } from '../../src/client/agent-client.js';
import { AgentHttpError } from '../../src/client/errors.js';
import { FeedSession } from '../../src/client/feeds/session.js';
import { LeaseHeldError } from '../../src/core/errors.js';
import { testSpec } from '../../src/core/spec.fixture.js';
import { specVersion } from '../../src/core/version.js';
import {
  LEASE_HEADER,
  LEASE_RELEASE_HEADER,
  LEASE_TAKE_HEADER,
  type LeaseRequest,
  routes,
} from '../../src/protocol/api.js';
import type { NodeSummary } from '../../src/protocol/feeds.js';
import { FakeRuntime } from '../../test/fakes/container-runtime.js';
import { createAgent } from '../app.js';
import { issueKey, KeyVerifier } from '../auth/index.js';
import { MemoryFeedRuntime } from '../feeds/memory-runtime.fixture.js';
import { silentLogger } from '../logger.js';
import { LeaseTable } from './lease-table.js';

const alice: LeaseRequest = {
  id: 'alice-lease-0123456789',
  operator: 'alice',
  host: 'laptop',
  command: 'run job web.yaml',
  ttlMs: 30_000,
};
const bob: LeaseRequest = { ...alice, id: 'bob-lease-0123456789ab', operator: 'bob', host: 'desk' };

describe('the lease table', () => {
  it('grants one holder per job, renews it for that holder, refuses the others naming the holder', () => {
    let now = Date.parse('2026-11-02T10:00:00Z');
    const table = new LeaseTable(() => now);
    expect(table.acquire('web', alice).kind).toBe('acquired');
    now += 5_000;
    expect(table.acquire('web', alice).kind).toBe('renewed');
    expect(table.get('web')).toMatchObject({
      operator: 'alice',
      acquiredAt: '2026-11-02T10:00:00.000Z',
      renewedAt: '2026-11-02T10:00:05.000Z',
      expiresAt: '2026-11-02T10:00:35.000Z',
    });
    expect(() => table.acquire('web', bob)).toThrow(LeaseHeldError);
    expect(() => table.acquire('web', bob)).toThrow(
      /locked by alice@laptop \(run job web\.yaml\) since 2026-11-02T10:00:00Z, 5s ago/,
    );
    // Another job is another lease.
    expect(table.acquire('api', bob).kind).toBe('acquired');
    expect(() => table.check('web', bob.id)).toThrow(LeaseHeldError);
    expect(() => table.check('web', alice.id)).not.toThrow();
    expect(() => table.check('web', undefined)).toThrow(LeaseHeldError);
  });

  it('lapses after its TTL: the next operator gets it, and the old holder cannot renew it', () => {
    let now = 0;
    const table = new LeaseTable(() => now);
    table.acquire('web', alice);
    now += 30_000;
    expect(table.get('web')).toBeNull();
    expect(() => table.check('web', undefined)).not.toThrow();
    expect(table.acquire('web', bob).kind).toBe('acquired');
    expect(() => table.acquire('web', alice, true)).toThrow(/locked by bob@desk/);
  });

  it('a lapsed lease nobody took is renewed by its holder; a released or broken one is lost', () => {
    let now = 0;
    const table = new LeaseTable(() => now);
    table.acquire('web', alice);
    now += 40_000;
    expect(table.acquire('web', alice, true).kind).toBe('renewed');
    expect(table.release('web', { force: true })).toMatchObject({
      kind: 'broken',
      lease: { operator: 'alice' },
    });
    expect(() => table.acquire('web', alice, true)).toThrow(/no longer yours/);
    table.acquire('web', alice);
    expect(() => table.release('web', { id: bob.id })).toThrow(/only its holder can release it/);
    expect(table.release('web', { id: alice.id })).toMatchObject({ kind: 'released' });
    expect(table.release('web', { id: alice.id })).toBeNull();
  });

  it('a request that carries the lease renews it for its holder only; a lost lease is not taken again', () => {
    let now = 0;
    const table = new LeaseTable(() => now);
    table.acquire('web', alice);
    now += 20_000;
    expect(table.touch('web', alice.id)).toMatchObject({ kind: 'renewed' });
    expect(table.get('web')?.expiresAt).toBe(new Date(50_000).toISOString());
    // Lapsed but nobody took it: still its holder's, renewed.
    now += 40_000;
    expect(table.get('web')).toBeNull();
    expect(table.touch('web', alice.id)).toMatchObject({ kind: 'renewed' });
    expect(table.get('web')?.expiresAt).toBe(new Date(90_000).toISOString());
    // Somebody else's id renews nothing, and the holder's lease stays the holder's.
    expect(table.touch('web', bob.id)).toBeNull();
    expect(() => table.check('web', bob.id)).toThrow(LeaseHeldError);
    // Released: lost, and a request that carries it does not take it again.
    table.release('web', { id: alice.id });
    expect(table.touch('web', alice.id)).toBeNull();
    expect(table.get('web')).toBeNull();
  });
});

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startAgent() {
  const dataDir = await mkdtemp(join(tmpdir(), 'dokkup-leases-'));
  // The agent's last writes (history) may land while the directory goes: rm retries then.
  cleanups.push(() => rm(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }));
  const key = issueKey();
  const logger = silentLogger();
  const runtime = new FakeRuntime();
  const agent = createAgent({
    dataDir,
    verifier: KeyVerifier.forKey(key, { logger }),
    logger,
    runtimes: { containers: runtime, feeds: new MemoryFeedRuntime() },
  });
  cleanups.push(() => agent.close(1000));
  const { port } = await agent.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${port}`;
  const client = new AgentClient({ name: 'lab1', location: `127.0.0.1:${port}`, baseUrl: url, key });
  cleanups.push(() => client.close());
  return { url, key, client, runtime, port };
}

async function refusal(promise: Promise<unknown>): Promise<AgentHttpError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AgentHttpError) return error;
    throw error;
  }
  throw new Error('expected the agent to refuse');
}

const spec = testSpec(
  { image: 'web:1' },
  { name: 'web', update: { healthyDeadlineMs: 5000, minHealthyMs: 0 } },
);
const spec2 = { ...spec, container: spec.container.map((entry) => ({ ...entry, image: 'web:2' })) };

describe('the agent’s lease routes', () => {
  it('take, show, renew and give back a lease; a second operator is refused with who holds it', async () => {
    const { client } = await startAgent();
    expect(await client.lease('web')).toEqual({ job: 'web', lease: null, held: false });
    expect(await client.acquireLease('web', alice)).toMatchObject({
      held: true,
      lease: { operator: 'alice' },
    });
    const refused = await refusal(client.acquireLease('web', bob));
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({
      code: 'lease_held',
      message: expect.stringMatching(
        /^job web is locked by alice@laptop \(run job web\.yaml\) since \S+Z, \d+s ago/,
      ),
      lease: { operator: 'alice', host: 'laptop', command: 'run job web.yaml' },
    });
    // The job's status says who holds it, for the TUI's job row.
    expect((await client.status('web')).lease).toMatchObject({ operator: 'alice' });
    expect(await client.lease('web', { lease: alice.id })).toMatchObject({ held: true });
    expect(await client.acquireLease('web', { ...alice, renew: true })).toMatchObject({ held: true });
    expect(await client.releaseLease('web', { id: alice.id })).toMatchObject({
      broken: false,
      released: { operator: 'alice' },
    });
    expect(await client.acquireLease('web', bob)).toMatchObject({ held: true, lease: { operator: 'bob' } });
    // Broken by someone else: the holder's renewal finds it lost.
    expect(await client.releaseLease('web', { force: true })).toMatchObject({
      broken: true,
      released: { operator: 'bob' },
    });
    expect((await refusal(client.acquireLease('web', { ...bob, renew: true }))).body.code).toBe('lease_lost');
  });

  it('refuse every change to the job but its holder’s while the lease is held; reads go on', async () => {
    const { client, runtime } = await startAgent();
    await client.acquireLease('web', alice);
    for (const change of [
      () => client.deploy(spec, () => {}),
      () => client.deploy(spec, () => {}, { lease: bob.id }),
      () => client.rollback('web', undefined, () => {}, { lease: bob.id }),
      () => client.stop('web', true, () => {}),
      () => client.promote('web', specVersion(spec)),
    ]) {
      expect((await refusal(change())).body).toMatchObject({
        code: 'lease_held',
        lease: { operator: 'alice' },
      });
    }
    expect(runtime.counts()).toEqual({ running: 0, total: 0 });
    expect((await client.plan('web', { operation: 'deploy', spec })).changes).toBe(true);
    expect((await client.deploy(spec, () => {}, { lease: alice.id })).ok).toBe(true);
    expect(runtime.counts()).toEqual({ running: 1, total: 1 });
    // Other jobs are not held.
    expect((await client.deploy({ ...spec, name: 'api' }, () => {})).ok).toBe(true);
  });

  it('take the lease with a plan, and renew it with every request that carries it, saying so', async () => {
    const { client } = await startAgent();
    const take = { operator: 'alice', host: 'laptop', command: 'run job web.yaml', ttlMs: 30_000 };
    const states: string[] = [];
    const withLease = (id: string, extra: Partial<RequestOptions> = {}): RequestOptions => ({
      lease: id,
      onLeaseState: (state) => states.push(state),
      ...extra,
    });
    const plan = await client.plan(
      'web',
      { operation: 'deploy', spec },
      withLease(alice.id, { leaseTake: take }),
    );
    expect(plan.changes).toBe(true);
    expect(states).toEqual(['held']);
    const taken = (await client.lease('web')).lease!;
    expect(taken).toMatchObject({ operator: 'alice', command: 'run job web.yaml' });
    // A second operator's plan that would take it is refused, naming the holder; nothing planned.
    const refused = await refusal(
      client.plan(
        'web',
        { operation: 'deploy', spec },
        withLease(bob.id, { leaseTake: { ...take, operator: 'bob' } }),
      ),
    );
    expect(refused.body).toMatchObject({ code: 'lease_held', lease: { operator: 'alice' } });
    // A deploy that carries the lease renews it (a later expiry), and says so.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await client.deploy(spec, () => {}, withLease(alice.id))).ok).toBe(true);
    const renewed = (await client.lease('web')).lease!;
    expect(Date.parse(renewed.expiresAt)).toBeGreaterThan(Date.parse(taken.expiresAt));
    expect(renewed.acquiredAt).toBe(taken.acquiredAt);
    expect(states).toEqual(['held', 'held']);
    // Broken by someone else: the holder's next request hears that its lease is lost.
    await client.releaseLease('web', { force: true });
    await client.plan('web', { operation: 'deploy', spec }, withLease(alice.id));
    expect(states).toEqual(['held', 'held', 'lost']);
    expect((await client.lease('web')).lease).toBeNull();
    // A request with no lease hears nothing about one.
    await client.plan('web', { operation: 'deploy', spec }, { onLeaseState: (state) => states.push(state) });
    expect(states).toHaveLength(3);
  });

  it('give the lease back at the end of a change that asks for it, before its result, and say so', async () => {
    const { client, runtime } = await startAgent();
    await client.acquireLease('web', alice);
    const said: string[] = [];
    const lastRequest = (id: string): RequestOptions => ({
      lease: id,
      releaseLeaseAtEnd: true,
      onLeaseState: (state) => said.push(state),
      onLeaseReleaseAtEnd: () => said.push('given back at the end'),
    });
    const result = await client.deploy(spec, () => {}, lastRequest(alice.id));
    expect(result.ok).toBe(true);
    expect(runtime.counts()).toEqual({ running: 1, total: 1 });
    expect(said).toEqual(['held', 'given back at the end']);
    // Given back by the time the result came: another operator takes it at once.
    expect(await client.lease('web')).toMatchObject({ lease: null });
    await client.acquireLease('web', bob);
    // A change whose lease is not held there (bob's now) is refused, and gives nothing back.
    const refused = await refusal(client.stop('web', false, () => {}, lastRequest(alice.id)));
    expect(refused.body.code).toBe('lease_held');
    expect(await client.lease('web')).toMatchObject({ lease: { operator: 'bob' } });
    // An operation that fails gives the lease back too (the old version stays, nothing follows).
    said.length = 0;
    runtime.failCreate(1);
    const failed = await client.deploy(spec2, () => {}, lastRequest(bob.id));
    expect(failed).toMatchObject({ ok: false, versionTo: specVersion(spec2) });
    expect(said).toEqual(['held', 'given back at the end']);
    expect(await client.lease('web')).toMatchObject({ lease: null });
    // Without the header the lease stays (the holder gives it back itself).
    await client.acquireLease('web', alice);
    await client.stop('web', false, () => {}, { lease: alice.id });
    expect(await client.lease('web')).toMatchObject({ lease: { operator: 'alice' } });
  });

  it('check what they are sent, naming the field', async () => {
    const { url, key, client } = await startAgent();
    const send = (method: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      }).then(async (res) => ({
        status: res.status,
        body: (await res.json()) as { error: { message: string; path?: string } },
      }));
    const bad = await send('PUT', routes.lease('web'), { ...alice, id: 'short' });
    expect(bad).toMatchObject({ status: 400, body: { error: { path: 'id' } } });
    const control = await send('PUT', routes.lease('web'), { ...alice, operator: 'eve\u001b[2J' });
    expect(control).toMatchObject({
      status: 400,
      body: { error: { path: 'operator', message: expect.stringMatching(/control characters/) } },
    });
    expect(await send('PUT', routes.lease('web'), { ...alice, ttlMs: 10 })).toMatchObject({
      status: 400,
      body: { error: { path: 'ttlMs' } },
    });
    expect(await send('PUT', routes.lease('web'), { ...alice, extra: 1 })).toMatchObject({
      status: 400,
      body: { error: { path: 'extra' } },
    });
    expect(await send('POST', routes.leaseRelease('web'), {})).toMatchObject({ status: 400 });
    const header = await send('POST', routes.deploy('web'), { spec }, { [LEASE_HEADER]: 'not a lease id!' });
    expect(header).toMatchObject({ status: 400, body: { error: { path: LEASE_HEADER } } });
    // The lease a plan takes: base64url JSON of the lease's fields, with its id in the lease header.
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const { id: _id, ...fields } = alice;
    const planBody = { operation: 'deploy', spec };
    for (const [headers, message] of [
      [{ [LEASE_TAKE_HEADER]: encode(fields) }, /comes with a dokkup-lease header/],
      [{ [LEASE_HEADER]: alice.id, [LEASE_TAKE_HEADER]: 'not base64 json!' }, /base64url JSON/],
      [{ [LEASE_HEADER]: alice.id, [LEASE_TAKE_HEADER]: encode([1]) }, /JSON object/],
      [
        { [LEASE_HEADER]: alice.id, [LEASE_TAKE_HEADER]: encode({ ...fields, ttlMs: 10 }) },
        /ttlMs: must be at least/,
      ],
      [{ [LEASE_HEADER]: alice.id, [LEASE_TAKE_HEADER]: encode({ ...fields, renew: true }) }, /renew/],
    ] as const) {
      expect(await send('POST', routes.plan('web'), planBody, headers)).toMatchObject({
        status: 400,
        body: { error: { path: LEASE_TAKE_HEADER, message: expect.stringMatching(message) } },
      });
    }
    // The lease given back at a change's end: `on-end`, and only with the lease's id.
    await send('PUT', routes.lease('web'), alice);
    for (const [headers, message] of [
      [{ [LEASE_HEADER]: alice.id, [LEASE_RELEASE_HEADER]: 'now' }, /must be on-end/],
      [{ [LEASE_RELEASE_HEADER]: 'on-end' }, /comes with a dokkup-lease header/],
    ] as const) {
      for (const route of [routes.deploy('web'), routes.stop('web'), routes.rollback('web')]) {
        const body =
          route === routes.deploy('web') ? { spec } : route === routes.stop('web') ? { purge: false } : {};
        expect(await send('POST', route, body, headers), route).toMatchObject({
          status: 400,
          body: { error: { path: LEASE_RELEASE_HEADER, message: expect.stringMatching(message) } },
        });
      }
    }
    // Refused before anything ran: the lease is still held.
    expect(await client.lease('web', { lease: alice.id })).toMatchObject({ held: true });
    await client.releaseLease('web', { id: alice.id });
    expect(await send('PUT', routes.lease('bad name!'), alice)).toMatchObject({ status: 400 });
    // A spec's rollout policy is checked like every field of it.
    for (const [update, path] of [
      [{ maxParallel: { nodes: 0 } }, 'spec.update.maxParallel.nodes'],
      [{ canary: { percent: 150 } }, 'spec.update.canary.percent'],
      [{ autoRevert: 'yes' }, 'spec.update.autoRevert'],
    ] as const) {
      const bad = await send('POST', routes.plan('web'), {
        operation: 'deploy',
        spec: { ...spec, update: { ...spec.update, ...update } },
      });
      expect(bad, path).toMatchObject({ status: 400, body: { error: { path } } });
    }
    expect(await client.lease('web')).toMatchObject({ lease: null });
  });
});

describe('leases and promotions in the audit log', () => {
  it('records refusals, a broken lease and a promotion, not the routine take, renewal and give-back', async () => {
    const { client } = await startAgent();
    await client.acquireLease('web', alice);
    await client.acquireLease('web', { ...alice, renew: true });
    await refusal(client.acquireLease('web', bob));
    const { id: bobId, ...bobTake } = bob;
    await refusal(client.plan('web', { operation: 'deploy', spec }, { lease: bobId, leaseTake: bobTake }));
    await refusal(client.deploy(spec, () => {}, { lease: bob.id }));
    expect((await client.deploy(spec, () => {}, { lease: alice.id })).ok).toBe(true);
    await client.releaseLease('web', { id: alice.id });
    await client.acquireLease('web', bob);
    await client.releaseLease('web', { force: true });
    expect((await client.deploy(spec2, () => {}, { canary: true })).ok).toBe(true);
    await client.promote('web', specVersion(spec2));

    const { entries } = await client.audit();
    expect(entries.map((e) => [e.operation, e.job, e.result, e.error?.code ?? null])).toEqual([
      ['lease', 'web', 'refused', 'lease_held'],
      ['lease', 'web', 'refused', 'lease_held'],
      ['deploy', 'web', 'refused', 'lease_held'],
      ['deploy', 'web', 'ok', null],
      ['lease-break', 'web', 'ok', null],
      ['deploy', 'web', 'ok', null],
      ['promote', 'web', 'ok', null],
    ]);
    expect(entries[0]!.error?.message).toMatch(/locked by alice@laptop/);
    expect(entries[4]!.message).toMatch(/^broke the lease of bob@desk \(run job web\.yaml\), taken \S+Z$/);
    expect(entries[6]).toMatchObject({
      versionTo: specVersion(spec2),
      message: expect.stringMatching(/promoted/),
    });
    // Every entry names the key that asked (never the key itself).
    for (const entry of entries) expect(entry.keyId).toMatch(/^[0-9a-f]{12}$/);
  });
});

describe('leases and canaries in the feed’s summary (what the TUI’s job row reads)', () => {
  it('lists each job with its lease; taking, giving back and a promotion bring the next summary forward', async () => {
    const { client, url, key } = await startAgent();
    await client.deploy(spec, () => {});
    await client.deploy(spec2, () => {}, { canary: true });
    const session = new FeedSession({ name: 'lab1', baseUrl: url, key });
    cleanups.push(() => session.close());
    const got: NodeSummary[] = [];
    // An interval far longer than the test: every summary after the first is a change's.
    session.subscribeSummary({ intervalMs: 300_000 }, (summary) => got.push(summary));
    const jobsOf = async (count: number, what: string) => {
      await vi.waitFor(() => expect(got.filter((s) => s.jobs).length, what).toBeGreaterThanOrEqual(count), {
        timeout: 5000,
        interval: 50,
      });
      return got.filter((s) => s.jobs)[count - 1]!.jobs!.find((j) => j.name === 'web')!;
    };
    const first = await jobsOf(1, 'the first summary');
    expect(first.lease).toBeNull();
    expect(first.canary).toMatchObject({ version: specVersion(spec2) });
    await client.acquireLease('web', alice);
    expect((await jobsOf(2, 'the summary after the lease was taken')).lease).toMatchObject({
      operator: 'alice',
      host: 'laptop',
    });
    await client.promote('web', specVersion(spec2), { lease: alice.id });
    const promoted = await jobsOf(3, 'the summary after the promotion');
    expect(promoted.canary).toBeNull();
    await client.releaseLease('web', { id: alice.id });
    expect((await jobsOf(4, 'the summary after the lease was given back')).lease).toBeNull();
  });
});

describe('a canary on the agent', () => {
  it('a canary deploy marks the node in its plan, status and history; promote clears it', async () => {
    const { client } = await startAgent();
    await client.deploy(spec, () => {});
    const v1 = specVersion(spec);
    const v2 = specVersion(spec2);
    expect((await client.deploy(spec2, () => {}, { canary: true })).ok).toBe(true);
    const mark = { version: v2, from: v1, since: expect.any(String) };
    expect((await client.status('web')).canary).toEqual(mark);
    expect((await client.history('web')).canary).toEqual(mark);
    expect((await client.plan('web', { operation: 'deploy', spec: spec2 })).canary).toEqual(mark);
    // Promote of another version is refused, naming the field; of its own, clears the mark.
    const wrong = await refusal(client.promote('web', v1));
    expect(wrong.body).toMatchObject({ code: 'invalid_request', path: 'version' });
    expect(await client.promote('web', v2)).toEqual({ job: 'web', version: v2, promoted: true });
    expect((await client.status('web')).canary).toBeNull();
    expect(await client.promote('web', v2)).toEqual({ job: 'web', version: v2, promoted: false });
  });

  it('a rollback takes a canary back and ends the mark', async () => {
    const { client } = await startAgent();
    await client.deploy(spec, () => {});
    await client.deploy(spec2, () => {}, { canary: true });
    const back = await client.rollback('web', specVersion(spec), () => {});
    expect(back).toMatchObject({ ok: true, versionTo: specVersion(spec) });
    expect((await client.history('web')).canary).toBeNull();
  });
});
