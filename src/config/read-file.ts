/** Reading a user's file with clear errors instead of Node's stack traces. */
import { readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { InputError, InputErrors } from '../core/errors.js';

/** Job and inventory files are small; anything bigger is a mistake (wrong file, a log, a binary). */
export const MAX_FILE_BYTES = 1024 * 1024;

/** The file's text; throws `InputErrors` naming the file when it can't be used. */
export async function readUserFile(path: string): Promise<string> {
  const fail = (message: string): never => {
    throw new InputErrors([new InputError(`${path}: ${message}`)]);
  };
  let bytes: Buffer;
  try {
    const info = await stat(path);
    if (info.isDirectory()) fail('is a directory, expected a YAML file');
    if (info.isFile() && info.size > MAX_FILE_BYTES) fail(tooBig(info.size));
    bytes = await readFile(path);
  } catch (err) {
    if (err instanceof InputErrors) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return fail('no such file');
    if (code === 'EACCES' || code === 'EPERM') return fail('permission denied');
    if (code === 'EISDIR') return fail('is a directory, expected a YAML file');
    return fail(`cannot be read: ${(err as Error).message}`);
  }
  return decode(bytes, fail);
}

/**
 * `readUserFile` for the small files a job file names (env files), read while the job file is
 * parsed. `what` names the kind of file in messages (`YAML`, `env`).
 */
export function readUserFileSync(path: string, what = 'YAML'): string {
  const fail = (message: string): never => {
    throw new InputErrors([new InputError(`${path}: ${message}`)]);
  };
  let bytes: Buffer;
  try {
    const info = statSync(path);
    if (info.isDirectory()) fail(`is a directory, expected ${what === 'YAML' ? 'a YAML' : 'an env'} file`);
    if (info.isFile() && info.size > MAX_FILE_BYTES) fail(tooBig(info.size));
    bytes = readFileSync(path);
  } catch (err) {
    if (err instanceof InputErrors) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return fail('no such file');
    if (code === 'EACCES' || code === 'EPERM') return fail('permission denied');
    return fail(`cannot be read: ${(err as Error).message}`);
  }
  return decode(bytes, fail, what);
}

function decode(bytes: Buffer, fail: (message: string) => never, what = 'YAML'): string {
  // Pipes and devices have no size up front, so check again after reading.
  if (bytes.length > MAX_FILE_BYTES) fail(tooBig(bytes.length));
  if (bytes.includes(0)) fail(`is a binary file, expected ${what} text`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fail('is not UTF-8 text');
  }
}

function tooBig(size: number): string {
  return `is ${(size / 1024 / 1024).toFixed(1)} MiB; job and inventory files are limited to ${MAX_FILE_BYTES / 1024 / 1024} MiB`;
}
