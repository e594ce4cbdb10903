import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { AgentClient } from '../../src/client/index.js';
import { parseJobText } from '../../src/config/index.js';
import { routes } from '../../src/protocol/api.js';
import { AuditJsonSchema } from '../../src/protocol/cli-json.js';
import type { JobSpec } from '../../src/protocol/job.js';
import { type AgentProcess, startAgentProcess } from '../harness/agent-process.js';
import { runCli } from '../harness/cli-run.js';
import { describeDocker, resetEngine } from '../harness/context.js';
import { docker } from '../harness/docker-cli.js';

const h = inject('dokkupHarness');

const dokkup = (cwd: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  runCli(cwd, args, { env: { ...process.env, NO_COLOR: '1', ...env } });

/** Bytes a terminal acts on (ESC, BEL, CR, C1…); newlines and tabs aside. */
const ACTIVE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describeDocker('hardening on a real engine (built agent with --bind-root, built CLI)', () => {
  const engine = h.engines[0]!;
  const images = h.images!;
  let dir: string;
  let root: string;
  let agent: AgentProcess;
  let client: AgentClient;

  const job = (name: string, yaml: string, extra = ''): string =>
    `name: ${name}\nnode: n1\ncount: 1\nupdate:\n  healthy_deadline: 20s\n  min_healthy_time: 1s\ncontainer:\n  - image: "${images.webV1}"\n${yaml}${extra}`;
  const spec = (name: string, yaml: string): JobSpec => parseJobText(job(name, yaml), `${name}.yaml`);

  beforeAll(async () => {
    await resetEngine(engine);
    dir = mkdtempSync(join(tmpdir(), 'dokkup-hardening-'));
    root = join(dir, 'binds');
    mkdirSync(join(root, 'www'), { recursive: true });
    writeFileSync(join(root, 'www', 'index.html'), 'from the host\n');
    symlinkSync('/etc', join(root, 'etc-link'));
    agent = await startAgentProcess({ dockerHost: engine.dockerHost, args: ['--bind-root', root] });
    client = new AgentClient(agent.inventoryNode('n1'));
    writeFileSync(
      join(dir, 'inventory.yaml'),
      `nodes:\n  - name: n1\n    location: ${agent.baseUrl}\n    key: \${KEY}\n    fingerprint: ${agent.fingerprint}\n`,
    );
  });

  afterAll(async () => {
    client?.close();
    await agent?.stop();
    await resetEngine(engine);
    rmSync(dir, { recursive: true, force: true });
  });

  it('binds a directory under the bind root; refuses a symlink out of it, a bind-backed volume and the host network, creating nothing', async () => {
    await docker(engine.dockerHost, [
      'volume',
      'create',
      '-d',
      'local',
      '-o',
      'type=none',
      '-o',
      'o=bind',
      '-o',
      'device=/etc',
      'etcvol',
    ]);
    const ok = spec('binds', `    volumes:\n      - ${root}/www:/www:ro\n`);
    expect(await client.deploy(ok, () => {})).toMatchObject({ ok: true, action: 'fresh' });
    const id = (await client.status('binds')).containers[0]!.id;
    const mounts = JSON.parse(
      (await docker(engine.dockerHost, ['inspect', '-f', '{{json .Mounts}}', id])).stdout,
    );
    expect(mounts).toEqual([
      expect.objectContaining({ Type: 'bind', Source: `${root}/www`, Destination: '/www' }),
    ]);
    const served = await docker(engine.dockerHost, ['exec', id, 'cat', '/www/index.html']);
    expect(served.stdout).toBe('from the host\n');

    for (const [yaml, path, message] of [
      [
        `    volumes:\n      - ${root}/etc-link/cron.d:/c\n`,
        'spec.container.0.volumes.0',
        /configuration.*resolves to \/etc/,
      ],
      [`    volumes:\n      - /proc/1/root:/host\n`, 'spec.container.0.volumes.0', /processes/],
      ['    networks:\n      - host\n', 'spec.container.0.networks.0', /--allow-host-network/],
      // A volume made beforehand as a bind of /etc is a bind by another name.
      [
        '    volumes:\n      - etcvol:/data\n',
        'spec.container.0.volumes.0',
        /names a Docker volume that binds \/etc/,
      ],
    ] as const) {
      const refused = spec('refused', yaml);
      await expect(client.plan('refused', { operation: 'deploy', spec: refused })).rejects.toMatchObject({
        status: 400,
        body: { path },
      });
      await expect(client.deploy(refused, () => {})).rejects.toThrow(message);
    }
    const names = (await docker(engine.dockerHost, ['ps', '-a', '--format', '{{.Names}}'])).stdout;
    expect(names).not.toMatch(/refused/);
  });

  it("a container's escape sequences reach `dokkup logs` as visible text", async () => {
    const printer = `    entrypoint: ["/bin/sh", "-c"]\n    command: ["printf '\\\\033]0;pwned\\\\007\\\\033[2J\\\\033[31mred\\\\033[0m evil\\\\n'; trap 'exit 0' TERM; httpd -f -p 8000 -h /www & wait"]\n`;
    writeFileSync(join(dir, 'printer.yaml'), job('printer', printer));
    const deployed = await dokkup(dir, ['run', 'job', '-y', 'printer.yaml'], { KEY: agent.key });
    expect(deployed.code, deployed.stderr).toBe(0);
    const logs = await dokkup(dir, ['logs', 'job', 'printer.yaml'], { KEY: agent.key });
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('\\x1b]0;pwned\\x07\\x1b[2Jred evil');
    expect(logs.stdout + logs.stderr).not.toMatch(ACTIVE);
  });

  it("an agent's error message quoting a container's health check output reaches the CLI as visible text", async () => {
    const sick = `    healthcheck:\n      test: "printf '\\\\033]0;pwned\\\\007\\\\033[2Jbad-health'; exit 1"\n      interval: 1s\n      retries: 1\n`;
    writeFileSync(
      join(dir, 'sick.yaml'),
      job('sick', sick).replace('healthy_deadline: 20s', 'healthy_deadline: 15s'),
    );
    const ran = await dokkup(dir, ['run', 'job', '-y', 'sick.yaml'], { KEY: agent.key });
    expect(ran.code).toBe(1);
    expect(ran.stdout + ran.stderr).toContain('\\x1b]0;pwned\\x07\\x1b[2Jbad-health');
    expect(ran.stdout + ran.stderr).not.toMatch(ACTIVE);
    const json = await dokkup(dir, ['run', 'job', '-y', '--json', 'sick.yaml'], { KEY: agent.key });
    expect(json.stdout).not.toMatch(ACTIVE);
    expect(json.stdout).toContain('\\u001b]0;pwned\\u0007');
  });

  it('a deploy, a failed update and a key rotation (another process) are in the audit log; the rotation closes a live WebSocket', async () => {
    const key = agent.key;
    const v1 = job('audited', '    ports:\n      - in: 8000\n');
    writeFileSync(join(dir, 'audited.yaml'), v1);
    expect((await dokkup(dir, ['run', 'job', '-y', 'audited.yaml'], { KEY: key })).code).toBe(0);
    writeFileSync(join(dir, 'audited.yaml'), v1.replace(images.webV1, images.neverPushed));
    const failed = await dokkup(dir, ['run', 'job', '-y', 'audited.yaml'], { KEY: key });
    expect(failed.code).toBe(1);

    // Over TLS like every client; the certificate's trust is the TLS tests' subject, not this one's.
    const ws = new WebSocket(`wss://127.0.0.1:${agent.port}${routes.feeds}`, {
      headers: { authorization: `Bearer ${key}` },
      rejectUnauthorized: false,
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    const rotated = await dokkup(dir, ['agent', '--rotate-key', '--config', agent.configDir]);
    expect(rotated.code, rotated.stderr).toBe(0);
    const newKey = /Your new API key is: (\S+)/.exec(rotated.stdout)![1]!;
    expect(await closed).toBe(1008);
    expect((await dokkup(dir, ['audit'], { KEY: key })).code).toBe(3); // the old key: UNAUTHORIZED

    const audit = await dokkup(dir, ['audit', '--json', '--since', '10m'], { KEY: newKey });
    expect(audit.code, audit.stderr).toBe(0);
    const entries = AuditJsonSchema.parse(JSON.parse(audit.stdout)).entries.filter(
      (e) => e.job === 'audited' || e.operation === 'rotate-key',
    );
    expect(entries.map((e) => [e.operation, e.action, e.result, e.error?.code ?? null])).toEqual([
      ['deploy', 'fresh', 'ok', null],
      ['deploy', 'update', 'failed', 'pull_failed'],
      ['rotate-key', null, 'ok', null],
    ]);
    expect(entries[0]).toMatchObject({ countFrom: 0, countTo: 1, node: 'n1' });
    expect(entries[1]!.versionFrom).toBe(entries[0]!.versionTo);
    expect(entries[2]).toMatchObject({ remote: 'local' });
    expect(audit.stdout).not.toContain(key);
    expect(audit.stdout).not.toContain(newKey);
  });
});
