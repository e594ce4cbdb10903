/**
 * Smoke test of the test harness itself: the engines, registry and images that every Docker
 * test relies on behave as the tests assume.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeEach, expect, it } from 'vitest';
import {
  allContainers,
  describeDocker,
  docker,
  engine,
  harness,
  httpGet,
  images,
  LOGGER_STDOUT_PREFIX,
  loadImages,
  publishedPort,
  resetEngine,
  runningContainers,
  WEB_BODY,
  WEB_PORT,
} from './context.js';
import { type Engine, startEngine, untrackLiveDir } from './engines.js';
import { listProcesses, runSync, waitFor } from './proc.js';
import { reapStaleSync } from './resources.js';

describeDocker('test harness', () => {
  const [node1, node2, node3] = [engine('node1'), engine('node2'), engine('node3')];
  const all = [node1, node2, node3];

  beforeEach(async () => {
    await Promise.all(all.map((e) => resetEngine(e, { images: true })));
  });
  afterAll(async () => {
    await Promise.all(all.map((e) => resetEngine(e)));
  });

  it('runs three separate engines that answer docker info', async () => {
    const ids = await Promise.all(
      all.map(async (e) => (await docker(e.dockerHost, ['info', '--format', '{{.ID}}'])).stdout.trim()),
    );
    expect(ids.every((id) => id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(3);
    expect(new Set(all.map((e) => e.dockerHost)).size).toBe(3);
    expect(new Set(all.map((e) => e.subnet)).size).toBe(3);
  });

  it('keeps containers of one engine invisible to the others', async () => {
    await docker(node1.dockerHost, ['pull', '-q', images().webV1]);
    await docker(node1.dockerHost, ['run', '-d', '--label', 'dokkup.test=separate', images().webV1]);
    expect(await runningContainers(node1, { 'dokkup.test': 'separate' })).toHaveLength(1);
    expect(await allContainers(node2, { 'dokkup.test': 'separate' })).toHaveLength(0);
    expect(await allContainers(node3)).toHaveLength(0);
  });

  it('pulls an image from the loopback registry and serves it on a 127.0.0.1 port', async () => {
    const h = harness();
    // Engines start without the images: this pull really goes to the registry.
    const before = (await docker(node2.dockerHost, ['image', 'ls', '-q'])).stdout.trim();
    expect(before).toBe('');
    await docker(node2.dockerHost, ['pull', images().webV1]);
    const id = (await docker(node2.dockerHost, ['image', 'inspect', '--format', '{{.Id}}', images().webV1]))
      .stdout;
    expect(id.trim()).toBe(h.imageIds?.webV1);

    await docker(node2.dockerHost, [
      'run',
      '-d',
      '-p',
      String(WEB_PORT),
      '--label',
      'dokkup.test=web',
      images().webV1,
    ]);
    const [web] = await runningContainers(node2, { 'dokkup.test': 'web' });
    expect(web).toBeDefined();
    const port = publishedPort(web!, `${WEB_PORT}/tcp`);
    const body = await waitFor('httpd to answer', () => httpGet(port));
    expect(body.trim()).toBe(WEB_BODY.v1);
  });

  it('fails to pull a tag that was never pushed', async () => {
    const res = await docker(node3.dockerHost, ['pull', images().neverPushed], { allowFail: true });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/not found|manifest unknown/);
  });

  it('gives v1 and v2 different image IDs and stops web containers promptly', async () => {
    const ids = harness().imageIds!;
    expect(ids.webV1).not.toBe(ids.webV2);
    await docker(node1.dockerHost, ['pull', '-q', images().webV2]);
    const id = (await docker(node1.dockerHost, ['run', '-d', images().webV2])).stdout.trim();
    const began = Date.now();
    await docker(node1.dockerHost, ['stop', id]);
    // The TERM trap makes PID 1 exit at once; without it docker stop waits its full 10 s.
    expect(Date.now() - began).toBeLessThan(8000);
    const [stopped] = await allContainers(node1);
    expect(stopped?.exitCode).toBe(0);
  });

  it('has a crashing image, an unhealthy one and a healthy one', async () => {
    await loadImages(node1.dockerHost, harness().imageArchive!);
    const run = async (ref: string, label: string) =>
      docker(node1.dockerHost, ['run', '-d', '--label', `dokkup.test=${label}`, ref]);
    await Promise.all([
      run(images().crash, 'crash'),
      run(images().unhealthy, 'unhealthy'),
      run(images().healthy, 'healthy'),
    ]);
    await waitFor('crash to exit', async () => {
      const [c] = await allContainers(node1, { 'dokkup.test': 'crash' });
      return c?.state === 'exited' ? c : undefined;
    }).then((c) => expect(c.exitCode).not.toBe(0));
    await waitFor('unhealthy status', async () => {
      const [c] = await allContainers(node1, { 'dokkup.test': 'unhealthy' });
      return c?.health === 'unhealthy' ? c : undefined;
    });
    await waitFor('healthy status', async () => {
      const [c] = await allContainers(node1, { 'dokkup.test': 'healthy' });
      return c?.health === 'healthy' ? c : undefined;
    });
  });

  it('has a logger image that prints known lines on stdout and stderr', async () => {
    await loadImages(node3.dockerHost, harness().imageArchive!);
    const id = (await docker(node3.dockerHost, ['run', '-d', images().logger])).stdout.trim();
    const logs = await waitFor('log lines', async () => {
      const res = await docker(node3.dockerHost, ['logs', id]);
      return res.stdout.includes(`${LOGGER_STDOUT_PREFIX} 3`) ? res : undefined;
    });
    expect(logs.stdout).toContain(`${LOGGER_STDOUT_PREFIX} 1`);
    expect(logs.stderr).toContain('dokkup-test-stderr 1');
  });
});

describeDocker('engine lifecycle', () => {
  /** Everything an engine leaves on the host while it runs. */
  function footprint(e: Engine) {
    const id = basename(e.dir);
    const processes = listProcesses().filter((p) => p.cmdline.includes(`/${id}/`));
    const links = runSync('ip', ['-o', 'link', 'show'], { allowFail: true }).stdout;
    return { processes: processes.length, bridge: links.includes(`${e.bridge}:`), dir: existsSync(e.dir) };
  }

  /** An engine with a user-defined network and a container publishing a port. */
  async function busyEngine(name: string): Promise<{ e: Engine; port: number; networkBridge: string }> {
    const e = await startEngine(name);
    try {
      return await fillEngine(e);
    } catch (err) {
      await e.stop();
      throw err;
    }
  }

  async function fillEngine(e: Engine): Promise<{ e: Engine; port: number; networkBridge: string }> {
    await loadImages(e.dockerHost, harness().imageArchive!);
    const network = (await docker(e.dockerHost, ['network', 'create', 'harness-net'])).stdout.trim();
    await docker(e.dockerHost, [
      'run',
      '-d',
      '--network',
      'harness-net',
      '-p',
      String(WEB_PORT),
      '--label',
      'dokkup.test=fp',
      images().webV1,
    ]);
    const [c] = await runningContainers(e, { 'dokkup.test': 'fp' });
    const port = publishedPort(c!, `${WEB_PORT}/tcp`);
    expect((await waitFor('httpd', () => httpGet(port))).trim()).toBe(WEB_BODY.v1);
    return { e, port, networkBridge: `br-${network.slice(0, 12)}` };
  }

  const hasLink = (dev: string) => runSync('ip', ['link', 'show', dev], { allowFail: true }).code === 0;

  it('stop() leaves no process, bridge, network bridge, directory or port behind', async () => {
    const { e, port, networkBridge } = await busyEngine('lifecycle-stop');
    try {
      expect(hasLink(networkBridge)).toBe(true);
      expect(footprint(e).processes).toBeGreaterThan(2);
      expect(port).toBeGreaterThanOrEqual(e.portRange[0]);
      expect(port).toBeLessThanOrEqual(e.portRange[1]);
    } finally {
      await e.stop();
    }
    const after = footprint(e);
    expect(after.processes).toBe(0);
    expect(after.bridge).toBe(false);
    expect(after.dir).toBe(false);
    expect(hasLink(networkBridge)).toBe(false);
    await expect(httpGet(port, '/', 500)).rejects.toThrow();
  });

  it('a later run reaps the leftovers of a run that died without stopping its engine', async () => {
    const { e, port, networkBridge } = await busyEngine('lifecycle-crash');
    // Make the engine look like it belongs to a process that is gone, as after a kill -9 of
    // the test run; its exit hook must not clean it up either.
    const slotDir = dirname(e.dir);
    try {
      writeFileSync(join(slotDir, 'owner'), '999999999:0');
      untrackLiveDir(slotDir);
      reapStaleSync();
      const after = footprint(e);
      expect(after.processes).toBe(0);
      expect(after.bridge).toBe(false);
      expect(existsSync(slotDir)).toBe(false);
      expect(hasLink(networkBridge)).toBe(false);
      await expect(httpGet(port, '/', 500)).rejects.toThrow();
    } finally {
      if (existsSync(slotDir)) await e.stop();
    }
    // The live engines of this run are not leftovers and were not touched.
    for (const name of ['node1', 'node2', 'node3']) {
      await docker(engine(name).dockerHost, ['info', '--format', '{{.ID}}']);
    }
  });
});
