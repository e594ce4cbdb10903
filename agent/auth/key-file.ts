/**
 * The agent's API key. The key is a root password for the host (it drives the Docker socket), so
 * it comes from the CSPRNG, is shown once, and only a salted scrypt hash of it is ever stored.
 */
import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import { chmod, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { parseJson } from '../../src/protocol/parse.js';
import { ensurePrivateDirectory, writeFileAtomic } from '../store/atomic-file.js';

export const KEY_FILE_NAME = 'agent-key.json';

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
  keyLength: number;
}

/** ~32 MiB and tens of milliseconds per guess: cheap once per start, costly for a brute force. */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { N: 2 ** 15, r: 8, p: 1, keyLength: 32 };

export const KeyRecordSchema = z.strictObject({
  schema: z.literal(1),
  algorithm: z.literal('scrypt'),
  N: z
    .number()
    .int()
    .min(2)
    .max(2 ** 18)
    .refine((n) => (n & (n - 1)) === 0, 'must be a power of two'),
  r: z.number().int().min(1).max(16),
  p: z.number().int().min(1).max(16),
  keyLength: z.number().int().min(16).max(64),
  /** base64 */
  salt: z.string().min(16),
  /** base64 of scrypt(key, salt) */
  hash: z.string().min(16),
  /** ISO-8601. */
  createdAt: z.string(),
});
export type KeyRecord = z.infer<typeof KeyRecordSchema>;

/** A fresh API key: 32 random bytes, base64url (43 URL-safe characters). */
export function issueKey(): string {
  return randomBytes(32).toString('base64url');
}

function scryptOptions(record: Pick<KeyRecord, 'N' | 'r' | 'p'>) {
  // Node refuses scrypt above `maxmem` (32 MiB by default), which N=2^15, r=8 just reaches.
  return { N: record.N, r: record.r, p: record.p, maxmem: 256 * record.N * record.r + 1024 * 1024 };
}

export function hashKey(
  key: string,
  params: ScryptParams = DEFAULT_SCRYPT_PARAMS,
  now = new Date(),
): KeyRecord {
  const salt = randomBytes(16);
  const hash = scryptSync(key, salt, params.keyLength, scryptOptions(params));
  return {
    schema: 1,
    algorithm: 'scrypt',
    ...params,
    salt: salt.toString('base64'),
    hash: hash.toString('base64'),
    createdAt: now.toISOString(),
  };
}

/** Constant-time check of a presented key against a record (blocks for one scrypt). */
export function keyMatchesSync(record: KeyRecord, presented: string): boolean {
  const expected = Buffer.from(record.hash, 'base64');
  const derived = scryptSync(
    presented,
    Buffer.from(record.salt, 'base64'),
    expected.length,
    scryptOptions(record),
  );
  return timingSafeEqual(derived, expected);
}

/** Same as `keyMatchesSync`, with scrypt on libuv's thread pool so requests keep flowing. */
export function keyMatches(record: KeyRecord, presented: string): Promise<boolean> {
  const expected = Buffer.from(record.hash, 'base64');
  return new Promise((resolve, reject) => {
    scrypt(
      presented,
      Buffer.from(record.salt, 'base64'),
      expected.length,
      scryptOptions(record),
      (error, derived) => (error ? reject(error) : resolve(timingSafeEqual(derived, expected))),
    );
  });
}

export function keyFilePath(dataDir: string): string {
  return join(dataDir, KEY_FILE_NAME);
}

export class KeyFileError extends Error {
  override readonly name = 'KeyFileError';
}

/** The stored record, or null when there is no key file yet. A damaged file is an error, never replaced silently. */
export async function readKeyRecord(path: string): Promise<KeyRecord | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new KeyFileError(`cannot read ${path}: ${(error as Error).message}`);
  }
  return parseKeyRecord(path, text);
}

export function parseKeyRecord(path: string, text: string): KeyRecord {
  const parsed = parseJson(text, KeyRecordSchema);
  if (parsed.ok) return parsed.value;
  const { kind, path: field, message } = parsed.problem;
  const what = kind === 'syntax' ? `${path} is not valid JSON` : `${path}: ${field || '(root)'}: ${message}`;
  throw new KeyFileError(`${what}; run \`dokkup agent --rotate-key\` to issue a new key`);
}

/** Hashes `key` and stores the record as `<dataDir>/agent-key.json` (0600, atomic, data dir 0700). */
export async function storeKey(
  dataDir: string,
  key: string,
  params: ScryptParams = DEFAULT_SCRYPT_PARAMS,
): Promise<KeyRecord> {
  await ensurePrivateDirectory(dataDir);
  const record = hashKey(key, params);
  await writeFileAtomic(keyFilePath(dataDir), `${JSON.stringify(record, null, 2)}\n`, 0o600);
  return record;
}

/** An existing key file left readable by others (copied, restored from a backup) is made private again. */
export async function tightenKeyFileMode(path: string): Promise<void> {
  try {
    await chmod(path, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
  }
}
