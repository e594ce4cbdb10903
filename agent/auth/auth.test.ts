import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  bearerKey,
  DEFAULT_SCRYPT_PARAMS,
  FailureThrottle,
  hashKey,
  issueKey,
  KeyFileError,
  KeyRecordSchema,
  KeyVerifier,
  keyFilePath,
  loadOrCreateKey,
  rotateKey,
} from './index.js';

/** Cheap scrypt for tests that check logic, not cost (the real cost is covered below). */
const FAST = { N: 2 ** 10, r: 8, p: 1, keyLength: 32 };

function request(authorization: string | undefined, remoteAddress = '10.0.0.1') {
  return {
    headers: authorization === undefined ? {} : { authorization },
    socket: { remoteAddress },
  } as unknown as IncomingMessage;
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dokkup-auth-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('issueKey', () => {
  it('gives 43 URL-safe characters from 32 random bytes, different every time', () => {
    const keys = new Set(Array.from({ length: 200 }, issueKey));
    expect(keys.size).toBe(200);
    for (const key of keys) {
      expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(key, 'base64url')).toHaveLength(32);
    }
  });
});

describe('loadOrCreateKey', () => {
  it('issues a key on first start only, storing just a scrypt hash in a 0600 file', async () => {
    const dataDir = join(dir, 'config');
    const first = await loadOrCreateKey(dataDir);
    expect(first.newKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const key = first.newKey!;

    const text = await readFile(keyFilePath(dataDir), 'utf8');
    expect(text).not.toContain(key);
    const record = KeyRecordSchema.parse(JSON.parse(text));
    expect(record).toMatchObject({ algorithm: 'scrypt', N: DEFAULT_SCRYPT_PARAMS.N, r: 8, p: 1 });
    expect(Buffer.from(record.salt, 'base64').length).toBeGreaterThanOrEqual(16);
    expect((await stat(keyFilePath(dataDir))).mode & 0o777).toBe(0o600);
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);

    expect(first.verifier.verify(key)).toBe(true);
    expect(first.verifier.verify(issueKey())).toBe(false);

    const second = await loadOrCreateKey(dataDir);
    expect(second.newKey).toBeNull();
    expect(await second.verifier.verifyAsync(key)).toBe(true);
    expect(await readFile(keyFilePath(dataDir), 'utf8')).toBe(text);
  });

  it('makes a key file that became world-readable private again', async () => {
    await loadOrCreateKey(dir, { params: FAST });
    await chmod(keyFilePath(dir), 0o644);
    await loadOrCreateKey(dir, { params: FAST });
    expect((await stat(keyFilePath(dir))).mode & 0o777).toBe(0o600);
  });

  it('refuses a damaged key file with a clear error instead of silently issuing a new key', async () => {
    await writeFile(keyFilePath(dir), '{"schema":1,"algorithm":"md5"}');
    await expect(loadOrCreateKey(dir)).rejects.toThrow(KeyFileError);
    await expect(loadOrCreateKey(dir)).rejects.toThrow(/algorithm.*--rotate-key/s);
    await writeFile(keyFilePath(dir), 'not json');
    await expect(loadOrCreateKey(dir)).rejects.toThrow(/not valid JSON/);
  });
});

describe('rotateKey', () => {
  it('issues a new key and the old one stops working, in this and in a running verifier', async () => {
    const { verifier: running, newKey: oldKey } = await loadOrCreateKey(dir, { params: FAST });
    expect(running.verify(oldKey!)).toBe(true); // also primes the cache with the old key

    const newKey = await rotateKey(dir, { params: FAST });
    expect(newKey).not.toBe(oldKey);
    expect(running.verify(oldKey!)).toBe(false);
    expect(await running.verifyAsync(oldKey!)).toBe(false);
    expect(running.verify(newKey)).toBe(true);

    const restarted = await loadOrCreateKey(dir, { params: FAST });
    expect(restarted.newKey).toBeNull();
    expect(restarted.verifier.verify(oldKey!)).toBe(false);
    expect(restarted.verifier.verify(newKey)).toBe(true);
    expect((await stat(keyFilePath(dir))).mode & 0o777).toBe(0o600);
  });

  it('refuses every key once the key file is damaged (fails closed) until it is rotated', async () => {
    const warnings: string[] = [];
    const { verifier, newKey } = await loadOrCreateKey(dir, {
      params: FAST,
      logger: { warn: (_details, message) => warnings.push(message) },
    });
    expect(verifier.verify(newKey!)).toBe(true);
    await writeFile(keyFilePath(dir), 'garbage');
    expect(verifier.verify(newKey!)).toBe(false);
    expect(warnings.join('\n')).toMatch(/unreadable/);
    const rotated = await rotateKey(dir, { params: FAST });
    expect(verifier.verify(rotated)).toBe(true);
  });
});

describe('KeyVerifier', () => {
  const key = issueKey();

  it('accepts exactly the key, rejecting near misses, empty and huge inputs', async () => {
    const verifier = KeyVerifier.forKey(key, { params: FAST });
    expect(verifier.verify(key)).toBe(true);
    expect(await verifier.verifyAsync(key)).toBe(true);
    for (const wrong of [
      key.slice(0, -1),
      `${key}x`,
      key.toUpperCase(),
      '',
      ' '.repeat(43),
      'k'.repeat(100_000),
    ]) {
      expect(verifier.verify(wrong)).toBe(false);
      expect(await verifier.verifyAsync(wrong)).toBe(false);
    }
  });

  it('checks a record made with the default (costly) parameters', () => {
    const verifier = KeyVerifier.fromRecord(hashKey(key));
    expect(verifier.verify(key)).toBe(true);
    expect(verifier.verify(issueKey())).toBe(false);
  });

  it('reads the bearer key from the Authorization header', () => {
    expect(bearerKey(request(`Bearer ${key}`))).toBe(key);
    expect(bearerKey(request(`bearer ${key}`))).toBe(key);
    expect(bearerKey(request(`Basic ${key}`))).toBeNull();
    expect(bearerKey(request(`Bearer ${key} extra`))).toBeNull();
    expect(bearerKey(request(undefined))).toBeNull();
  });

  it('authorizes requests: ok, missing, invalid', async () => {
    const verifier = KeyVerifier.forKey(key, { params: FAST });
    expect(await verifier.authorize(request(`Bearer ${key}`))).toEqual({ ok: true });
    expect(await verifier.authorize(request(undefined))).toEqual({ ok: false, reason: 'missing' });
    expect(await verifier.authorize(request('Bearer nope'))).toEqual({ ok: false, reason: 'invalid' });
    expect(verifier.verifyRequestAuth(request(`Bearer ${key}`))).toBe(true);
    expect(verifier.verifyRequestAuth(request('Bearer nope'))).toBe(false);
    expect(verifier.verifyRequestAuth(request(undefined))).toBe(false);
  });

  it('throttles an address after 10 wrong keys a minute, even for the right key, then lets it back', async () => {
    let now = 1_000_000;
    const verifier = KeyVerifier.forKey(key, { params: FAST, throttle: { now: () => now } });
    for (let i = 0; i < 9; i++) expect((await verifier.authorize(request('Bearer wrong'))).ok).toBe(false);
    expect(await verifier.authorize(request(`Bearer ${key}`, '10.0.0.1'))).toEqual({ ok: true });
    // The success reset the count: nine more wrong keys are still not a block.
    for (let i = 0; i < 9; i++) await verifier.authorize(request('Bearer wrong'));
    expect(await verifier.authorize(request('Bearer wrong'))).toEqual({ ok: false, reason: 'invalid' });
    expect(await verifier.authorize(request(`Bearer ${key}`))).toEqual({
      ok: false,
      reason: 'throttled',
      retryAfterSeconds: 60,
    });
    expect(verifier.verifyRequestAuth(request(`Bearer ${key}`))).toBe(false);
    // Other addresses are unaffected.
    expect(await verifier.authorize(request(`Bearer ${key}`, '10.0.0.2'))).toEqual({ ok: true });
    now += 30_000;
    expect(await verifier.authorize(request(`Bearer ${key}`))).toMatchObject({ retryAfterSeconds: 30 });
    now += 30_001;
    expect(await verifier.authorize(request(`Bearer ${key}`))).toEqual({ ok: true });
  });

  it('forgets failures older than the window', async () => {
    let now = 0;
    const verifier = KeyVerifier.forKey(key, { params: FAST, throttle: { now: () => now } });
    for (let i = 0; i < 9; i++) await verifier.authorize(request('Bearer wrong'));
    now += 61_000;
    for (let i = 0; i < 9; i++) await verifier.authorize(request('Bearer wrong'));
    expect(await verifier.authorize(request(`Bearer ${key}`))).toEqual({ ok: true });
  });
});

describe('FailureThrottle', () => {
  it('keeps memory bounded under failures from very many addresses', () => {
    const throttle = new FailureThrottle({ maxAddresses: 100, now: () => 5 });
    for (let i = 0; i < 5000; i++) throttle.recordFailure(`10.1.${i >> 8}.${i & 255}`);
    expect(throttle.size).toBeLessThanOrEqual(100);
  });
});
