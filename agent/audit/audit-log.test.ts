import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/protocol/audit.js';
import { AuditLog } from './audit-log.js';
import { parseAuditQuery } from './entries.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dokkup-audit-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function entry(i: number, overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    remote: '10.0.0.1',
    keyId: 'a1b2c3d4e5f6',
    operation: 'deploy',
    job: `job${i}`,
    action: 'update',
    versionFrom: 'aaaaaaa',
    versionTo: 'bbbbbbb',
    countFrom: 2,
    countTo: 3,
    result: 'ok',
    durationMs: 1200,
    ...overrides,
  };
}

describe('AuditLog', () => {
  it('appends entries as JSON lines in a private file and reads them back oldest first', async () => {
    const log = new AuditLog(dir);
    await Promise.all([log.append(entry(1)), log.append(entry(2)), log.append(entry(3))]);
    expect((await stat(log.file)).mode & 0o777).toBe(0o600);
    const text = await readFile(log.file, 'utf8');
    expect(text.trim().split('\n')).toHaveLength(3);
    const read = await log.read({ limit: 100 });
    expect(read.entries.map((e) => e.job)).toEqual(['job1', 'job2', 'job3']);
    expect(read.truncated).toBe(false);
  });

  it('skips a line torn by a crash, and the next append starts on a fresh line', async () => {
    const log = new AuditLog(dir);
    await log.append(entry(1));
    await appendFile(log.file, '{"at":"2026-01-01T00:00:02.000Z","remote":"10.'); // the crash
    const after = new AuditLog(dir); // a restarted agent
    expect((await after.read({ limit: 100 })).entries.map((e) => e.job)).toEqual(['job1']);
    await after.append(entry(3));
    expect((await after.read({ limit: 100 })).entries.map((e) => e.job)).toEqual(['job1', 'job3']);
  });

  it('keeps its size bounded: full files are rotated, the oldest dropped', async () => {
    const line = `${JSON.stringify(entry(0))}\n`.length;
    const log = new AuditLog(dir, { maxBytes: line * 3 + 10, keep: 2 });
    for (let i = 1; i <= 12; i++) await log.append(entry(i));
    const files = (await readdir(dir)).sort();
    expect(files).toEqual(['audit.log', 'audit.log.1', 'audit.log.2']);
    for (const file of files) expect((await stat(join(dir, file))).size).toBeLessThanOrEqual(line * 3 + 10);
    const jobs = (await log.read({ limit: 100 })).entries.map((e) => e.job);
    expect(jobs).toEqual(['job4', 'job5', 'job6', 'job7', 'job8', 'job9', 'job10', 'job11', 'job12']);
  });

  it('answers the newest entries of operations that ended since a time, up to a limit', async () => {
    const log = new AuditLog(dir);
    for (let i = 1; i <= 6; i++) await log.append(entry(i));
    // job3 started at 0:00:03 and took 1.2 s.
    const since = Date.UTC(2026, 0, 1, 0, 0, 3) + 1200;
    expect((await log.read({ since, limit: 100 })).entries.map((e) => e.job)).toEqual([
      'job3',
      'job4',
      'job5',
      'job6',
    ]);
    expect(await log.read({ since, limit: 2 })).toMatchObject({ truncated: true });
    expect((await log.read({ since, limit: 2 })).entries.map((e) => e.job)).toEqual(['job5', 'job6']);
  });

  it('a long operation that started before `since` but ended after it is still new (the order is by end)', async () => {
    const log = new AuditLog(dir);
    await log.append(entry(10, { job: 'short', durationMs: 1000 })); // 0:00:10 → 0:00:11
    await log.append(entry(5, { job: 'long', durationMs: 60_000 })); // 0:00:05 → 0:01:05
    const since = Date.UTC(2026, 0, 1, 0, 0, 11);
    expect((await log.read({ since, limit: 10 })).entries.map((e) => e.job)).toEqual(['short', 'long']);
    expect((await log.read({ since: since + 1, limit: 10 })).entries.map((e) => e.job)).toEqual(['long']);
  });

  it('reads across many chunks and files from the end, as far as asked', async () => {
    const log = new AuditLog(dir, { maxBytes: 200 * 1024, keep: 3 });
    for (let i = 0; i < 2000; i++)
      await log.append(
        entry(i % 3600, { job: `j${i}`, at: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString() }),
      );
    const all = await log.read({ limit: 5000 });
    expect(all.entries.map((e) => e.job)).toEqual(
      Array.from({ length: 2000 }, (_, i) => `j${i}`).slice(-all.entries.length),
    );
    expect(all.entries.length).toBeGreaterThan(1000);
    const last = await log.read({ limit: 3 });
    expect(last).toEqual({ entries: all.entries.slice(-3), truncated: true });
  });

  it('refuses to write through a symlink in place of the log', async () => {
    const { symlink } = await import('node:fs/promises');
    const target = join(dir, 'elsewhere');
    await writeFile(target, '');
    await symlink(target, join(dir, 'audit.log'));
    await expect(new AuditLog(dir).append(entry(1))).rejects.toThrow(/ELOOP|symbolic/);
    expect(await readFile(target, 'utf8')).toBe('');
  });
});

describe('the audit query', () => {
  const now = Date.UTC(2026, 0, 1, 12);
  it('reads since as a duration back from the agent clock or an ISO time, and a limit', () => {
    expect(parseAuditQuery(new URLSearchParams('since=1h'), now)).toEqual({
      since: now - 3_600_000,
      limit: 500,
    });
    expect(parseAuditQuery(new URLSearchParams('since=2026-01-01T10:00:00Z&limit=5'), now)).toEqual({
      since: Date.UTC(2026, 0, 1, 10),
      limit: 5,
    });
    expect(parseAuditQuery(new URLSearchParams(''), now)).toEqual({ limit: 500 });
  });

  it('refuses a bad since or limit, naming it', () => {
    expect(() => parseAuditQuery(new URLSearchParams('since=yesterday'), now)).toThrow(
      /since: must be a duration/,
    );
    expect(() => parseAuditQuery(new URLSearchParams('limit=0'), now)).toThrow(
      /limit: must be a whole number/,
    );
    expect(() => parseAuditQuery(new URLSearchParams('limit=9999999'), now)).toThrow(/limit/);
  });
});
