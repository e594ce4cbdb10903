import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobSpec } from '../../src/protocol/job.js';
import type { JobState } from '../../src/protocol/state.js';
import { FileJobStateStore, type JobStateStore, MemoryJobStateStore } from './job-store.js';

function spec(name: string, image = 'busybox:1'): JobSpec {
  return {
    name,
    count: 2,
    target: { kind: 'group', group: 'all' },
    container: [
      {
        image,
        command: null,
        entrypoint: null,
        ports: [{ in: 80, protocol: 'tcp', out: null }],
        restart: 'always',
        labels: {},
        environment: { A: 'b=c' },
        volumes: [],
        networks: ['bridge'],
        healthcheck: null,
        resources: { nanoCpus: null, memoryBytes: null },
        pull: 'missing',
      },
    ],
    update: { healthyDeadlineMs: 60_000, minHealthyMs: 1000 },
  };
}

function state(job: string, version = 'abcdef1', image = 'busybox:1'): JobState {
  return {
    schema: 1,
    job,
    current: version,
    entries: [{ version, spec: spec(job, image), deployedAt: '2024-01-01T00:00:00.000Z' }],
  };
}

interface Warning {
  details: object;
  message: string;
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dokkup-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.each([
  ['FileJobStateStore', () => new FileJobStateStore(dir)],
  ['MemoryJobStateStore', () => new MemoryJobStateStore()],
] as const)('%s', (_name, make: () => JobStateStore) => {
  it('round-trips a state and lists jobs sorted', async () => {
    const store = make();
    expect(await store.read('web')).toBeNull();
    await store.write(state('web'));
    await store.write(state('api', '1234567'));
    expect(await store.read('web')).toEqual(state('web'));
    expect(await store.list()).toEqual(['api', 'web']);
  });

  it('replaces a state on write and forgets it on remove', async () => {
    const store = make();
    await store.write(state('web', 'aaaaaaa'));
    await store.write(state('web', 'bbbbbbb', 'busybox:2'));
    expect((await store.read('web'))?.current).toBe('bbbbbbb');
    await store.remove('web');
    await store.remove('web');
    expect(await store.read('web')).toBeNull();
    expect(await store.list()).toEqual([]);
  });

  it('refuses job names that could escape the directory', async () => {
    const store = make();
    for (const bad of ['../evil', '..', '.hidden', 'a/b', '', 'x'.repeat(64)]) {
      await expect(store.read(bad)).rejects.toMatchObject({ code: 'invalid_request' });
      await expect(store.remove(bad)).rejects.toMatchObject({ code: 'invalid_request' });
      await expect(store.write({ ...state('web'), job: bad })).rejects.toMatchObject({
        code: 'invalid_request',
      });
    }
  });

  it('refuses to store an invalid state', async () => {
    const store = make();
    const broken = {
      ...state('web'),
      current: 'not-a-version',
      entries: [{ version: 'zz' }],
    } as unknown as JobState;
    await expect(store.write(broken)).rejects.toMatchObject({ code: 'internal' });
    expect(await store.read('web')).toBeNull();
  });

  it('hands out copies, so callers cannot change what is stored', async () => {
    const store = make();
    const original = state('web');
    await store.write(original);
    original.current = 'fffffff';
    const read = await store.read('web');
    read!.entries.length = 0;
    expect(await store.read('web')).toEqual(state('web'));
  });
});

describe('FileJobStateStore on disk', () => {
  it('writes jobs/<job>.json with mode 0600 in a 0700 directory', async () => {
    const store = new FileJobStateStore(dir);
    await store.write(state('web'));
    const file = join(dir, 'jobs', 'web.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'jobs'))).mode & 0o777).toBe(0o700);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(state('web'));
    // No temp file stays behind after a completed write.
    expect(await readdir(join(dir, 'jobs'))).toEqual(['web.json']);
  });

  it('a write that died between temp file and rename leaves the old state intact', async () => {
    const first = new FileJobStateStore(dir);
    await first.write(state('web', 'aaaaaaa'));
    // What a kill -9 mid-write leaves: a half-written temp file beside the real one.
    const stray = join(dir, 'jobs', '.web.json.0123456789ab.tmp');
    await writeFile(stray, '{"schema":1,"job":"web","curr');

    const warnings: Warning[] = [];
    const restarted = new FileJobStateStore(dir, {
      warn: (details, message) => warnings.push({ details, message }),
    });
    expect((await restarted.read('web'))?.current).toBe('aaaaaaa');
    expect(await restarted.list()).toEqual(['web']);
    // The restarted store cleans the leftover up and says so.
    expect(await readdir(join(dir, 'jobs'))).toEqual(['web.json']);
    expect(warnings).toHaveLength(1);
    expect((warnings[0]!.details as Record<string, unknown>)['files']).toEqual([
      '.web.json.0123456789ab.tmp',
    ]);
  });

  it.each([
    ['truncated JSON', '{"schema":1,"job":"web","cur'],
    ['wrong shape', JSON.stringify({ schema: 1, job: 'web', current: 7, entries: 'no' })],
    ['state of another job', JSON.stringify(state('other'))],
    ['empty file', ''],
  ])('moves a corrupt file aside (%s), logs it and reads null', async (_what, content) => {
    const warnings: Warning[] = [];
    const store = new FileJobStateStore(
      dir,
      { warn: (details, message) => warnings.push({ details, message }) },
      () => Date.parse('2024-05-06T07:08:09.000Z'),
    );
    await store.list(); // creates the directory
    await writeFile(join(dir, 'jobs', 'web.json'), content);

    expect(await store.read('web')).toBeNull();
    const files = await readdir(join(dir, 'jobs'));
    expect(files).toEqual([`web.json.corrupt-${Date.parse('2024-05-06T07:08:09.000Z')}`]);
    expect(await readFile(join(dir, 'jobs', files[0]!), 'utf8')).toBe(content);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(/corrupt/);
    expect((warnings[0]!.details as Record<string, unknown>)['job']).toBe('web');
    // The job is writable again afterwards and the set-aside file is not listed as a job.
    expect(await store.list()).toEqual([]);
    await store.write(state('web'));
    expect(await store.read('web')).toEqual(state('web'));
  });

  it('ignores files that are not job states when listing', async () => {
    const store = new FileJobStateStore(dir);
    await store.write(state('web'));
    await writeFile(join(dir, 'jobs', 'notes.txt'), 'hello');
    await writeFile(join(dir, 'jobs', '.hidden.json'), '{}');
    expect(await store.list()).toEqual(['web']);
  });

  it('keeps every state whole under concurrent writes of many jobs', async () => {
    const store = new FileJobStateStore(dir);
    const names = Array.from({ length: 30 }, (_, i) => `job-${i}`);
    await Promise.all(
      names.flatMap((name) => [store.write(state(name, 'aaaaaaa')), store.write(state(name, 'bbbbbbb'))]),
    );
    expect(await store.list()).toEqual([...names].sort());
    for (const name of names) expect(['aaaaaaa', 'bbbbbbb']).toContain((await store.read(name))?.current);
    expect((await readdir(join(dir, 'jobs'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
