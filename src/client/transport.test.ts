/**
 * The trusted transport against real TLS servers on loopback: a request (and the key in it) is
 * written only to a server whose certificate passed the node's trust — pin, CA, or this
 * machine's CAs — and a recording server proves that nothing reaches one that failed. Also:
 * plain HTTP where TLS was expected, session resumption, deadlines.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CertificatePair,
  createSelfSignedCertificate,
  fingerprintOf,
} from '../../agent/tls/certificate.js';
import { createTestCa } from '../../test/harness/test-ca.js';
import { AgentClient } from './agent-client.js';
import { AgentProtocolError, AgentUnreachableError, AgentUntrustedError } from './errors.js';
import { connectTrusted, TlsSessionCache, TlsTrustError, TrustedAgent } from './transport.js';

const KEY = 'the-key-that-must-never-leak-0123456789abcd';
const INFO = {
  agentVersion: '0.4.0',
  dockerVersion: '27.0',
  dockerApiVersion: '1.46',
  hostname: 'x',
  os: 'linux',
  arch: 'x64',
  jobs: 0,
  containers: { running: 0, total: 0 },
};
const servers: Server[] = [];
let dir: string;
let agentCert: CertificatePair;
let agentFingerprint: string;

const sockets = new Set<import('node:net').Socket>();

async function listen<S extends Server>(server: S): Promise<number> {
  servers.push(server);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return (server.address() as { port: number }).port;
}

/** An agent-like HTTPS server answering /v1/info, recording the Authorization headers it saw. */
async function httpsAgent(pair: CertificatePair) {
  const seen: string[] = [];
  const port = await listen(
    createHttpsServer(pair, (req, res) => {
      seen.push(String(req.headers.authorization));
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(INFO));
    }),
  );
  return { port, seen };
}

/** A TLS server that completes handshakes and records every decrypted byte anyone sends it. */
async function recordingServer(pair: CertificatePair) {
  const received: Buffer[] = [];
  let connections = 0;
  const server = createTlsServer(pair, (socket: TLSSocket) => {
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => {});
  });
  server.on('connection', () => connections++);
  server.on('tlsClientError', () => {});
  const port = await listen(server);
  return { port, received: () => Buffer.concat(received).toString('latin1'), connections: () => connections };
}

const clients: AgentClient[] = [];

function client(port: number, trust: { fingerprint?: string; ca?: string }, host = '127.0.0.1') {
  return track(
    new AgentClient(
      { name: 'n1', location: `${host}:${port}`, baseUrl: `https://${host}:${port}`, key: KEY, ...trust },
      { connectTimeoutMs: 1000, requestTimeoutMs: 2000 },
    ),
  );
}

function track(c: AgentClient): AgentClient {
  clients.push(c);
  return c;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'dokkup-transport-'));
  agentCert = await createSelfSignedCertificate(['127.0.0.1', 'localhost']);
  agentFingerprint = fingerprintOf(agentCert.cert);
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const socket of sockets) socket.destroy();
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('pinned fingerprint', () => {
  it('the pinned certificate: the request goes through', async () => {
    const agent = await httpsAgent(agentCert);
    const c = client(agent.port, { fingerprint: agentFingerprint });
    await expect(c.info()).resolves.toMatchObject({ hostname: 'x' });
    expect(agent.seen).toEqual([`Bearer ${KEY}`]);
    c.close();
  });

  it('another certificate: UNTRUSTED naming both fingerprints, and not one byte is written to it', async () => {
    const impostor = await createSelfSignedCertificate(['127.0.0.1']);
    const recorder = await recordingServer(impostor);
    const c = client(recorder.port, { fingerprint: agentFingerprint });
    const error = await c.info().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentUntrustedError);
    const untrusted = error as AgentUntrustedError;
    expect(untrusted.nodeStatus).toBe('untrusted');
    expect(untrusted.code).toBe('untrusted');
    expect(untrusted.presented).toBe(fingerprintOf(impostor.cert));
    expect(untrusted.message).toContain(`presented ${fingerprintOf(impostor.cert)}`);
    expect(untrusted.message).toContain(`pins ${agentFingerprint}`);
    expect(untrusted.message).toContain('the key was not sent');
    // A long operation (a deploy carries the key and the spec) fares no better.
    await expect(c.deploy({ name: 'web' } as never, () => {})).rejects.toBeInstanceOf(AgentUntrustedError);
    await new Promise((r) => setTimeout(r, 100));
    // It was reached (twice), and heard nothing: no request line, no header, no key.
    expect(recorder.connections()).toBe(2);
    expect(recorder.received()).toBe('');
    c.close();
  });

  it('a pin in another spelling (openssl colons, capitals) is the same pin', async () => {
    const { normaliseFingerprint } = await import('../core/trust.js');
    const hex = agentFingerprint.slice('SHA256:'.length);
    const colons = hex.toUpperCase().match(/../g)!.join(':');
    expect(normaliseFingerprint(`sha256:${colons}`)).toBe(agentFingerprint);
  });
});

describe('CA verification', () => {
  it("passes a certificate of the operator's CA for the host, refuses a wrong name or another CA", async () => {
    const ca = await createTestCa();
    const caFile = path.join(dir, 'ca.pem');
    writeFileSync(caFile, ca.cert);
    const good = await httpsAgent(await ca.issue(['127.0.0.1', 'localhost']));
    const byName = client(good.port, { ca: caFile }, 'localhost');
    await expect(byName.info()).resolves.toMatchObject({ hostname: 'x' });
    const byAddress = client(good.port, { ca: caFile });
    await expect(byAddress.info()).resolves.toMatchObject({ hostname: 'x' });

    const wrongName = await recordingServer(await ca.issue(['other.example']));
    const e1 = await client(wrongName.port, { ca: caFile })
      .info()
      .catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(AgentUntrustedError);
    expect((e1 as Error).message).toMatch(
      /signed by the CA in .*ca\.pem but not for 127\.0\.0\.1 \(it names DNS:other\.example\)/,
    );

    const other = await createTestCa('another CA');
    const foreign = await recordingServer(await other.issue(['127.0.0.1']));
    const e2 = await client(foreign.port, { ca: caFile })
      .info()
      .catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(AgentUntrustedError);
    expect((e2 as Error).message).toMatch(/is not vouched for by the CA in .*ca\.pem/);
    // The agent's self-signed certificate is not vouched for by any CA either.
    const selfSigned = await recordingServer(agentCert);
    await expect(client(selfSigned.port, { ca: caFile }).info()).rejects.toBeInstanceOf(AgentUntrustedError);
    for (const recorder of [wrongName, foreign, selfSigned]) expect(recorder.received()).toBe('');
  });

  it("without fingerprint or ca, this machine's CAs decide, and the refusal shows what to pin", async () => {
    const recorder = await recordingServer(agentCert);
    const error = await client(recorder.port, {})
      .info()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentUntrustedError);
    expect((error as Error).message).toContain(`pin it: fingerprint: "${agentFingerprint}"`);
    expect(recorder.received()).toBe('');
  });
});

describe('transport errors', () => {
  it('plain HTTP on an https location: a clear error saying what to write, never a fallback', async () => {
    const plain = createHttpServer((_req, res) => res.end('{}'));
    const port = await listen(plain);
    const error = await client(port, { fingerprint: agentFingerprint })
      .info()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentProtocolError);
    expect((error as Error).message).toContain('did not answer with TLS');
    expect((error as Error).message).toContain(`write location: "http://127.0.0.1:${port}"`);
  });

  it("a server that accepts and never completes the handshake: the request's deadline, OFFLINE", async () => {
    const silent = createTcpServer(() => {});
    const port = await listen(silent);
    const started = Date.now();
    const error = await client(port, { fingerprint: agentFingerprint })
      .info()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentUnreachableError);
    expect((error as AgentUnreachableError).reason).toBe('REQUEST_TIMEOUT');
    expect((error as Error).message).toContain('no answer within 2s');
    expect(Date.now() - started).toBeLessThan(2900);
  });

  it('without a request deadline (a feed), the handshake gets the connect deadline of its own', async () => {
    const silent = createTcpServer(() => {});
    const port = await listen(silent);
    const error = await new Promise<Error | null>((resolve) =>
      connectTrusted(
        {
          host: '127.0.0.1',
          port,
          trust: { kind: 'fingerprint', fingerprint: agentFingerprint },
          connectTimeoutMs: 300,
        },
        (e, socket) => {
          socket?.destroy();
          resolve(e);
        },
      ),
    );
    expect((error as NodeJS.ErrnoException).code).toBe('CONNECT_TIMEOUT');
    expect(error?.message).toBe('no TLS handshake within 0.3s');
  });

  it('over a JS stream (how the feeds reconnect): the same pin check, the same bytes both ways, the close seen on both ends', async () => {
    const trust = { kind: 'fingerprint' as const, fingerprint: agentFingerprint };
    const connect = (port: number) =>
      new Promise<{ error: Error | null; socket?: Duplex }>((resolve) =>
        connectTrusted(
          { host: '127.0.0.1', port, trust, connectTimeoutMs: 2000, overJsStream: true, keepAliveMs: 30_000 },
          (error, socket) => resolve({ error, ...(socket ? { socket } : {}) }),
        ),
      );
    // An echo server with the pinned certificate.
    let serverClosed = false;
    const echo = createTlsServer(agentCert, (socket: TLSSocket) => {
      socket.on('data', (chunk: Buffer) => socket.write(chunk));
      socket.on('close', () => {
        serverClosed = true;
      });
      socket.on('error', () => {});
    });
    const port = await listen(echo);
    const { error, socket } = await connect(port);
    expect(error).toBeNull();
    const big = Buffer.alloc(200_000, 'x');
    const echoed: Buffer[] = [];
    socket!.on('data', (chunk: Buffer) => echoed.push(chunk));
    socket!.write('hello ');
    socket!.write(big);
    await new Promise<void>((resolve, reject) => {
      const started = Date.now();
      const check = () => {
        if (Buffer.concat(echoed).length >= 6 + big.length) resolve();
        else if (Date.now() - started > 5000) reject(new Error('echo incomplete'));
        else setTimeout(check, 10);
      };
      check();
    });
    expect(Buffer.concat(echoed).subarray(0, 6).toString()).toBe('hello ');
    expect(Buffer.concat(echoed).length).toBe(6 + big.length);
    socket!.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect(serverClosed).toBe(true);
    // Another certificate: refused before anything is written, as over the handle.
    const impostor = await createSelfSignedCertificate(['127.0.0.1']);
    const recorder = await recordingServer(impostor);
    const refused = await connect(recorder.port);
    expect(refused.error).toBeInstanceOf(TlsTrustError);
    await new Promise((r) => setTimeout(r, 100));
    expect(recorder.received()).toBe('');
  });

  it('a second connection to a node resumes its TLS session instead of a full handshake', async () => {
    const agent = await httpsAgent(agentCert);
    const sessions = new TlsSessionCache();
    const pool = new TrustedAgent({ keepAlive: false }, sessions);
    const c = new AgentClient(
      {
        name: 'n1',
        location: '',
        baseUrl: `https://127.0.0.1:${agent.port}`,
        key: KEY,
        fingerprint: agentFingerprint,
      },
      { sharedAgents: { http: undefined as never, https: pool } },
    );
    await c.info();
    await c.info();
    await c.info();
    expect(sessions.stats).toEqual({ full: 1, resumed: 2 });
    expect(agent.seen).toHaveLength(3);
    pool.destroy();
  });
});
