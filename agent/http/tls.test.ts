/**
 * The agent's HTTPS server: TLS on its one port, plain HTTP there answered with a clear 400 (a
 * request or a WebSocket upgrade alike), a connection that says nothing closed without harm, and
 * a new certificate served to new connections after `setCertificate`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { routes } from '../../src/protocol/api.js';
import { FakeRuntime } from '../../test/fakes/container-runtime.js';
import { pinnedFetch, servedFingerprint } from '../../test/harness/https-fetch.js';
import { createAgent } from '../app.js';
import { issueKey, KeyVerifier } from '../auth/index.js';
import { MemoryFeedRuntime } from '../feeds/memory-runtime.fixture.js';
import { silentLogger } from '../logger.js';
import { createSelfSignedCertificate, fingerprintOf } from '../tls/certificate.js';
import { PLAIN_HTTP_REFUSAL } from './tls.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startTlsAgent() {
  const dataDir = await mkdtemp(join(tmpdir(), 'dokkup-tls-server-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const key = issueKey();
  const logger = silentLogger();
  const certificate = await createSelfSignedCertificate(['127.0.0.1']);
  const agent = createAgent({
    dataDir,
    verifier: KeyVerifier.forKey(key, { logger }),
    logger,
    runtimes: { containers: new FakeRuntime(), feeds: new MemoryFeedRuntime() },
    tls: certificate,
  });
  cleanups.push(() => agent.close(1000));
  const { port } = await agent.listen(0, '127.0.0.1');
  return { agent, port, key, fingerprint: fingerprintOf(certificate.cert) };
}

/** Writes `text` over plain TCP and returns everything the server answers before closing. */
function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // Nothing to say: hang up at once (a port scan, a probe that only connects).
    const socket = connect({ host: '127.0.0.1', port }, () => (text ? socket.write(text) : socket.end()));
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}

describe('the agent over TLS', () => {
  it('serves HTTPS with its certificate and the same key check', async () => {
    const { agent, port, key, fingerprint } = await startTlsAgent();
    expect(agent.server.tls).toBe(true);
    expect(await servedFingerprint(port)).toBe(fingerprint);
    const url = `https://127.0.0.1:${port}`;
    const ok = await pinnedFetch(`${url}${routes.info}`, {
      headers: { authorization: `Bearer ${key}` },
      fingerprint,
    });
    expect(ok.status).toBe(200);
    const refused = await pinnedFetch(`${url}${routes.info}`, {
      headers: { authorization: 'Bearer no' },
      fingerprint,
    });
    expect(refused.status).toBe(401);
  });

  it('answers plain HTTP on its TLS port with a 400 saying to use https, for requests and upgrades', async () => {
    const { port } = await startTlsAgent();
    const request = await rawExchange(
      port,
      `GET ${routes.info} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer whatever\r\n\r\n`,
    );
    expect(request).toMatch(/^HTTP\/1\.1 400 /);
    expect(request).toContain(PLAIN_HTTP_REFUSAL);
    const upgrade = await rawExchange(
      port,
      `GET ${routes.feeds} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.from('0123456789abcdef').toString('base64')}\r\n\r\n`,
    );
    expect(upgrade).toMatch(/^HTTP\/1\.1 400 /);
    expect(upgrade).toContain(PLAIN_HTTP_REFUSAL);
  });

  it('a connection that closes before saying anything does no harm', async () => {
    const { port, fingerprint } = await startTlsAgent();
    await rawExchange(port, '');
    expect(await servedFingerprint(port)).toBe(fingerprint);
  });

  it('serves a new certificate to new connections after setCertificate; an unusable pair is refused', async () => {
    const { agent, port, fingerprint } = await startTlsAgent();
    const next = await createSelfSignedCertificate(['127.0.0.1']);
    const other = await createSelfSignedCertificate(['127.0.0.1']);
    expect(() => agent.server.setCertificate({ cert: next.cert, key: other.key })).toThrow();
    expect(await servedFingerprint(port)).toBe(fingerprint);
    agent.server.setCertificate(next);
    expect(await servedFingerprint(port)).toBe(fingerprintOf(next.cert));
  });
});
