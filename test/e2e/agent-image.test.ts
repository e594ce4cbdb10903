/**
 * The agent image, built from the project's Dockerfile and run the way the README says: the
 * Docker socket and a config volume mounted, a port published. No base image can be pulled
 * here, so the harness imports a local one from the Node running the tests (test/harness/
 * node-image.ts) and passes it as NODE_IMAGE; the builder has no network either, so the bundle
 * is made first (`npm run bundle`) and the build uses it (PREBUILT=true), as README describes
 * for offline builders.
 *
 * Then, on a harness engine: the key and the TLS certificate's fingerprint from `docker logs`
 * (pinned in the inventory: the agent serves HTTPS), a deploy through the agent with the
 * built CLI, the image's HEALTHCHECK going healthy, `docker restart` of the agent container,
 * and the job still managed (same containers, nothing to change, the same key, no new key
 * printed). The image size is printed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { agentBinary, freePort, repoRoot } from '../harness/agent-process.js';
import { describeDocker, engine, images, resetEngine, runningContainers } from '../harness/context.js';
import { docker } from '../harness/docker-cli.js';
import { importNodeImage } from '../harness/node-image.js';
import { run, waitFor } from '../harness/proc.js';

const KEY_LINE = /^Your new API key is: (\S+)$/m;
const FINGERPRINT_LINE = /^Certificate fingerprint: (SHA256:[0-9a-f]{64})$/m;
const IMAGE = 'dokkup-test/agent:image-test';
const BASE = 'dokkup-test/node:24';
const NAME = 'dokkup-agent';

describeDocker('the agent image (Dockerfile)', () => {
  const e = engine('node3');
  let dir: string;
  let port: number;
  let key: string;
  let fingerprint: string;

  const cli = (args: string[]) =>
    run(process.execPath, [agentBinary(), ...args], {
      cwd: dir,
      env: { ...process.env, IMAGE_AGENT_KEY: key, IMAGE_AGENT_FINGERPRINT: fingerprint, NO_COLOR: '1' },
      allowFail: true,
      timeoutMs: 120_000,
    });
  const health = async () =>
    (await docker(e.dockerHost, ['inspect', '-f', '{{.State.Health.Status}}', NAME])).stdout.trim();
  const logs = async () => {
    const out = await docker(e.dockerHost, ['logs', NAME]);
    return out.stdout + out.stderr;
  };

  beforeAll(async () => {
    await resetEngine(e);
    const root = repoRoot();
    await run(process.execPath, [path.join(root, 'scripts/package.mjs'), '--bundle-only'], { cwd: root });
    await importNodeImage(e.dockerHost, BASE);
    await docker(e.dockerHost, [
      'build',
      '-q',
      '--build-arg',
      `NODE_IMAGE=${BASE}`,
      '--build-arg',
      'PREBUILT=true',
      '-t',
      IMAGE,
      root,
    ]);
    dir = mkdtempSync(path.join(tmpdir(), 'dokkup-agent-image-'));
    port = await freePort();
  }, 300_000);

  afterAll(async () => {
    await docker(e.dockerHost, ['rm', '-f', NAME]).catch(() => undefined);
    await resetEngine(e);
    await docker(e.dockerHost, ['rmi', '-f', IMAGE, BASE]).catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is Node plus one bundle', async () => {
    const size = Number((await docker(e.dockerHost, ['image', 'inspect', '-f', '{{.Size}}', IMAGE])).stdout);
    const base = Number((await docker(e.dockerHost, ['image', 'inspect', '-f', '{{.Size}}', BASE])).stdout);
    const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
    console.log(`[agent image] ${mib(size)}: the Node base ${mib(base)} + dokkup ${mib(size - base)}`);
    expect(size - base).toBeLessThan(10 * 1024 * 1024);
    const listing = await docker(e.dockerHost, ['run', '--rm', '--entrypoint', 'ls', IMAGE, '/app']);
    expect(listing.stdout.split('\n').filter(Boolean).sort()).toEqual([
      'blessed-usr',
      'dokkup.cjs',
      'inventory-worker.js',
      'package.json',
    ]);
    const version = await docker(e.dockerHost, ['run', '--rm', IMAGE, 'version']);
    expect(version.stdout).toMatch(/^Dokkup v\d+\.\d+\.\d+, build [0-9a-f]{7}\n$/);
  });

  it('runs as the README says, takes a deploy, goes healthy, and keeps the job across a restart', async () => {
    const config = path.join(dir, 'config');
    await docker(e.dockerHost, [
      'run',
      '-d',
      '--name',
      NAME,
      '-p',
      `127.0.0.1:${port}:8080`,
      '--restart',
      'always',
      '-v',
      `${config}:/config`,
      '-v',
      `${e.socketPath}:/var/run/docker.sock`,
      IMAGE,
    ]);
    key = await waitFor('the key in docker logs', async () => KEY_LINE.exec(await logs())?.[1], {
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    // Printed beside the key, once the certificate is made (a moment after the key).
    fingerprint = await waitFor(
      'the fingerprint in docker logs',
      async () => FINGERPRINT_LINE.exec(await logs())?.[1],
      {
        timeoutMs: 30_000,
        intervalMs: 250,
      },
    );
    expect(fingerprint).toMatch(/^SHA256:[0-9a-f]{64}$/);
    // The README's way to see it again.
    const printed = await docker(e.dockerHost, ['exec', NAME, 'dokkup', 'agent', '--fingerprint']);
    expect(printed.stdout).toBe(`Certificate fingerprint: ${fingerprint}\n`);
    writeFileSync(
      path.join(dir, 'inventory.yaml'),
      `nodes:\n  - name: imaged\n    location: 127.0.0.1:${port}\n    key: \${IMAGE_AGENT_KEY}\n    fingerprint: \${IMAGE_AGENT_FINGERPRINT}\n`,
    );
    writeFileSync(
      path.join(dir, 'web.yaml'),
      `name: web\nnode: imaged\ncount: 2\ncontainer:\n  - image: ${images().webV1}\n    ports:\n      - in: 8000\n`,
    );
    await waitFor(
      'the agent to answer',
      async () => ((await cli(['show', 'nodes'])).code === 0 ? true : undefined),
      {
        timeoutMs: 30_000,
        intervalMs: 500,
      },
    );
    const deployed = await cli(['run', 'job', '-y', 'web.yaml']);
    expect(deployed.stderr).toBe('');
    expect(deployed.code).toBe(0);
    const before = (await runningContainers(e, { 'dokkup.job.name': 'web' })).map((c) => c.id).sort();
    expect(before).toHaveLength(2);

    // The first check runs an interval (10 s) after the start.
    await waitFor(
      'the HEALTHCHECK to pass',
      async () => ((await health()) === 'healthy' ? true : undefined),
      {
        timeoutMs: 90_000,
        intervalMs: 1000,
      },
    );

    await docker(e.dockerHost, ['restart', NAME]);
    await waitFor(
      'the restarted agent to answer',
      async () => ((await cli(['show', 'nodes'])).code === 0 ? true : undefined),
      {
        timeoutMs: 30_000,
        intervalMs: 500,
      },
    );
    expect((await logs()).match(new RegExp(KEY_LINE.source, 'gm'))).toHaveLength(1);
    // The certificate lives in the config volume: the same one after the restart, printed once.
    expect((await logs()).match(new RegExp(FINGERPRINT_LINE.source, 'gm'))).toHaveLength(1);
    const plan = await cli(['plan', 'job', 'web.yaml']);
    expect(plan.stdout).toMatch(/imaged\s+ONLINE\s+2\/2\s+false/);
    expect(plan.code).toBe(0);
    const shown = await cli(['show', 'job', '--json', 'web.yaml']);
    expect(JSON.parse(shown.stdout).nodes[0].job).toMatchObject({ running: 2, desired: 2 });
    expect((await runningContainers(e, { 'dokkup.job.name': 'web' })).map((c) => c.id).sort()).toEqual(
      before,
    );
    await waitFor(
      'the HEALTHCHECK to pass after the restart',
      async () => ((await health()) === 'healthy' ? true : undefined),
      {
        timeoutMs: 90_000,
        intervalMs: 1000,
      },
    );

    // The README's way to run the other commands in the container: a new key, the old one refused.
    const rotated = await docker(e.dockerHost, ['exec', NAME, 'dokkup', 'agent', '--rotate-key']);
    const newKey = KEY_LINE.exec(rotated.stdout)?.[1];
    expect(newKey).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect((await cli(['show', 'nodes'])).code).toBe(3);
    key = newKey!;
    // Key rotation keeps the certificate: the pinned fingerprint still works.
    expect((await cli(['show', 'nodes'])).code).toBe(0);
  });
});
