/**
 * Private images on the job engine (fake runtime, real file store): the request's credentials
 * reach the pull and nothing else; a refused pull leaves the old version running; a rollback or a
 * `pull: always` re-pull uses the credentials of the request that triggers it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { testEntry, testJob, testSpec } from '../../src/core/spec.fixture.js';
import { specVersion } from '../../src/core/version.js';
import type { ContainerSpec, JobSpec } from '../../src/protocol/job.js';
import type { RegistryAuth } from '../../src/protocol/registry.js';
import { EngineRig } from '../../test/fakes/engine-rig.js';

const REGISTRY = '127.0.0.1:5001';
const PRIVATE_V1 = `${REGISTRY}/private/web:v1`;
const PRIVATE_V2 = `${REGISTRY}/private/web:v2`;
const PASSWORD = 'Pa55-word-never-stored';
const good: RegistryAuth[] = [{ server: REGISTRY, username: 'ci', password: PASSWORD }];
const wrong: RegistryAuth[] = [{ server: REGISTRY, username: 'ci', password: 'not-the-password' }];

const rigs: EngineRig[] = [];
const OTHER_REGISTRY = '127.0.0.1:5002';
const SIDE = `${OTHER_REGISTRY}/private/side:v1`;
const OTHER_PASSWORD = 'other-Pa55-never-stored';
const other: RegistryAuth = { server: OTHER_REGISTRY, username: 'bot', password: OTHER_PASSWORD };

function rig(): EngineRig {
  const wanted = { username: 'ci', password: PASSWORD };
  const r = new EngineRig({
    runtime: {
      privateImages: new Map([
        [PRIVATE_V1, wanted],
        [PRIVATE_V2, wanted],
        [SIDE, { username: 'bot', password: OTHER_PASSWORD }],
      ]),
    },
  });
  rigs.push(r);
  return r;
}
afterEach(() => {
  for (const r of rigs.splice(0)) r.cleanup();
});

const job = (image: string, container: Partial<ContainerSpec> = {}): JobSpec =>
  testSpec({ image, ...container }, { count: 2, update: { healthyDeadlineMs: 20_000, minHealthyMs: 1000 } });

/** Every file under the rig's data directory, as text. */
function dataDirText(r: EngineRig): string {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.push(readFileSync(path, 'utf8'));
    }
  };
  walk(r.dir);
  return out.join('\n');
}

describe('private images on the job engine', () => {
  it('pulls with the credentials for the image registry; they end up in no stored file and no progress line', async () => {
    const r = rig();
    const other: RegistryAuth = { server: 'ghcr.io', username: 'x', password: 'other-registry-secret' };
    const ran = await r.deploy(job(PRIVATE_V1), { registryAuth: [other, ...good] });
    expect(ran.result).toMatchObject({ ok: true, action: 'fresh', running: 2 });
    expect(r.runtime.pulls).toEqual([{ image: PRIVATE_V1, auth: good[0] }]);
    const everything = `${dataDirText(r)}\n${JSON.stringify(ran)}`;
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain('other-registry-secret');
  });

  it('a refused pull fails naming the registry and "unauthorized", never the password; the old version keeps running', async () => {
    const r = rig();
    await r.deploy(job(PRIVATE_V1), { registryAuth: good });
    const before = r.ids();
    const ran = await r.deploy(job(PRIVATE_V2), { registryAuth: wrong });
    expect(ran.result).toMatchObject({ ok: false, restored: true, error: { code: 'pull_failed' } });
    expect(ran.result.message).toContain(
      `registry ${REGISTRY} refused the credentials sent for it: unauthorized`,
    );
    expect(JSON.stringify(ran)).not.toContain('not-the-password');
    expect(r.ids()).toEqual(before);
    expect(r.containers().every((c) => c.version === specVersion(job(PRIVATE_V1)))).toBe(true);

    const none = await r.deploy(job(PRIVATE_V2));
    expect(none.result.message).toContain(
      `registry ${REGISTRY} needs credentials: unauthorized; none were sent`,
    );
  });

  it('without credentials, an image already on the node still deploys (pull: missing)', async () => {
    const r = rig();
    await r.deploy(job(PRIVATE_V1), { registryAuth: good });
    const scaled = await r.deploy({ ...job(PRIVATE_V1), count: 3 });
    expect(scaled.result).toMatchObject({ ok: true, action: 'scale', running: 3 });
    const changed = await r.deploy(job(PRIVATE_V1, { environment: { A: '1' } }));
    expect(changed.result).toMatchObject({ ok: true, action: 'update' });
    expect(r.runtime.pulls).toHaveLength(1);
  });

  it('pull: always re-pulls with the credentials of this run', async () => {
    const r = rig();
    await r.deploy(job(PRIVATE_V1, { pull: 'always' }), { registryAuth: good });
    const again = await r.deploy(job(PRIVATE_V1, { pull: 'always' }), { registryAuth: good });
    expect(again.result).toMatchObject({ ok: true, action: 'noop' });
    expect(r.runtime.pulls.map((p) => p.auth)).toEqual([good[0], good[0]]);
    const refused = await r.deploy(job(PRIVATE_V1, { pull: 'always' }), { registryAuth: wrong });
    expect(refused.result).toMatchObject({ ok: false, error: { code: 'pull_failed' } });
    expect(r.containers().filter((c) => c.state === 'running')).toHaveLength(2);
  });

  it('a rollback whose image is gone pulls it again with the rollback request’s credentials', async () => {
    const r = rig();
    await r.deploy(job(PRIVATE_V1), { registryAuth: good });
    await r.deploy(job(PRIVATE_V2), { registryAuth: good });
    r.runtime.forgetImage(PRIVATE_V1);
    const refused = await r.rollback('demo');
    expect(refused.result).toMatchObject({ ok: false, error: { code: 'pull_failed' } });
    expect(refused.result.message).toContain('unauthorized');
    const ran = await r.rollback('demo', undefined, { registryAuth: good });
    expect(ran.result).toMatchObject({ ok: true, action: 'rollback' });
    expect(r.runtime.pulls.at(-1)).toEqual({ image: PRIVATE_V1, auth: good[0] });
    expect(dataDirText(r)).not.toContain(PASSWORD);
  });

  it('a job with several entries pulls each image with the credentials for its own registry, deploy and rollback', async () => {
    const two = (web: string) =>
      testJob(
        [testEntry({ name: 'web', image: web }), testEntry({ name: 'side', image: SIDE, pull: 'always' })],
        { count: 2, update: { healthyDeadlineMs: 20_000, minHealthyMs: 1000 } },
      );
    const r = rig();
    const both = [...good, other];
    const ran = await r.deploy(two(PRIVATE_V1), { registryAuth: both });
    expect(ran.result).toMatchObject({ ok: true, action: 'fresh', running: 4 });
    // The `pull: always` entry before planning, the missing one before creating: each once.
    expect(r.runtime.pulls).toEqual([
      { image: SIDE, auth: other },
      { image: PRIVATE_V1, auth: good[0] },
    ]);
    await r.deploy(two(PRIVATE_V2), { registryAuth: both });
    r.runtime.forgetImage(PRIVATE_V1);
    // Only the web registry's credentials: the sidecar's image is still on the node.
    const back = await r.rollback('demo', undefined, { registryAuth: good });
    expect(back.result).toMatchObject({ ok: true, action: 'rollback', running: 4 });
    expect(r.runtime.pulls.at(-1)).toEqual({ image: PRIVATE_V1, auth: good[0] });
    // A sidecar pull with the wrong registry's credentials is refused: the old replicas stay.
    const before = r.ids();
    const refused = await r.deploy(two(PRIVATE_V2), { registryAuth: good });
    expect(refused.result).toMatchObject({ ok: false, error: { code: 'pull_failed' } });
    expect(refused.result.message).toContain(`registry ${OTHER_REGISTRY} needs credentials`);
    expect(r.ids()).toEqual(before);
    const stored = `${dataDirText(r)}\n${JSON.stringify([ran, back, refused])}`;
    expect(stored).not.toContain(PASSWORD);
    expect(stored).not.toContain(OTHER_PASSWORD);
  });

  it('a plan says when the image could not be pulled with the credentials sent', async () => {
    const r = rig();
    const plan = (registryAuth?: RegistryAuth[]) =>
      r.engine.plan('demo', {
        operation: 'deploy',
        spec: job(PRIVATE_V1),
        ...(registryAuth ? { registryAuth } : {}),
      });
    expect((await plan(good)).warnings).toEqual([
      `image ${PRIVATE_V1} is not on this node yet: it will be pulled`,
    ]);
    expect((await plan(wrong)).warnings[1]).toMatch(
      new RegExp(
        `^cannot pull ${PRIVATE_V1}: registry ${REGISTRY} refused the credentials sent for it: unauthorized`,
      ),
    );
    expect((await plan()).warnings[1]).toContain('needs credentials: unauthorized; none were sent');
  });
});
