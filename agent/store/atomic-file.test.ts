import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensurePrivateDirectory, removeStaleTempFiles, writeFileAtomic } from './atomic-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dokkup-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('replaces the file by rename (new inode), never by rewriting it in place', async () => {
    const file = join(dir, 'state.json');
    await writeFileAtomic(file, 'old');
    const before = await stat(file);
    await writeFileAtomic(file, 'new');
    const after = await stat(file);
    expect(await readFile(file, 'utf8')).toBe('new');
    // A reader holding the old file still sees the old content whole; the name now points elsewhere.
    expect(after.ino).not.toBe(before.ino);
    expect(after.mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('applies the mode exactly, whatever the umask', async () => {
    const file = join(dir, 'key.json');
    const previous = process.umask(0);
    try {
      await writeFileAtomic(file, 'x', 0o600);
    } finally {
      process.umask(previous);
    }
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('leaves the old file and no temp file when the rename fails', async () => {
    // The target is a non-empty directory: rename over it fails after the temp file was written.
    const target = join(dir, 'blocked');
    await mkdir(target);
    await writeFile(join(target, 'inside'), 'keep');
    await expect(writeFileAtomic(target, 'new')).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['blocked']);
    expect(await readFile(join(target, 'inside'), 'utf8')).toBe('keep');
  });
});

describe('removeStaleTempFiles', () => {
  it('removes only temp files of interrupted writes', async () => {
    await writeFile(join(dir, 'web.json'), '{}');
    await writeFile(join(dir, '.web.json.0123456789ab.tmp'), '{');
    await writeFile(join(dir, '.keep-me'), '');
    expect(await removeStaleTempFiles(dir)).toEqual(['.web.json.0123456789ab.tmp']);
    expect((await readdir(dir)).sort()).toEqual(['.keep-me', 'web.json']);
  });
});

describe('ensurePrivateDirectory', () => {
  it('creates missing parents and makes an existing open directory 0700', async () => {
    const nested = join(dir, 'a', 'b');
    await ensurePrivateDirectory(nested);
    expect((await stat(nested)).mode & 0o777).toBe(0o700);
    const open = join(dir, 'open');
    await mkdir(open, { mode: 0o755 });
    await ensurePrivateDirectory(open);
    expect((await stat(open)).mode & 0o777).toBe(0o700);
  });
});
