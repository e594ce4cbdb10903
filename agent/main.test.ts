/**
 * The agent process: first-start key and certificate fingerprint, TLS by default, Docker
 * unreachable at start, graceful stop, the ways it fails to start, certificate rotation and
 * reload, --insecure-http. Docker is deliberately absent here (DOCKER_HOST names a socket that does not
 * exist); the agent against real engines is covered by the Docker-backed suites. Parsing its
 * options is the CLI's `agent` command's (src/cli/commands/agent.test.ts).
 */
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { routes } from '../src/protocol/api.js';
import { pinnedFetch, servedFingerprint } from '../test/harness/https-fetch.js';
import type { AgentServer } from './app.js';
import { keyFilePath, keyIdOf } from './auth/index.js';
import { type AgentOptions, type AgentProcessIO, defaultDataDir, runAgent } from './main.js';
import { createSelfSignedCertificate, fingerprintOf } from './tls/certificate.js';
import { CERT_FILE_NAME, CERT_KEY_FILE_NAME } from './tls/files.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dokkup-main-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('defaultDataDir', () => {
  it('uses /config when it is a writable directory, else ~/.config/dokkup-agent', async () => {
    const config = join(dir, 'config');
    expect(defaultDataDir('/home/op', config)).toBe('/home/op/.config/dokkup-agent');
    await mkdir(config);
    expect(defaultDataDir('/home/op', config)).toBe(config);
  });
});

/** Runs the agent in this process with fake stdio and signals; Docker does not exist. */
function startAgent(given: Partial<AgentOptions>, env: NodeJS.ProcessEnv = {}) {
  const options: AgentOptions = {
    port: 0,
    host: '127.0.0.1',
    rotateKey: false,
    allowHostBinds: false,
    ...given,
  };
  const out: string[] = [];
  const err: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  let signal: ((name: string) => void) | undefined;
  let reload: (() => void) | undefined;
  let listening!: (server: AgentServer) => void;
  const server = new Promise<AgentServer>((resolve) => {
    listening = resolve;
  });
  const io: AgentProcessIO = {
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    env: { DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}`, LOG_LEVEL: 'info', ...env },
    onSignal(handler) {
      signal = handler;
      return () => {
        signal = undefined;
      };
    },
    onReload(handler) {
      reload = handler;
      return () => {
        reload = undefined;
      };
    },
    exit: (code) => {
      throw new Error(`unexpected exit(${code})`);
    },
    logDestination: new Writable({
      write(chunk, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line));
        done();
      },
    }),
    onListening: (s) => listening(s),
  };
  const exitCode = runAgent(options, io);
  return {
    out,
    err,
    logs,
    exitCode,
    async url(path: string) {
      const address = (await server).address();
      if (address === null || typeof address === 'string') throw new Error('no address');
      return `${options.insecureHttp ? 'http' : 'https'}://127.0.0.1:${address.port}${path}`;
    },
    async port() {
      const address = (await server).address();
      if (address === null || typeof address === 'string') throw new Error('no address');
      return address.port;
    },
    /** What SIGHUP does. */
    sighup() {
      if (!reload) throw new Error('no reload handler registered');
      reload();
    },
    stop(name = 'SIGTERM') {
      if (!signal) throw new Error('no signal handler registered');
      signal(name);
      return exitCode;
    },
  };
}

/** The fingerprint of the agent's own certificate in `dataDir`. */
async function ownFingerprint(dataDir: string): Promise<string> {
  return fingerprintOf(await readFile(join(dataDir, CERT_FILE_NAME)));
}

/** A request pinned to the certificate in `dataDir` (plain for http:// URLs). */
async function get(url: string, key?: string, dataDir?: string) {
  const response = await pinnedFetch(url, {
    headers: key ? { authorization: `Bearer ${key}` } : {},
    ...(url.startsWith('https:') ? { fingerprint: await ownFingerprint(dataDir ?? '') } : {}),
  });
  return { status: response.status, body: (await response.json()) as { error: { code: string } } };
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('runAgent', () => {
  it('prints the key once on first start, keeps serving without Docker, and stops cleanly', async () => {
    const dataDir = join(dir, 'data');
    const first = startAgent({ dataDir });
    const health = await get(await first.url(routes.health), undefined, dataDir);
    expect(health).toEqual({ status: 200, body: { ok: true } });

    // The key, then the fingerprint of the certificate it serves: once, on stdout.
    expect(first.out).toHaveLength(2);
    const match = /^Your new API key is: ([A-Za-z0-9_-]{43})\n$/.exec(first.out[0]!);
    expect(match).not.toBeNull();
    const key = match![1]!;
    const fingerprint = await ownFingerprint(dataDir);
    expect(first.out[1]).toBe(`Certificate fingerprint: ${fingerprint}\n`);
    expect(fingerprint).toMatch(/^SHA256:[0-9a-f]{64}$/);
    expect(await servedFingerprint(await first.port())).toBe(fingerprint);
    for (const file of [
      keyFilePath(dataDir),
      join(dataDir, CERT_FILE_NAME),
      join(dataDir, CERT_KEY_FILE_NAME),
    ])
      expect((await stat(file)).mode & 0o777).toBe(0o600);

    // Docker is unreachable: authenticated requests are answered with 503, the process lives on.
    const info = await get(await first.url(routes.info), key, dataDir);
    expect(info.status).toBe(503);
    expect(info.body.error.code).toBe('docker_unavailable');
    expect((await get(await first.url(routes.info), 'wrong', dataDir)).status).toBe(401);
    // Plain HTTP on its TLS port: a clear 400, whatever the path.
    const plain = await pinnedFetch((await first.url(routes.info)).replace('https:', 'http:'));
    expect(plain.status).toBe(400);
    expect(JSON.stringify(await plain.json())).toMatch(/serves HTTPS only/);

    const messages = first.logs.map((l) => l['msg']);
    expect(messages).toContain('server is listening');
    expect(first.logs.find((l) => l['msg'] === 'server is listening')).toMatchObject({
      host: '127.0.0.1',
      tls: true,
      fingerprint,
    });
    expect(
      first.logs.some((l) => l['level'] === 40 && String(l['msg']).includes('Docker is not reachable')),
    ).toBe(true);
    expect(JSON.stringify(first.logs)).not.toContain(key);

    const healthUrl = await first.url(routes.health);
    expect(await first.stop()).toBe(0);
    expect(first.logs.map((l) => l['msg'])).toContain('stopped');
    await expect(pinnedFetch(healthUrl, { fingerprint })).rejects.toThrow();

    // Later starts never print a key nor the fingerprint; the same key and certificate serve.
    const second = startAgent({ dataDir });
    expect((await get(await second.url(routes.info), key, dataDir)).status).toBe(503);
    expect(second.out).toEqual([]);
    expect(await servedFingerprint(await second.port())).toBe(fingerprint);

    // --rotate-key (another process, same data dir): new key printed, the old one refused at
    // once; the certificate stays (clients' pins keep working).
    const rotated = startAgent({ rotateKey: true, dataDir });
    expect(await rotated.exitCode).toBe(0);
    const newKey = /^Your new API key is: ([A-Za-z0-9_-]{43})\n$/.exec(rotated.out.join(''))![1]!;
    expect(newKey).not.toBe(key);
    expect((await get(await second.url(routes.info), key, dataDir)).status).toBe(401);
    expect((await get(await second.url(routes.info), newKey, dataDir)).status).toBe(503);
    expect(await ownFingerprint(dataDir)).toBe(fingerprint);
    expect(await second.stop('SIGINT')).toBe(0);
  });

  it('--fingerprint prints the served fingerprint; --rotate-cert makes a new one that a running agent serves', async () => {
    const dataDir = join(dir, 'rotate');
    const agent = startAgent({ dataDir });
    const port = await agent.port();
    const before = await servedFingerprint(port);
    expect(agent.out[1]).toBe(`Certificate fingerprint: ${before}\n`);

    const shown = startAgent({ dataDir, fingerprint: true });
    expect(await shown.exitCode).toBe(0);
    expect(shown.out).toEqual([`Certificate fingerprint: ${before}\n`]);

    const rotated = startAgent({ dataDir, rotateCert: true });
    expect(await rotated.exitCode).toBe(0);
    const after = /^Certificate fingerprint: (SHA256:[0-9a-f]{64})\n$/.exec(rotated.out.join(''))?.[1];
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    expect(rotated.err.join('')).toMatch(/must pin the new fingerprint|carry the new fingerprint/);
    // The running agent notices the new files and serves the new certificate, without a restart.
    await until(async () => (await servedFingerprint(port)) === after, 'the new certificate to be served');
    expect(
      agent.logs.some((l) => l['msg'] === 'serving a new certificate' && l['fingerprint'] === after),
    ).toBe(true);
    // The key was not touched.
    expect(rotated.out.join('')).not.toMatch(/API key/);
    expect(await agent.stop()).toBe(0);
  });

  it('--tls-cert/--tls-key: serves the operator certificate and a new one after SIGHUP', async () => {
    const dataDir = join(dir, 'own-ca');
    const certs = join(dir, 'certs');
    await mkdir(certs);
    const one = await createSelfSignedCertificate(['agent.example']);
    const two = await createSelfSignedCertificate(['agent.example']);
    const certFile = join(certs, 'agent.pem');
    const keyFile = join(certs, 'agent.key');
    await writeFile(certFile, one.cert);
    await writeFile(keyFile, one.key);
    const agent = startAgent({ dataDir, tlsCert: certFile, tlsKey: keyFile });
    const port = await agent.port();
    expect(await servedFingerprint(port)).toBe(fingerprintOf(one.cert));
    // Only the key is printed: the operator knows their certificate; none is made.
    expect(agent.out).toHaveLength(1);
    await expect(stat(join(dataDir, CERT_FILE_NAME))).rejects.toThrow();

    // A key that does not match the certificate: the reload fails, the old certificate serves on.
    await writeFile(keyFile, two.key);
    agent.sighup();
    await until(
      async () => agent.logs.some((l) => String(l['msg']).startsWith('cannot reload')),
      'the refusal',
    );
    expect(await servedFingerprint(port)).toBe(fingerprintOf(one.cert));

    await writeFile(certFile, two.cert);
    agent.sighup();
    await until(
      async () => (await servedFingerprint(port)) === fingerprintOf(two.cert),
      'the new certificate',
    );
    expect(await agent.stop()).toBe(0);
  });

  it('--insecure-http: plain HTTP, a warning at every start, no certificate made', async () => {
    const dataDir = join(dir, 'plain');
    for (let start = 0; start < 2; start++) {
      const agent = startAgent({ dataDir, insecureHttp: true });
      expect((await get(await agent.url(routes.health))).status).toBe(200);
      expect(agent.err.join('')).toMatch(/^Warning: --insecure-http: serving plain HTTP/);
      expect(
        agent.logs.some((l) => l['level'] === 40 && String(l['msg']).startsWith('--insecure-http')),
      ).toBe(true);
      expect(agent.out.join('')).not.toMatch(/Certificate fingerprint/);
      expect(await agent.stop()).toBe(0);
    }
    await expect(stat(join(dataDir, CERT_FILE_NAME))).rejects.toThrow();
  });

  it('exits 1 naming the file when the certificate is there without its key', async () => {
    const dataDir = join(dir, 'half');
    const first = startAgent({ dataDir });
    await first.port();
    expect(await first.stop()).toBe(0);
    await rm(join(dataDir, CERT_KEY_FILE_NAME));
    const agent = startAgent({ dataDir });
    expect(await agent.exitCode).toBe(1);
    expect(agent.err.join('')).toMatch(/agent-cert-key\.pem is missing.*--rotate-cert/);
    // Someone else's key is no better: it does not match.
    const other = await createSelfSignedCertificate(['x']);
    await writeFile(join(dataDir, CERT_KEY_FILE_NAME), other.key);
    const mismatched = startAgent({ dataDir });
    expect(await mismatched.exitCode).toBe(1);
    expect(mismatched.err.join('')).toMatch(/is not the private key of .*agent-cert\.pem/);
  });

  it('exits 2 with a clear message for a bad LOG_LEVEL', async () => {
    const level = startAgent({ dataDir: join(dir, 'x') }, { LOG_LEVEL: 'loud' });
    expect(await level.exitCode).toBe(2);
    expect(level.err.join('')).toMatch(/^dokkup agent: LOG_LEVEL must be one of/);
    expect(level.out).toEqual([]);
  });

  it('exits 1 with a clear message when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const agent = startAgent({ port, dataDir: join(dir, 'd') });
      expect(await agent.exitCode).toBe(1);
      expect(agent.err.join('')).toMatch(
        new RegExp(`cannot listen on 127.0.0.1:${port}: the port is already in use`),
      );
    } finally {
      blocker.close();
    }
  });

  it('exits 1 naming the file when the key file is damaged', async () => {
    const dataDir = join(dir, 'broken');
    await mkdir(dataDir);
    await writeFile(keyFilePath(dataDir), '{oops');
    const agent = startAgent({ host: '0.0.0.0', dataDir });
    expect(await agent.exitCode).toBe(1);
    expect(agent.err.join('')).toMatch(/agent-key\.json is not valid JSON.*--rotate-key/);
    expect(agent.out).toEqual([]);
  });

  it('refuses to start (exit 1, nothing printed but why) on a data directory others can write', async () => {
    const dataDir = join(dir, 'open');
    await mkdir(dataDir);
    await chmod(dataDir, 0o777);
    const agent = startAgent({ dataDir });
    expect(await agent.exitCode).toBe(1);
    expect(agent.err.join('')).toMatch(
      /refusing the data directory: .*open is writable by every user.*chmod go-w/,
    );
    expect(agent.out).toEqual([]);
    // Not even a key is written into it.
    await expect(stat(keyFilePath(dataDir))).rejects.toThrow(/ENOENT/);
    // --rotate-key refuses it too.
    const rotate = startAgent({ dataDir, rotateKey: true });
    expect(await rotate.exitCode).toBe(1);
    expect(rotate.out).toEqual([]);
  });

  it('refuses to start on a key file that is a symlink (even to a valid record)', async () => {
    const dataDir = join(dir, 'linked');
    const first = startAgent({ dataDir });
    await first.url(routes.health);
    expect(await first.stop()).toBe(0);
    const moved = join(dir, 'elsewhere.json');
    await writeFile(moved, await readFile(keyFilePath(dataDir)), { mode: 0o600 });
    await rm(keyFilePath(dataDir));
    await symlink(moved, keyFilePath(dataDir));
    const agent = startAgent({ dataDir });
    expect(await agent.exitCode).toBe(1);
    expect(agent.err.join('')).toMatch(/agent-key\.json is a symbolic link/);
  });

  it('exits 2 naming a --bind-root that is missing or holds a system path', async () => {
    for (const [root, message] of [
      [join(dir, 'missing'), /--bind-root .*missing: no such directory/],
      ['/var', /--bind-root \/var: \/var contains/],
    ] as const) {
      const agent = startAgent({ dataDir: join(dir, 'roots'), bindRoots: [root] });
      expect(await agent.exitCode).toBe(2);
      expect(agent.err.join('')).toMatch(message);
    }
  });

  it('records a --rotate-key in the audit log of the data directory, naming both keys by id only', async () => {
    const dataDir = join(dir, 'audited');
    const first = startAgent({ dataDir });
    await first.url(routes.health);
    const oldKey = /API key is: ([A-Za-z0-9_-]{43})\n/.exec(first.out.join(''))![1]!;
    expect(await first.stop()).toBe(0);
    const rotated = startAgent({ rotateKey: true, dataDir });
    expect(await rotated.exitCode).toBe(0);
    const newKey = /: ([A-Za-z0-9_-]{43})\n$/.exec(rotated.out.join(''))![1]!;
    const lines = (await readFile(join(dataDir, 'audit.log'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({
      operation: 'rotate-key',
      remote: 'local',
      keyId: keyIdOf(newKey),
      result: 'ok',
      message: `new key ${keyIdOf(newKey)} replaces ${keyIdOf(oldKey)}`,
    });
    expect(lines[0]).not.toContain(newKey);
    expect(lines[0]).not.toContain(oldKey);
  });
});
