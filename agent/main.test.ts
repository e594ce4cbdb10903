/**
 * The agent process: first-start key, Docker unreachable at start, graceful stop, the ways it
 * fails to start. Docker is deliberately absent here (DOCKER_HOST names a socket that does not
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
import type { AgentServer } from './app.js';
import { keyFilePath, keyIdOf } from './auth/index.js';
import { type AgentOptions, type AgentProcessIO, defaultDataDir, runAgent } from './main.js';

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
      return `http://127.0.0.1:${address.port}${path}`;
    },
    stop(name = 'SIGTERM') {
      if (!signal) throw new Error('no signal handler registered');
      signal(name);
      return exitCode;
    },
  };
}

async function get(url: string, key?: string) {
  const response = await fetch(url, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  return { status: response.status, body: (await response.json()) as { error: { code: string } } };
}

describe('runAgent', () => {
  it('prints the key once on first start, keeps serving without Docker, and stops cleanly', async () => {
    const dataDir = join(dir, 'data');
    const first = startAgent({ dataDir });
    const health = await get(await first.url(routes.health));
    expect(health).toEqual({ status: 200, body: { ok: true } });

    expect(first.out).toHaveLength(1);
    const match = /^Your new API key is: ([A-Za-z0-9_-]{43})\n$/.exec(first.out[0]!);
    expect(match).not.toBeNull();
    const key = match![1]!;
    expect((await stat(keyFilePath(dataDir))).mode & 0o777).toBe(0o600);

    // Docker is unreachable: authenticated requests are answered with 503, the process lives on.
    const info = await get(await first.url(routes.info), key);
    expect(info.status).toBe(503);
    expect(info.body.error.code).toBe('docker_unavailable');
    expect((await get(await first.url(routes.info), 'wrong')).status).toBe(401);

    const messages = first.logs.map((l) => l['msg']);
    expect(messages).toContain('server is listening');
    expect(first.logs.find((l) => l['msg'] === 'server is listening')).toMatchObject({ host: '127.0.0.1' });
    expect(
      first.logs.some((l) => l['level'] === 40 && String(l['msg']).includes('Docker is not reachable')),
    ).toBe(true);
    expect(JSON.stringify(first.logs)).not.toContain(key);

    const healthUrl = await first.url(routes.health);
    expect(await first.stop()).toBe(0);
    expect(first.logs.map((l) => l['msg'])).toContain('stopped');
    await expect(fetch(healthUrl)).rejects.toThrow();

    // Later starts never print a key; the same key still works.
    const second = startAgent({ dataDir });
    expect((await get(await second.url(routes.info), key)).status).toBe(503);
    expect(second.out).toEqual([]);

    // --rotate-key (another process, same data dir): new key printed, the old one refused at once.
    const rotated = startAgent({ rotateKey: true, dataDir });
    expect(await rotated.exitCode).toBe(0);
    const newKey = /^Your new API key is: ([A-Za-z0-9_-]{43})\n$/.exec(rotated.out.join(''))![1]!;
    expect(newKey).not.toBe(key);
    expect((await get(await second.url(routes.info), key)).status).toBe(401);
    expect((await get(await second.url(routes.info), newKey)).status).toBe(503);
    expect(await second.stop('SIGINT')).toBe(0);
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
    const oldKey = /: ([A-Za-z0-9_-]{43})\n$/.exec(first.out.join(''))![1]!;
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
