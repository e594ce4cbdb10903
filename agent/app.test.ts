/**
 * The whole agent as `createAgent` assembles it (engine, store, HTTP server, feeds), with the
 * container and feed engines in memory instead of Docker: what the composition root adds on top
 * of its parts (one key for HTTP and the WebSocket, the policy on the HTTP path, one shutdown).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packageVersion } from '../src/build-info.js';
import { testSpec } from '../src/core/spec.fixture.js';
import { ErrorCodeSchema, routes } from '../src/protocol/api.js';
import { FakeRuntime } from '../test/fakes/container-runtime.js';
import { type Agent, createAgent } from './app.js';
import { issueKey, KeyVerifier } from './auth/index.js';
import { MemoryFeedRuntime } from './feeds/memory-runtime.fixture.js';
import { statusForCode } from './http/errors.js';
import { silentLogger } from './logger.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startAgent(): Promise<{ agent: Agent; url: string; key: string; runtime: FakeRuntime }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'dokkup-app-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const key = issueKey();
  const logger = silentLogger();
  const runtime = new FakeRuntime();
  const agent = createAgent({
    dataDir,
    verifier: KeyVerifier.forKey(key, { logger }),
    logger,
    runtimes: { containers: runtime, feeds: new MemoryFeedRuntime() },
  });
  cleanups.push(() => agent.close(1000));
  const { port } = await agent.listen(0, '127.0.0.1');
  return { agent, url: `http://127.0.0.1:${port}`, key, runtime };
}

/** The status line of a WebSocket upgrade request (without completing any handshake). */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${routes.feeds}`, {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': Buffer.from('0123456789abcdef').toString('base64'),
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('createAgent', () => {
  it('serves the API and the feeds behind one key, and deploys on the engine it was given', async () => {
    const { url, key, runtime } = await startAgent();
    const auth = { authorization: `Bearer ${key}` };

    const info = await fetch(`${url}${routes.info}`, { headers: auth });
    expect(info.status).toBe(200);
    expect(await info.json()).toMatchObject({ agentVersion: packageVersion(), containers: { total: 0 } });
    expect((await fetch(`${url}${routes.info}`)).status).toBe(401);

    expect(await upgradeStatus(url, {})).toBe(401);
    expect(await upgradeStatus(url, { authorization: 'Bearer wrong' })).toBe(401);
    expect(await upgradeStatus(url, auth)).toBe(101);

    const spec = testSpec(
      { image: 'web:v1' },
      { name: 'web', count: 2, update: { healthyDeadlineMs: 5000, minHealthyMs: 0 } },
    );
    const deploy = await fetch(`${url}${routes.deploy('web')}`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ spec }),
    });
    expect(deploy.status).toBe(200);
    const lines = (await deploy.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.at(-1)).toMatchObject({ type: 'done', result: { ok: true, action: 'fresh', running: 2 } });
    expect(runtime.counts()).toEqual({ running: 2, total: 2 });
  });

  it('refuses a job that binds the Docker socket, through HTTP, before touching the engine', async () => {
    const { url, key, runtime } = await startAgent();
    const spec = testSpec(
      { image: 'web:v1', volumes: ['/var/run/docker.sock:/var/run/docker.sock'] },
      { name: 'web', update: { healthyDeadlineMs: 5000, minHealthyMs: 0 } },
    );
    const plan = await fetch(`${url}${routes.plan('web')}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ operation: 'deploy', spec }),
    });
    expect(plan.status).toBe(400);
    const body = (await plan.json()) as { error: { code: string; message: string; path?: string } };
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.path).toBe('spec.container.volumes.0');
    expect(runtime.counts()).toEqual({ running: 0, total: 0 });
  });

  it('close stops accepting requests and frees the port, once however often it is called', async () => {
    const { agent, url } = await startAgent();
    expect((await fetch(`${url}${routes.health}`)).status).toBe(200);
    const first = agent.close(1000);
    expect(agent.close(1000)).toBe(first);
    expect(await first).toBe(true);
    await expect(fetch(`${url}${routes.health}`)).rejects.toThrow();
  });

  it('says whether the engine answers', async () => {
    const { agent } = await startAgent();
    expect(await agent.checkDocker(1000)).toBe(true);
  });
});

describe('the README', () => {
  it('lists every error code with the HTTP status the agent answers it with', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Errors\n'), readme.indexOf('\n## Testing\n'));
    const rows = new Map(
      [...section.matchAll(/^\| `([a-z_]+)` \| (\d{3})\b[^|]*\| (.+) \|$/gm)].map((m) => [
        m[1]!,
        Number(m[2]),
      ]),
    );
    expect([...rows.keys()].sort()).toEqual([...ErrorCodeSchema.options].sort());
    for (const code of ErrorCodeSchema.options) expect(rows.get(code), code).toBe(statusForCode(code));
  });
});
