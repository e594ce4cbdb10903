import { chmod, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  bearerKey,
  FailureThrottle,
  hashKey,
  InFlightLimit,
  issueKey,
  KeyFileError,
  KeyRecordSchema,
  KeyVerifier,
  keyFilePath,
  keyIdOf,
  legacyScryptRecord,
  loadOrCreateKey,
  migrateKeyRecord,
  readKeyRecordSync,
  rotateKey,
} from './index.js';

/** Cheap scrypt for 0.3 records in tests that check logic, not cost. */
const FAST = { N: 2 ** 10, r: 8, p: 1, keyLength: 32 };

function request(authorization: string | undefined, remoteAddress = '10.0.0.1') {
  return {
    headers: authorization === undefined ? {} : { authorization },
    socket: { remoteAddress },
  } as unknown as IncomingMessage;
}

let dir: string;
const verifiers: KeyVerifier[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dokkup-auth-'));
});
afterEach(async () => {
  for (const v of verifiers.splice(0)) v.close();
  await rm(dir, { recursive: true, force: true });
});

async function writeLegacy(key: string): Promise<void> {
  await writeFile(keyFilePath(dir), `${JSON.stringify(legacyScryptRecord(key, FAST), null, 2)}\n`, {
    mode: 0o600,
  });
}

describe('issueKey', () => {
  it('gives 43 URL-safe characters from 32 random bytes, different every time', () => {
    const keys = new Set(Array.from({ length: 200 }, issueKey));
    expect(keys.size).toBe(200);
    for (const key of keys) {
      expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(key, 'base64url')).toHaveLength(32);
    }
  });

  it('names a key by a short id that is not part of its stored digest', () => {
    const key = issueKey();
    const record = hashKey(key);
    expect(record.keyId).toBe(keyIdOf(key));
    expect(record.keyId).toMatch(/^[0-9a-f]{12}$/);
    expect(Buffer.from(record.digest, 'base64').toString('hex')).not.toContain(record.keyId);
    expect(keyIdOf(issueKey())).not.toBe(record.keyId);
  });
});

describe('loadOrCreateKey', () => {
  it('issues a key on first start only, storing just a SHA-256 digest in a 0600 file', async () => {
    const dataDir = join(dir, 'config');
    const first = await loadOrCreateKey(dataDir);
    expect(first.newKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const key = first.newKey!;
    const text = await readFile(keyFilePath(dataDir), 'utf8');
    expect(text).not.toContain(key);
    const record = KeyRecordSchema.parse(JSON.parse(text));
    expect(record).toMatchObject({ schema: 2, algorithm: 'sha256', keyId: keyIdOf(key) });
    expect((await stat(keyFilePath(dataDir))).mode & 0o777).toBe(0o600);
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    expect(await first.verifier.verify(key)).toBe(keyIdOf(key));
    expect(await first.verifier.verify(issueKey())).toBeNull();

    const second = await loadOrCreateKey(dataDir);
    expect(second.newKey).toBeNull();
    expect(await second.verifier.verify(key)).toBe(keyIdOf(key));
    expect(await readFile(keyFilePath(dataDir), 'utf8')).toBe(text);
  });

  it('refuses a damaged key file with a clear error instead of silently issuing a new key', async () => {
    await writeFile(keyFilePath(dir), '{"schema":1,"algorithm":"md5"}', { mode: 0o600 });
    await expect(loadOrCreateKey(dir)).rejects.toThrow(KeyFileError);
    await expect(loadOrCreateKey(dir)).rejects.toThrow(/algorithm.*--rotate-key/s);
    await writeFile(keyFilePath(dir), 'not json');
    await expect(loadOrCreateKey(dir)).rejects.toThrow(/not valid JSON/);
  });

  it('never follows a symlink for the key file, and refuses one others may write', async () => {
    const elsewhere = join(dir, 'elsewhere.json');
    await writeFile(elsewhere, `${JSON.stringify(hashKey(issueKey()))}\n`, { mode: 0o600 });
    await symlink(elsewhere, keyFilePath(dir));
    await expect(loadOrCreateKey(dir)).rejects.toThrow(/symbolic link/);
    await rm(keyFilePath(dir));
    await writeFile(keyFilePath(dir), `${JSON.stringify(hashKey(issueKey()))}\n`);
    await chmod(keyFilePath(dir), 0o666);
    await expect(loadOrCreateKey(dir)).rejects.toThrow(/writable by every user/);
  });
});

describe('rotateKey', () => {
  it('issues a new key and the old one stops working, in this and in a running verifier', async () => {
    const { verifier: running, newKey: oldKey } = await loadOrCreateKey(dir);
    verifiers.push(running);
    expect(await running.verify(oldKey!)).toBe(keyIdOf(oldKey!));
    const rotated = await rotateKey(dir);
    expect(rotated.previousKeyId).toBe(keyIdOf(oldKey!));
    expect(rotated.keyId).toBe(keyIdOf(rotated.key));
    expect(await running.verify(oldKey!)).toBeNull();
    expect(running.isCurrent(keyIdOf(oldKey!))).toBe(false);
    expect(await running.verify(rotated.key)).toBe(rotated.keyId);
    const restarted = await loadOrCreateKey(dir);
    expect(restarted.newKey).toBeNull();
    expect(await restarted.verifier.verify(oldKey!)).toBeNull();
    expect(await restarted.verifier.verify(rotated.key)).toBe(rotated.keyId);
    expect((await stat(keyFilePath(dir))).mode & 0o777).toBe(0o600);
  });

  it('tells listeners of a rotation by another process without waiting for a request', async () => {
    const { verifier, newKey } = await loadOrCreateKey(dir);
    verifiers.push(verifier);
    verifier.watch();
    const heard = new Promise<number>((resolve) => {
      const started = Date.now();
      verifier.onKeyChange(() => resolve(Date.now() - started));
    });
    await rotateKey(dir);
    expect(await heard).toBeGreaterThanOrEqual(0);
    expect(verifier.isCurrent(keyIdOf(newKey!))).toBe(false);
  });

  it('refuses every key once the key file is damaged (fails closed) until it is rotated', async () => {
    const warnings: string[] = [];
    const { verifier, newKey } = await loadOrCreateKey(dir, {
      logger: { warn: (_details, message) => warnings.push(message) },
    });
    expect(await verifier.verify(newKey!)).not.toBeNull();
    await writeFile(keyFilePath(dir), 'garbage');
    expect(await verifier.verify(newKey!)).toBeNull();
    expect(verifier.currentKeyId).toBeNull();
    expect(warnings.join('\n')).toMatch(/unreadable/);
    const rotated = await rotateKey(dir);
    expect(await verifier.verify(rotated.key)).toBe(rotated.keyId);
  });
});

describe('a 0.3 key record (scrypt)', () => {
  it('still opens the agent with the right key, and is rewritten as SHA-256 on the first success', async () => {
    const key = issueKey();
    await writeLegacy(key);
    const { verifier, newKey } = await loadOrCreateKey(dir);
    expect(newKey).toBeNull();
    expect(verifier.currentKeyId).toBeNull(); // not known before the key is seen
    expect(await verifier.verify(issueKey())).toBeNull();
    expect(readKeyRecordSync(keyFilePath(dir))?.algorithm).toBe('scrypt');
    expect(await verifier.verify(key)).toBe(keyIdOf(key));
    await expect.poll(() => readKeyRecordSync(keyFilePath(dir))?.algorithm).toBe('sha256');
    expect(readKeyRecordSync(keyFilePath(dir))).toMatchObject({ keyId: keyIdOf(key) });
    expect(await verifier.verify(key)).toBe(keyIdOf(key));
    expect(verifier.isCurrent(keyIdOf(key))).toBe(true);
  });

  it('a migration never puts back a key that a rotation replaced, nor runs while another writer holds the lock', async () => {
    const key = issueKey();
    const legacy = legacyScryptRecord(key, FAST);
    await writeFile(keyFilePath(dir), JSON.stringify(legacy), { mode: 0o600 });
    const rotated = await rotateKey(dir);
    expect(await migrateKeyRecord(dir, legacy, key)).toBeNull();
    expect(readKeyRecordSync(keyFilePath(dir))).toMatchObject({ keyId: rotated.keyId });

    await writeFile(keyFilePath(dir), JSON.stringify(legacy), { mode: 0o600 });
    await writeFile(`${keyFilePath(dir)}.lock`, '1\n');
    expect(await migrateKeyRecord(dir, legacy, key)).toBeNull();
    await rm(`${keyFilePath(dir)}.lock`);
    expect(await migrateKeyRecord(dir, legacy, key)).toMatchObject({
      algorithm: 'sha256',
      keyId: keyIdOf(key),
    });
  });
});

describe('KeyVerifier', () => {
  const key = issueKey();

  it('accepts exactly the key, rejecting near misses, empty and huge inputs', async () => {
    const verifier = KeyVerifier.forKey(key);
    expect(await verifier.verify(key)).toBe(keyIdOf(key));
    for (const wrong of [
      key.slice(0, -1),
      `${key}x`,
      key.toUpperCase(),
      '',
      ' '.repeat(43),
      'k'.repeat(100_000),
    ]) {
      expect(await verifier.verify(wrong)).toBeNull();
    }
  });

  it('reads the bearer key from the Authorization header', () => {
    expect(bearerKey(request(`Bearer ${key}`))).toBe(key);
    expect(bearerKey(request(`bearer ${key}`))).toBe(key);
    expect(bearerKey(request(`Basic ${key}`))).toBeNull();
    expect(bearerKey(request(`Bearer ${key} extra`))).toBeNull();
    expect(bearerKey(request(undefined))).toBeNull();
  });

  it('authorizes requests: ok (naming the key), missing, invalid', async () => {
    const verifier = KeyVerifier.forKey(key);
    expect(await verifier.authorize(request(`Bearer ${key}`))).toEqual({ ok: true, keyId: keyIdOf(key) });
    expect(await verifier.authorize(request(undefined))).toEqual({ ok: false, reason: 'missing' });
    expect(await verifier.authorize(request('Bearer nope'))).toEqual({ ok: false, reason: 'invalid' });
  });

  it('answers 429 to an address after 10 wrong keys a minute, yet always serves the right key from it', async () => {
    let now = 1_000_000;
    const verifier = KeyVerifier.forKey(key, { throttle: { now: () => now } });
    for (let i = 0; i < 9; i++)
      expect(await verifier.authorize(request('Bearer wrong'))).toMatchObject({ reason: 'invalid' });
    expect(await verifier.authorize(request(`Bearer ${key}`))).toMatchObject({ ok: true });
    // The success took back only its own attempt: the next wrong key is the tenth, then the block.
    expect(await verifier.authorize(request('Bearer wrong'))).toMatchObject({ reason: 'invalid' });
    expect(await verifier.authorize(request('Bearer wrong'))).toEqual({
      ok: false,
      reason: 'throttled',
      retryAfterSeconds: 60,
    });
    expect(await verifier.authorize(request(`Bearer ${key}`))).toMatchObject({ ok: true });
    // Other addresses are unaffected.
    expect(await verifier.authorize(request('Bearer wrong', '10.0.0.2'))).toMatchObject({
      reason: 'invalid',
    });
    now += 30_000;
    expect(await verifier.authorize(request('Bearer wrong'))).toMatchObject({ retryAfterSeconds: 30 });
    now += 60_001;
    expect(await verifier.authorize(request('Bearer wrong'))).toMatchObject({ reason: 'invalid' });
  });

  it('counts parallel guesses before checking them: 120 at once block the address, the right key still passes', async () => {
    const verifier = KeyVerifier.forKey(key);
    const outcomes = await Promise.all(
      Array.from({ length: 120 }, () => verifier.authorize(request(`Bearer ${issueKey()}`))),
    );
    expect(outcomes.filter((o) => !o.ok && o.reason === 'throttled').length).toBeGreaterThanOrEqual(110);
    expect(await verifier.authorize(request(`Bearer ${key}`))).toMatchObject({ ok: true });
  });

  it('forgets failures older than the window', async () => {
    let now = 0;
    const verifier = KeyVerifier.forKey(key, { throttle: { now: () => now } });
    for (let i = 0; i < 9; i++) await verifier.authorize(request('Bearer wrong'));
    now += 61_000;
    for (let i = 0; i < 9; i++) await verifier.authorize(request('Bearer wrong'));
    // Ten within the window, not nineteen.
    expect(await verifier.authorize(request('Bearer wrong'))).toMatchObject({ reason: 'invalid' });
    expect(await verifier.authorize(request('Bearer wrong'))).toMatchObject({ reason: 'throttled' });
  });

  it('with a 0.3 record, a blocked address costs no scrypt, and the right key from anywhere migrates it', async () => {
    await writeLegacy(key);
    const { verifier } = await loadOrCreateKey(dir, { throttle: { maxFailures: 3 } });
    for (let i = 0; i < 4; i++) await verifier.authorize(request('Bearer wrong'));
    expect(await verifier.authorize(request('Bearer wrong'))).toMatchObject({ reason: 'throttled' });
    expect(await verifier.authorize(request(`Bearer ${key}`, '10.0.0.9'))).toMatchObject({ ok: true });
    await expect.poll(() => readKeyRecordSync(keyFilePath(dir))?.algorithm).toBe('sha256');
    expect(await verifier.authorize(request(`Bearer ${key}`))).toMatchObject({ ok: true });
  });
});

describe('FailureThrottle', () => {
  it('keeps a bounded count per address, however long a flood goes on', () => {
    let now = 0;
    const throttle = new FailureThrottle({ maxFailures: 10, now: () => now });
    for (let i = 0; i < 100_000; i++) {
      throttle.begin('10.0.0.1');
      now += 0.1;
    }
    const entry = (throttle as unknown as { entries: Map<string, { attempts: number[] }> }).entries.get(
      '10.0.0.1',
    );
    expect(entry!.attempts.length).toBeLessThanOrEqual(11);
    expect(throttle.blockedFor('10.0.0.1')).toBeGreaterThan(0);
  });

  it('keeps memory bounded under failures from very many addresses', () => {
    const throttle = new FailureThrottle({ maxAddresses: 100, now: () => 5 });
    for (let i = 0; i < 5000; i++) throttle.begin(`10.1.${i >> 8}.${i & 255}`);
    expect(throttle.size).toBeLessThanOrEqual(100);
  });
});

describe('InFlightLimit', () => {
  it('runs at most N at once (one per address), queues a few more and refuses the rest', async () => {
    const limit = new InFlightLimit(2, 1, 2);
    let running = 0;
    let peak = 0;
    const releases: (() => void)[] = [];
    const work = () =>
      new Promise<string>((resolve) => {
        running++;
        peak = Math.max(peak, running);
        releases.push(() => {
          running--;
          resolve('done');
        });
      });
    const a = [limit.run('a', work), limit.run('a', work), limit.run('a', work)];
    const refused = await limit.run('a', work);
    expect(refused).toBeNull();
    const b = limit.run('b', work);
    await new Promise((r) => setTimeout(r, 10));
    expect(running).toBe(2);
    while (releases.length > 0) {
      releases.shift()!();
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(await Promise.all([...a, b])).toEqual(['done', 'done', 'done', 'done']);
    expect(peak).toBe(2);
  });
});
