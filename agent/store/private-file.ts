/**
 * The agent's data directory stays its owner's: on every start, and on every read of a secret,
 * nothing in it may be a symlink, belong to another user, or be writable by anyone else. A
 * directory or file that is refuses the start with a message saying what to fix; none is
 * repaired silently except a secret that others can merely read (made 0600 again, with a warning).
 *
 * Every file the agent keeps there (the key record, a TLS certificate and private key, the audit
 * log, job history) is covered without being named: the whole tree is checked.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import { chmod, lstat, readdir, realpath } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export class DataDirectoryError extends Error {
  override readonly name = 'DataDirectoryError';
}

export interface OwnerCheckOptions {
  /** The agent's user (default `process.getuid()`; undefined where there are no uids). */
  uid?: number;
  /** Told about secrets made private again. */
  warn?: (details: object, message: string) => void;
}

function currentUid(): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined;
}

function modeText(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** Why `stats` of `path` (a data directory entry) is not the agent's alone, or null. */
export function ownershipProblem(path: string, stats: Stats, uid: number | undefined): string | null {
  if (stats.isSymbolicLink())
    return `${path} is a symbolic link; the agent never follows one in its data directory (put the real file or directory there)`;
  if (uid !== undefined && stats.uid !== uid) {
    return `${path} belongs to user ${stats.uid}, not to the agent's user ${uid} (chown it, or run the agent as its owner)`;
  }
  if (stats.mode & 0o022) {
    return `${path} is writable by ${stats.mode & 0o002 ? 'every user' : 'its group'} (mode ${modeText(stats.mode)}); run: chmod go-w ${path}`;
  }
  return null;
}

/**
 * Refuses a data directory that others could tamper with: it (if it exists yet) and everything
 * in it must be the agent user's, not group- or world-writable and no symlink; the directories
 * above it must belong to root or that user and be writable by no one else (unless sticky, like
 * /tmp), as ssh requires of a home directory.
 */
export async function checkDataDirectory(dir: string, options: OwnerCheckOptions = {}): Promise<void> {
  const uid = options.uid ?? currentUid();
  let stats: Stats;
  try {
    stats = await lstat(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      await checkAncestors(dirname(dir), uid);
      return;
    }
    throw new DataDirectoryError(`cannot inspect the data directory ${dir}: ${(error as Error).message}`);
  }
  const own = ownershipProblem(dir, stats, uid);
  if (own) throw new DataDirectoryError(own);
  if (!stats.isDirectory()) throw new DataDirectoryError(`${dir} is not a directory`);
  await checkAncestors(dirname(await realpath(dir)), uid);
  await checkTree(dir, uid, options.warn);
}

async function checkAncestors(start: string, uid: number | undefined): Promise<void> {
  let dir: string;
  try {
    dir = await realpath(start);
  } catch {
    // Created on first start; its parents are what exists of the path.
    return dirname(start) === start ? undefined : checkAncestors(dirname(start), uid);
  }
  for (;;) {
    const stats = await lstat(dir);
    if (uid !== undefined && stats.uid !== 0 && stats.uid !== uid) {
      throw new DataDirectoryError(
        `${dir}, above the data directory, belongs to user ${stats.uid}: that user could replace the data directory (use a directory under one owned by root or by the agent's user)`,
      );
    }
    const sticky = (stats.mode & 0o1000) !== 0;
    if (stats.mode & 0o022 && !sticky) {
      throw new DataDirectoryError(
        `${dir}, above the data directory, is writable by others (mode ${modeText(stats.mode)}): they could replace the data directory`,
      );
    }
    const parent = dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}

async function checkTree(
  dir: string,
  uid: number | undefined,
  warn: OwnerCheckOptions['warn'],
): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const stats = await lstat(path);
    const problem = ownershipProblem(path, stats, uid);
    if (problem) throw new DataDirectoryError(problem);
    if (stats.isDirectory()) await checkTree(path, uid, warn);
    else if (stats.isFile() && stats.mode & 0o044) {
      // Readable by others (copied, restored from a backup): private again, as it was written.
      await chmod(path, 0o600);
      warn?.(
        { file: path, mode: modeText(stats.mode) },
        'a file in the data directory was readable by others; made it private (0600)',
      );
    }
  }
}

/**
 * Reads a secret without following a symlink (O_NOFOLLOW) and refuses one that another user
 * owns or that others can write. Null when there is no such file. Synchronous: the key check
 * re-reads the key record in the middle of a request.
 */
export function readPrivateFileSync(
  path: string,
  options: Pick<OwnerCheckOptions, 'uid'> = {},
): string | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') {
      throw new DataDirectoryError(`${path} is a symbolic link; the agent never follows one for its secrets`);
    }
    throw error;
  }
  try {
    const stats = fstatSync(fd);
    const problem = stats.isFile()
      ? ownershipProblem(path, stats, options.uid ?? currentUid())
      : `${path} is not a regular file`;
    if (problem) throw new DataDirectoryError(problem);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
