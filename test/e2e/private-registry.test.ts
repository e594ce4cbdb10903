/**
 * Private images end to end: the built CLI and a real agent on a harness engine pull from a real
 * registry that wants credentials (Debian's docker-registry with an htpasswd file on loopback),
 * with the operator's credentials taken from a Docker config file, from a credential helper
 * (`docker-credential-test` on PATH) and from the inventory's `${ENV}` values. A wrong password
 * is a per-node "unauthorized" failure that leaves the old version running; a rollback pulls a
 * removed image with the credentials of its own run; the TUI deploys a private image with the
 * same credentials. At the end, the agent's data directory (its audit log included), its logs, a
 * feeds capture (`dokkup events --json`), every CLI output and every TUI screen are searched for
 * the password: it is in none of them.
 */
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { OperationJsonSchema, PlanJsonSchema } from '../../src/protocol/cli-json.js';
import { type AgentProcess, startAgentProcess } from '../harness/agent-process.js';
import { CliRunner, TuiTerminal } from '../harness/cli-run.js';
import {
  describeDocker,
  docker,
  engine,
  harness,
  resetEngine,
  runningContainers,
} from '../harness/context.js';

/** Every file under `dir`, path → text. */
function filesUnder(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.set(path, readFileSync(path, 'latin1'));
    }
  };
  walk(dir);
  return out;
}

describeDocker('private registries: pulls with the operator’s credentials, kept nowhere', () => {
  const node = engine('node1');
  const WRONG = 'dokkup-wrong-password-7f3a';
  let registry: NonNullable<ReturnType<typeof harness>['privateRegistry']>;
  let agent: AgentProcess;
  let dir: string;
  let cli: CliRunner;
  let term: TuiTerminal | undefined;
  let feeds: ReturnType<CliRunner['start']>;
  /** An empty Docker config directory: no credentials from there. */
  let noDockerConfig: string;

  const job = (image: string, extra = '') =>
    [
      'name: private',
      'node: lab1',
      'count: 2',
      'update:',
      '  min_healthy_time: 1s',
      'container:',
      `  - image: "${image}"`,
      extra,
    ].join('\n');
  const versionLabel = async () => [
    ...new Set((await runningContainers(node, { 'dokkup.job.name': 'private' })).map((c) => c.image)),
  ];

  beforeAll(async () => {
    registry = harness().privateRegistry!;
    await resetEngine(node, { images: true });
    agent = await startAgentProcess({
      dockerHost: node.dockerHost,
      env: { LOG_LEVEL: 'debug', LOG_FORMAT: 'json' },
    });
    dir = mkdtempSync(join(tmpdir(), 'dokkup-private-'));
    noDockerConfig = join(dir, 'empty-docker-config');
    mkdirSync(noDockerConfig);
    writeFileSync(
      join(dir, 'inventory.yaml'),
      // TLS, the agent's certificate pinned by a variable like the key (one interpolation).
      `nodes:\n  - name: lab1\n    location: 127.0.0.1:${agent.port}\n    key: \${LAB1_KEY}\n    fingerprint: \${LAB1_FINGERPRINT}\n`,
    );
    cli = new CliRunner(dir, {
      PATH: process.env.PATH,
      HOME: dir,
      LAB1_KEY: agent.key,
      LAB1_FINGERPRINT: agent.fingerprint,
      DOCKER_CONFIG: noDockerConfig,
    });
    // A second operator watching the node's feed for the whole test.
    feeds = cli.start(['events', '--json']);
    await new Promise((r) => setTimeout(r, 1000));
  });

  afterAll(async () => {
    term?.close();
    await feeds?.stop();
    await agent?.stop();
    await resetEngine(node, { images: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('without credentials: the plan says the registry needs some, the deploy fails on the node naming it', async () => {
    writeFileSync(join(dir, 'v1.yaml'), job(registry.images.webV1));
    const plan = await cli.run(['plan', 'job', 'v1.yaml']);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain(
      `registry ${registry.host} needs credentials: unauthorized; none were sent`,
    );
    const ran = await cli.run(['run', 'job', '-y', 'v1.yaml']);
    expect(ran.code).not.toBe(0);
    expect(ran.stdout).toMatch(/lab1\s+FAILED/);
    expect(ran.stdout).toContain(`registry ${registry.host} needs credentials: unauthorized`);
    expect(await versionLabel()).toEqual([]);
  });

  it('deploys with the credentials of a Docker config file (auths)', async () => {
    const config = join(dir, 'docker-config-auths');
    mkdirSync(config);
    const auth = Buffer.from(`${registry.username}:${registry.password}`).toString('base64');
    writeFileSync(
      join(config, 'config.json'),
      JSON.stringify({ auths: { [`http://${registry.host}`]: { auth } } }),
    );
    const ran = await cli.run(['run', 'job', '-y', '--json', 'v1.yaml'], { env: { DOCKER_CONFIG: config } });
    expect(ran.code, ran.stderr).toBe(0);
    const doc = OperationJsonSchema.parse(JSON.parse(ran.stdout));
    expect(doc.nodes[0]).toMatchObject({ node: 'lab1', outcome: 'succeeded' });
    expect(await versionLabel()).toEqual([registry.images.webV1]);
  });

  it('updates with the credentials a credential helper gives (docker-credential-test on PATH)', async () => {
    const config = join(dir, 'docker-config-helper');
    const bin = join(dir, 'bin');
    mkdirSync(config);
    mkdirSync(bin);
    writeFileSync(join(config, 'config.json'), JSON.stringify({ credHelpers: { [registry.host]: 'test' } }));
    const helper = join(bin, 'docker-credential-test');
    writeFileSync(
      helper,
      `#!/bin/sh\n[ "$1" = get ] || exit 1\nread server\necho "$server" >> "${dir}/helper-asked"\nprintf '{"ServerURL":"%s","Username":"${registry.username}","Secret":"${registry.password}"}' "$server"\n`,
    );
    chmodSync(helper, 0o755);
    writeFileSync(join(dir, 'v2.yaml'), job(registry.images.webV2));
    const ran = await cli.run(['run', 'job', '-y', 'v2.yaml'], {
      env: { DOCKER_CONFIG: config, PATH: `${bin}:${process.env.PATH}` },
    });
    expect(ran.code, ran.stdout + ran.stderr).toBe(0);
    expect(ran.stdout).toMatch(/lab1\s+OK/);
    expect(readFileSync(join(dir, 'helper-asked'), 'utf8')).toBe(`${registry.host}\n`);
    expect(await versionLabel()).toEqual([registry.images.webV2]);
  });

  it('a missing credential helper is a clear error naming it, before any node is contacted', async () => {
    const config = join(dir, 'docker-config-missing-helper');
    mkdirSync(config);
    writeFileSync(join(config, 'config.json'), JSON.stringify({ credsStore: 'nothere' }));
    const ran = await cli.run(['run', 'job', '-y', 'v1.yaml'], { env: { DOCKER_CONFIG: config } });
    expect(ran.code).toBe(2);
    expect(ran.stderr).toContain('credential helper docker-credential-nothere (credsStore in');
    expect(ran.stderr).toContain('is not installed: not found on PATH');
    expect(await versionLabel()).toEqual([registry.images.webV2]);
  });

  it('re-pulls (pull: always) with the inventory’s registries: values from the environment, which win over the Docker config', async () => {
    writeFileSync(
      join(dir, 'inventory-registries.yaml'),
      `${readFileSync(join(dir, 'inventory.yaml'), 'utf8')}registries:\n  - server: ${registry.host}\n    username: \${REGISTRY_USER}\n    password: \${REGISTRY_PASSWORD}\n`,
    );
    writeFileSync(join(dir, 'v1-always.yaml'), job(registry.images.webV1, '    pull: always\n'));
    // A Docker config with a wrong password: the inventory's entry must be the one used.
    const config = join(dir, 'docker-config-wrong');
    mkdirSync(config);
    const wrongAuth = Buffer.from(`${registry.username}:${WRONG}`).toString('base64');
    writeFileSync(
      join(config, 'config.json'),
      JSON.stringify({ auths: { [registry.host]: { auth: wrongAuth } } }),
    );
    const ran = await cli.run(['run', 'job', '-y', '-i', 'inventory-registries.yaml', 'v1-always.yaml'], {
      env: { DOCKER_CONFIG: config, REGISTRY_USER: registry.username, REGISTRY_PASSWORD: registry.password },
    });
    expect(ran.code, ran.stdout + ran.stderr).toBe(0);
    expect(await versionLabel()).toEqual([registry.images.webV1]);
  });

  it('a wrong password is a per-node unauthorized failure, never showing it; the old version keeps running', async () => {
    // v2 is no longer on the node: deploying it needs a pull.
    await docker(node.dockerHost, ['image', 'rm', registry.images.webV2]);
    const before = (await runningContainers(node, { 'dokkup.job.name': 'private' })).map((c) => c.id).sort();
    const ran = await cli.run(['run', 'job', '-y', '--json', '-i', 'inventory-registries.yaml', 'v2.yaml'], {
      env: { REGISTRY_USER: registry.username, REGISTRY_PASSWORD: WRONG },
    });
    expect(ran.code).toBe(1);
    const doc = OperationJsonSchema.parse(JSON.parse(ran.stdout));
    expect(doc.nodes[0]).toMatchObject({ node: 'lab1', outcome: 'failed' });
    expect(doc.nodes[0]!.message).toContain(
      `registry ${registry.host} refused the credentials sent for it: unauthorized`,
    );
    const human = await cli.run(['run', 'job', '-y', '-i', 'inventory-registries.yaml', 'v2.yaml'], {
      env: { REGISTRY_USER: registry.username, REGISTRY_PASSWORD: WRONG },
    });
    expect(human.stdout).toMatch(/lab1\s+FAILED/);
    expect(human.stdout).toContain('unauthorized');
    const plan = await cli.run(['plan', 'job', '--json', '-i', 'inventory-registries.yaml', 'v2.yaml'], {
      env: { REGISTRY_USER: registry.username, REGISTRY_PASSWORD: WRONG },
    });
    const planned = PlanJsonSchema.parse(JSON.parse(plan.stdout));
    expect(planned.nodes[0]!.plan!.warnings.join('\n')).toContain(
      'refused the credentials sent for it: unauthorized',
    );
    const after = (await runningContainers(node, { 'dokkup.job.name': 'private' })).map((c) => c.id).sort();
    expect(after).toEqual(before);
    expect(await versionLabel()).toEqual([registry.images.webV1]);
  });

  it('a rollback pulls the image it goes back to with the credentials of its own run', async () => {
    // The previous version is v2, whose image was removed above.
    const refused = await cli.run(['rollback', 'job', '-y', '-i', 'inventory-registries.yaml', 'v1.yaml'], {
      env: { REGISTRY_USER: registry.username, REGISTRY_PASSWORD: WRONG },
    });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('unauthorized');
    expect(await versionLabel()).toEqual([registry.images.webV1]);
    const ran = await cli.run(['rollback', 'job', '-y', '-i', 'inventory-registries.yaml', 'v1.yaml'], {
      env: { REGISTRY_USER: registry.username, REGISTRY_PASSWORD: registry.password },
    });
    expect(ran.code, ran.stdout + ran.stderr).toBe(0);
    expect(ran.stdout).toContain('Rollback successful');
    expect(await versionLabel()).toEqual([registry.images.webV2]);
  });

  it('without any credentials, an image already on the node still deploys (pull: missing)', async () => {
    writeFileSync(join(dir, 'v2-three.yaml'), job(registry.images.webV2).replace('count: 2', 'count: 3'));
    const ran = await cli.run(['run', 'job', '-y', 'v2-three.yaml']);
    expect(ran.code, ran.stdout + ran.stderr).toBe(0);
    expect((await runningContainers(node, { 'dokkup.job.name': 'private' })).length).toBe(3);
  });

  it('the TUI deploys a private image with the same credentials (a credential helper), re-pulling it', async () => {
    writeFileSync(
      join(dir, 'tui.yaml'),
      job(registry.images.webV1, '    pull: always\n')
        .replace('name: private', 'name: private-tui')
        .replace('count: 2', 'count: 1'),
    );
    const asked = () => readFileSync(join(dir, 'helper-asked'), 'utf8').split('\n').filter(Boolean).length;
    const askedBefore = asked();
    term = new TuiTerminal(dir, ['-i', 'inventory.yaml'], {
      PATH: `${join(dir, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: dir,
      LAB1_KEY: agent.key,
      LAB1_FINGERPRINT: agent.fingerprint,
      DOCKER_CONFIG: join(dir, 'docker-config-helper'),
    });
    await term.waitForText(/nodes 1 online/);
    await term.keys('d');
    await term.waitForText('▶ ');
    for (let i = 0; i < 10 && !term.screen().includes('▶ tui.yaml'); i++) await term.keys('Down');
    await term.waitForText('▶ tui.yaml');
    await term.keys('Enter');
    await term.waitForText('Node statuses:');
    await term.keys('y');
    const board = await term.waitForText(/Finished in .*esc\/enter to dismiss/, 90_000);
    expect(board).toContain('Rollout: Deploy private-tui');
    expect(board).toMatch(/lab1\s+OK\s.*Deployment successful/);
    // The plan and the deploy each asked the helper: the credentials of this run, not stored ones.
    expect(asked()).toBeGreaterThan(askedBefore);
    const [container] = await runningContainers(node, { 'dokkup.job.name': 'private-tui' });
    expect(container?.image).toBe(registry.images.webV1);
    await term.keys('Escape');
    await term.waitFor('board dismissed', (s) => !s.includes('Rollout:'));
  });

  it('the password is nowhere: not in the agent’s data directory, its logs, the feeds or any CLI output', async () => {
    const captured = await feeds.stop();
    expect(captured.stdout).toContain('"operation-done"');
    // The audit log, read back through the CLI too: the failed and the good pulls are there.
    const audit = await cli.run(['audit', '--json']);
    expect(audit.code, audit.stderr).toBe(0);
    expect(audit.stdout).toContain('unauthorized');
    await cli.run(['audit']);
    const files = filesUnder(agent.configDir);
    expect([...files.keys()].some((f) => f.includes(`${join('jobs', 'private')}.json`))).toBe(true);
    expect([...files.keys()]).toContain(join(agent.configDir, 'audit.log'));
    for (const secret of [registry.password, WRONG, Buffer.from(registry.password).toString('base64')]) {
      for (const [file, text] of files) expect(text.includes(secret), `${secret} in ${file}`).toBe(false);
      expect(agent.output()).not.toContain(secret);
      expect(captured.stdout).not.toContain(secret);
      expect(cli.allOutput()).not.toContain(secret);
      for (const screen of term?.screens ?? []) expect(screen).not.toContain(secret);
      expect(readFileSync(join(dir, 'tui-stderr.txt'), 'utf8')).not.toContain(secret);
    }
    // The agent's history is private: the file 0600, its directory and the data directory 0700.
    const history = join(agent.configDir, 'jobs', 'private.json');
    expect(statSync(history).mode & 0o777).toBe(0o600);
    expect(statSync(join(agent.configDir, 'jobs')).mode & 0o777).toBe(0o700);
    expect(statSync(agent.configDir).mode & 0o777).toBe(0o700);
  });
});
