/** Reading a user's file with clear errors instead of Node's stack traces. */
import { readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { InputError, InputErrors } from '../core/errors.js';

/** Job files are small; anything bigger is a mistake (wrong file, a log, a binary). */
export const MAX_FILE_BYTES = 1024 * 1024;
/**
 * An inventory of ten thousand nodes, each with its key and certificate fingerprint written
 * out (about 180 bytes a node), is about 2 MiB.
 */
export const MAX_INVENTORY_BYTES = 4 * 1024 * 1024;

export interface FileLimit {
  bytes: number;
  /** What the file is, for the message: `job`, `inventory`. */
  noun: string;
}

const JOB_LIMIT: FileLimit = { bytes: MAX_FILE_BYTES, noun: 'job' };

/** The file's text; throws `InputErrors` naming the file when it can't be used. */
export async function readUserFile(path: string, limit: FileLimit = JOB_LIMIT): Promise<string> {
  const fail = (message: string): never => {
    throw new InputErrors([new InputError(`${path}: ${message}`)]);
  };
  let bytes: Buffer;
  try {
    const info = await stat(path);
    if (info.isDirectory()) fail('is a directory, expected a YAML file');
    if (info.isFile() && info.size > limit.bytes) fail(tooBig(info.size, limit));
    bytes = await readFile(path);
  } catch (err) {
    if (err instanceof InputErrors) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return fail('no such file');
    if (code === 'EACCES' || code === 'EPERM') return fail('permission denied');
    if (code === 'EISDIR') return fail('is a directory, expected a YAML file');
    return fail(`cannot be read: ${(err as Error).message}`);
  }
  return decode(bytes, fail, limit);
}

const ENV_LIMIT: FileLimit = { bytes: MAX_FILE_BYTES, noun: 'env' };

/**
 * `readUserFile` for the small dotenv files a job file names (`env_file:`), read while the job
 * file is parsed.
 */
export function readEnvFileSync(path: string): string {
  const fail = (message: string): never => {
    throw new InputErrors([new InputError(`${path}: ${message}`)]);
  };
  let bytes: Buffer;
  try {
    const info = statSync(path);
    if (info.isDirectory()) fail('is a directory, expected an env file');
    if (info.isFile() && info.size > ENV_LIMIT.bytes) fail(tooBig(info.size, ENV_LIMIT));
    bytes = readFileSync(path);
  } catch (err) {
    if (err instanceof InputErrors) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return fail('no such file');
    if (code === 'EACCES' || code === 'EPERM') return fail('permission denied');
    return fail(`cannot be read: ${(err as Error).message}`);
  }
  return decode(bytes, fail, ENV_LIMIT, 'env');
}

function decode(bytes: Buffer, fail: (message: string) => never, limit: FileLimit, what = 'YAML'): string {
  // Pipes and devices have no size up front, so check again after reading.
  if (bytes.length > limit.bytes) fail(tooBig(bytes.length, limit));
  if (bytes.includes(0)) fail(`is a binary file, expected ${what} text`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fail('is not UTF-8 text');
  }
}

function tooBig(size: number, limit: FileLimit): string {
  return `is ${(size / 1024 / 1024).toFixed(1)} MiB; ${limit.noun} files are limited to ${limit.bytes / 1024 / 1024} MiB`;
}
