/**
 * The agent-process helper against the real built agent: key and fingerprint capture, health
 * over TLS, kill -9 and a restart on the same data directory and port, with the first key and
 * the first certificate still in use.
 */
import { rmSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { type AgentProcess, startAgentProcess } from './agent-process.js';
import { describeDocker, engine } from './context.js';
import { pinnedFetch } from './https-fetch.js';

describeDocker('agent process helper', () => {
  const node1 = engine('node1');
  let agent: AgentProcess | undefined;

  afterAll(async () => {
    if (agent) {
      await agent.stop();
      rmSync(agent.configDir, { recursive: true, force: true });
    }
  });

  const info = (key?: string) =>
    pinnedFetch(`${agent!.baseUrl}/v1/info`, {
      headers: key ? { authorization: `Bearer ${key}` } : {},
      fingerprint: agent!.fingerprint,
    });
  const health = () => pinnedFetch(`${agent!.baseUrl}/healthz`, { fingerprint: agent!.fingerprint });

  it('starts the built agent, captures its key and survives kill -9 and restart', async () => {
    agent = await startAgentProcess({ dockerHost: node1.dockerHost });
    expect(agent.key.length).toBeGreaterThanOrEqual(32);
    expect(agent.output()).toContain(`Your new API key is: ${agent.key}`);
    expect(agent.baseUrl).toMatch(/^https:/);
    expect(agent.output()).toContain(`Certificate fingerprint: ${agent.fingerprint}`);
    expect((await info(agent.key)).status).toBe(200);
    expect((await info()).status).toBe(401);

    const pid = agent.process.pid;
    await agent.kill9();
    await expect(health()).rejects.toThrow();

    await agent.restart();
    expect(agent.process.pid).not.toBe(pid);
    // The key was printed once only; the first one still works after the restart.
    expect(agent.output().match(/Your new API key is:/g)).toHaveLength(1);
    expect(agent.output().match(/Certificate fingerprint:/g)).toHaveLength(1);
    expect((await info(agent.key)).status).toBe(200);

    const exit = await agent.stop();
    expect(exit.signal === 'SIGTERM' || exit.code === 0).toBe(true);
    await expect(health()).rejects.toThrow();
    await agent.restart();
    expect((await info(agent.key)).status).toBe(200);
  });
});
