/**
 * Crash-safe file replacement: a reader (or a restarted agent after `kill -9`) sees either the
 * whole old file or the whole new one, never a torn write.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Temp files are `.<target>.<random>.tmp` beside the target, so the rename stays on one filesystem. */
const TEMP_FILE_PATTERN = /^\..+\.[0-9a-f]{12}\.tmp$/;

/**
 * Writes `data` to `path` atomically: temp file in the same directory (created with `mode`),
 * fsync it, rename over the target, then fsync the directory so the rename itself is durable.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let renamed = false;
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(data);
      // The umask only ever narrows the creation mode; chmod makes the mode exact anyway.
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    renamed = true;
    await syncDirectory(dir);
  } finally {
    if (!renamed) await rm(temp, { force: true });
  }
}

/** fsync a directory so that a rename or unlink inside it survives a power loss. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Removes temp files left by writes that died before their rename (the target files themselves
 * are untouched). Only call this where no other writer is active, e.g. on first use of a store.
 */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    if (!TEMP_FILE_PATTERN.test(name)) continue;
    await rm(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

/** Creates `dir` (and parents) and makes `dir` itself private to its owner. */
export async function ensurePrivateDirectory(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    await chmod(dir, 0o700);
  } catch (error) {
    // A directory we may use but do not own (e.g. a mounted volume): its owner decides the mode.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
  }
}
