/**
 * The agent's API key. The key is a root password for the host (it drives the Docker socket), so
 * it comes from the CSPRNG (256 bits), is shown once, and only a digest of it is ever stored.
 *
 * A SHA-256 digest is the right hash here: a slow password hash protects guessable secrets; a
 * 256-bit random key cannot be guessed however fast the hash, and a slow hash would only make
 * every wrong key cost the agent CPU (0.3 stored scrypt). 0.3 records (`scrypt`) are still read,
 * and rewritten as SHA-256 on the first request that presents the right key (the agent never
 * has the key before that).
 *
 * Writers of the record (first start, `--rotate-key` in another process, that migration) take a
 * lock file beside it, so a migration can never put back a key that a rotation just replaced.
 */
import { createHash, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import { open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { parseJson } from '../../src/protocol/parse.js';
import { ensurePrivateDirectory, writeFileAtomic } from '../store/atomic-file.js';
import { readPrivateFileSync } from '../store/private-file.js';

export const KEY_FILE_NAME = 'agent-key.json';

const Sha256RecordSchema = z.strictObject({
  schema: z.literal(2),
  algorithm: z.literal('sha256'),
  /** base64 of SHA-256(key). */
  digest: z.string().length(44),
  /** `keyIdOf(key)`: names the key in the audit log and the agent's logs. */
  keyId: z.string().regex(/^[0-9a-f]{12}$/),
  /** ISO-8601. */
  createdAt: z.string(),
});

/** 0.3's record: read and checked, never written again. */
const ScryptRecordSchema = z.strictObject({
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
  createdAt: z.string(),
});

export const KeyRecordSchema = z.discriminatedUnion('algorithm', [Sha256RecordSchema, ScryptRecordSchema]);
export type KeyRecord = z.infer<typeof KeyRecordSchema>;
export type Sha256KeyRecord = z.infer<typeof Sha256RecordSchema>;
export type ScryptKeyRecord = z.infer<typeof ScryptRecordSchema>;

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
  keyLength: number;
}

/** 0.3's parameters (~32 MiB and tens of milliseconds per check). */
export const LEGACY_SCRYPT_PARAMS: ScryptParams = { N: 2 ** 15, r: 8, p: 1, keyLength: 32 };

/** A fresh API key: 32 random bytes, base64url (43 URL-safe characters). */
export function issueKey(): string {
  return randomBytes(32).toString('base64url');
}

export function keyDigest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/**
 * A short public name for a key: 12 hex characters of a hash kept apart from the stored digest
 * (another input), so it gives away nothing the digest would not.
 */
export function keyIdOf(key: string): string {
  return createHash('sha256').update('dokkup key id\0').update(key, 'utf8').digest('hex').slice(0, 12);
}

export function hashKey(key: string, createdAt = new Date().toISOString()): Sha256KeyRecord {
  return {
    schema: 2,
    algorithm: 'sha256',
    digest: keyDigest(key).toString('base64'),
    keyId: keyIdOf(key),
    createdAt,
  };
}

/** A 0.3 record, for tests of reading and migrating one. */
export function legacyScryptRecord(
  key: string,
  params: ScryptParams = LEGACY_SCRYPT_PARAMS,
  now = new Date(),
): ScryptKeyRecord {
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

function scryptOptions(record: Pick<ScryptKeyRecord, 'N' | 'r' | 'p'>) {
  // Node refuses scrypt above `maxmem` (32 MiB by default), which N=2^15, r=8 just reaches.
  return { N: record.N, r: record.r, p: record.p, maxmem: 256 * record.N * record.r + 1024 * 1024 };
}

/** Constant-time check against a SHA-256 record: microseconds, so it never leaves the event loop. */
export function sha256Matches(record: Sha256KeyRecord, presented: string): boolean {
  return timingSafeEqual(keyDigest(presented), Buffer.from(record.digest, 'base64'));
}

/** Constant-time check against a 0.3 scrypt record, on libuv's thread pool. */
export function scryptMatches(record: ScryptKeyRecord, presented: string): Promise<boolean> {
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

/**
 * The stored record, or null when there is no key file yet. A damaged file, a symlink or a file
 * others may write is an error, never replaced silently.
 */
export function readKeyRecordSync(path: string): KeyRecord | null {
  let text: string | null;
  try {
    text = readPrivateFileSync(path);
  } catch (error) {
    throw new KeyFileError(`cannot read ${path}: ${(error as Error).message}`);
  }
  return text === null ? null : parseKeyRecord(path, text);
}

export async function readKeyRecord(path: string): Promise<KeyRecord | null> {
  return readKeyRecordSync(path);
}

export function parseKeyRecord(path: string, text: string): KeyRecord {
  const parsed = parseJson(text, KeyRecordSchema);
  if (parsed.ok) return parsed.value;
  const { kind, path: field, message } = parsed.problem;
  const what = kind === 'syntax' ? `${path} is not valid JSON` : `${path}: ${field || '(root)'}: ${message}`;
  throw new KeyFileError(`${what}; run \`dokkup agent --rotate-key\` to issue a new key`);
}

// ---------------------------------------------------------------------------------------------
// Writing, under the lock

/** A lock older than this was left by a process that died: taken over. */
const STALE_LOCK_MS = 30_000;

function lockPath(dataDir: string): string {
  return join(dataDir, `${KEY_FILE_NAME}.lock`);
}

/** Takes the key file's lock; `wait: false` gives up at once when another writer holds it. */
async function acquireKeyLock(dataDir: string, wait: boolean): Promise<(() => Promise<void>) | null> {
  const path = lockPath(dataDir);
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const age = await stat(path).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > STALE_LOCK_MS) {
      await rm(path, { force: true });
      continue;
    }
    if (!wait || Date.now() > deadline) {
      if (!wait) return null;
      throw new KeyFileError(
        `${path} is held by another process (remove it if no dokkup agent is writing the key)`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Stores the record as `<dataDir>/agent-key.json` (0600, atomic, data dir 0700), under the lock. */
export async function storeKey(dataDir: string, key: string): Promise<Sha256KeyRecord> {
  await ensurePrivateDirectory(dataDir);
  const release = await acquireKeyLock(dataDir, true);
  try {
    const record = hashKey(key);
    await writeFileAtomic(keyFilePath(dataDir), `${JSON.stringify(record, null, 2)}\n`, 0o600);
    return record;
  } finally {
    await release?.();
  }
}

/**
 * Replaces a 0.3 scrypt record by the SHA-256 record of `key` (which just matched it), unless
 * the file changed since `verified` was read (a rotation won) or another writer holds the lock
 * (tried again on the next request). Returns the new record, or null when it did nothing.
 */
export async function migrateKeyRecord(
  dataDir: string,
  verified: ScryptKeyRecord,
  key: string,
): Promise<Sha256KeyRecord | null> {
  const release = await acquireKeyLock(dataDir, false);
  if (!release) return null;
  try {
    const now = readKeyRecordSync(keyFilePath(dataDir));
    if (now?.algorithm !== 'scrypt' || now.hash !== verified.hash || now.salt !== verified.salt) return null;
    const record = hashKey(key, verified.createdAt);
    await writeFileAtomic(keyFilePath(dataDir), `${JSON.stringify(record, null, 2)}\n`, 0o600);
    return record;
  } finally {
    await release();
  }
}
