/**
 * The embedded agent's own promises: loopback only, an in-memory key, a temp data dir removed on
 * close. Docker is absent on purpose (a socket path that does not exist).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { routes } from '../src/protocol/api.js';
import { pinnedFetch, servedFingerprint } from '../test/harness/https-fetch.js';
import { startEmbeddedAgent } from './embedded.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dokkup-embedded-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('startEmbeddedAgent', () => {
  it('listens on 127.0.0.1 with a throwaway key, and close frees the port and the temp dir', async () => {
    const before = new Set((await readdir(tmpdir())).filter((name) => name.startsWith('dokkup-embedded-')));
    const agent = await startEmbeddedAgent({ dockerHost: `unix://${join(dir, 'no-docker.sock')}` });
    const created = (await readdir(tmpdir())).filter(
      (n) => n.startsWith('dokkup-embedded-') && !before.has(n),
    );
    expect(created).toHaveLength(1);

    expect(agent.baseUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(agent.fingerprint).toMatch(/^SHA256:[0-9a-f]{64}$/);
    expect(agent.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // It serves TLS with the certificate whose fingerprint it handed out (the TUI pins it).
    expect(await servedFingerprint(Number(new URL(agent.baseUrl).port))).toBe(agent.fingerprint);
    const fingerprint = agent.fingerprint;
    const health = await pinnedFetch(`${agent.baseUrl}${routes.health}`, { fingerprint });
    expect(await health.json()).toEqual({ ok: true });
    const withKey = await pinnedFetch(`${agent.baseUrl}${routes.info}`, {
      headers: { authorization: `Bearer ${agent.key}` },
      fingerprint,
    });
    // Authenticated; Docker itself is missing here.
    expect(withKey.status).toBe(503);
    const wrongKey = await pinnedFetch(`${agent.baseUrl}${routes.info}`, {
      headers: { authorization: 'Bearer nope' },
      fingerprint,
    });
    expect(wrongKey.status).toBe(401);

    await agent.close();
    await agent.close(); // idempotent
    await expect(pinnedFetch(`${agent.baseUrl}${routes.health}`, { fingerprint })).rejects.toThrow();
    expect(existsSync(join(tmpdir(), created[0]!))).toBe(false);
  });

  it('keeps a data directory it was given, and writes no key file there', async () => {
    const dataDir = join(dir, 'data');
    await mkdir(dataDir);
    await writeFile(join(dataDir, 'marker'), 'mine');
    const agent = await startEmbeddedAgent({ dockerHost: `unix://${join(dir, 'no-docker.sock')}`, dataDir });
    const other = await startEmbeddedAgent({ dockerHost: `unix://${join(dir, 'no-docker.sock')}`, dataDir });
    expect(other.key).not.toBe(agent.key);
    expect(other.baseUrl).not.toBe(agent.baseUrl);
    // Each start makes its own certificate: one agent's pin does not fit the other.
    expect(other.fingerprint).not.toBe(agent.fingerprint);
    await expect(
      pinnedFetch(`${other.baseUrl}${routes.info}`, {
        headers: { authorization: `Bearer ${agent.key}` },
        fingerprint: agent.fingerprint,
      }),
    ).rejects.toThrow(/certificate mismatch/);
    const crossed = await pinnedFetch(`${other.baseUrl}${routes.info}`, {
      headers: { authorization: `Bearer ${agent.key}` },
      fingerprint: other.fingerprint,
    });
    expect(crossed.status).toBe(401);
    const own = await pinnedFetch(`${agent.baseUrl}${routes.info}`, {
      headers: { authorization: `Bearer ${agent.key}` },
      fingerprint: agent.fingerprint,
    });
    expect(own.status).toBe(503);
    await Promise.all([agent.close(), other.close()]);
    expect(await readFile(join(dataDir, 'marker'), 'utf8')).toBe('mine');
    expect(existsSync(join(dataDir, 'agent-key.json'))).toBe(false);
    // Nor a certificate: it lives in memory only.
    expect(existsSync(join(dataDir, 'agent-cert.pem'))).toBe(false);
  });
});
