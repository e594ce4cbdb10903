/**
 * Secure transport end to end: the BUILT CLI against real agents (the built binary) serving TLS
 * on loopback, as an operator runs them. The inventory pins each agent's certificate by the
 * fingerprint the agent printed on first start:
 *   - pinned right: ONLINE; pinned wrong: UNTRUSTED with both fingerprints, exit 3, and a
 *     recording TLS server in the agent's place proves the key never left the CLI;
 *   - `ca:` with a CA this test makes, served with `--tls-cert/--tls-key`, replaced on SIGHUP;
 *   - `http://` to a TLS agent and a bare (https) location to a plain agent: clear errors;
 *   - `--rotate-cert` on a running agent: the old pin is refused, the new one works.
 * The Docker engine is only there for the agent's /v1/info (`show nodes`); no container runs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSelfSignedCertificate, fingerprintOf } from '../../agent/tls/certificate.js';
import { ShowNodesJsonSchema } from '../../src/protocol/cli-json.js';
import {
  type AgentProcess,
  agentBinary,
  inventoryYaml,
  startAgentProcess,
} from '../harness/agent-process.js';
import { type CliRun as Ran, runCli } from '../harness/cli-run.js';
import { describeDocker, engine } from '../harness/context.js';
import { servedFingerprint } from '../harness/https-fetch.js';
import { createTestCa } from '../harness/test-ca.js';

const BIN = agentBinary();

const dokkup = (dir: string, args: string[]) => runCli(dir, args);

const explain = (ran: Ran) => `stdout:\n${ran.stdout}\nstderr:\n${ran.stderr}`;

interface NodeEntry {
  name: string;
  location: string;
  key: string;
  fingerprint?: string;
  ca?: string;
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describeDocker('TLS between the CLI and its agents (built binaries, loopback)', () => {
  const node = engine('node1');
  const agents: AgentProcess[] = [];
  let dir: string;
  let agent: AgentProcess;

  const inventory = (file: string, nodes: NodeEntry[]) => {
    writeFileSync(path.join(dir, file), inventoryYaml(nodes));
    return file;
  };
  const showNodes = (file: string) => dokkup(dir, ['show', 'nodes', '-i', file]);
  const showNodesJson = async (file: string) => {
    const ran = await dokkup(dir, ['show', 'nodes', '--json', '-i', file]);
    return { ran, json: ShowNodesJsonSchema.parse(JSON.parse(ran.stdout)) };
  };
  const start = async (args: string[] = []) => {
    const started = await startAgentProcess({
      dockerHost: node.dockerHost,
      args,
      env: { LOG_LEVEL: 'info' },
    });
    agents.push(started);
    return started;
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'dokkup-tls-e2e-'));
    agent = await start();
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    for (const a of agents) rmSync(a.configDir, { recursive: true, force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the agent printed its fingerprint beside the key, once; it is the certificate it serves', async () => {
    expect(agent.output()).toMatch(
      /^Your new API key is: \S+\nCertificate fingerprint: SHA256:[0-9a-f]{64}\n/,
    );
    expect(await servedFingerprint(agent.port)).toBe(agent.fingerprint);
  });

  it('pinned right: ONLINE, exit 0, no plain-HTTP warning', async () => {
    const file = inventory('pinned.yaml', [agent.inventoryNode('lab1')]);
    const ran = await showNodes(file);
    expect(ran.code, explain(ran)).toBe(0);
    expect(ran.stdout).toMatch(/lab1\s+127\.0\.0\.1:\d+\s+ONLINE/);
    expect(ran.stderr).toBe('');
  });

  it('pinned wrong: UNTRUSTED naming both fingerprints, exit 3, in the table and in --json', async () => {
    const wrong = `SHA256:${'0'.repeat(64)}`;
    const file = inventory('wrong-pin.yaml', [
      agent.inventoryNode('lab1'),
      { ...agent.inventoryNode('lab2'), fingerprint: wrong },
    ]);
    const ran = await showNodes(file);
    expect(ran.code, explain(ran)).toBe(3);
    expect(ran.stdout).toMatch(/lab1\s+127\.0\.0\.1:\d+\s+ONLINE/);
    expect(ran.stdout).toMatch(/lab2\s+127\.0\.0\.1:\d+\s+UNTRUSTED/);
    expect(ran.stderr).toContain(
      `Warning: lab2 is UNTRUSTED (certificate mismatch: the agent presented ${agent.fingerprint}, the inventory pins ${wrong}; the key was not sent`,
    );
    const { json } = await showNodesJson(file);
    expect(json.exitCode).toBe(3);
    expect(json.nodes.map((n) => n.status)).toEqual(['online', 'untrusted']);
    expect(json.nodes[1]!.error?.code).toBe('untrusted');
  });

  it('an impostor with another certificate hears nothing: not the request, not the key', async () => {
    const impostor = await createSelfSignedCertificate(['127.0.0.1']);
    const received: Buffer[] = [];
    let connections = 0;
    const server = createTlsServer(impostor, (socket: TLSSocket) => {
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      socket.on('error', () => {});
    });
    server.on('connection', () => connections++);
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as { port: number }).port;
    try {
      // The inventory pins the real agent's certificate; the address answers with the impostor's.
      const file = inventory('impostor.yaml', [
        { name: 'lab1', location: `127.0.0.1:${port}`, key: agent.key, fingerprint: agent.fingerprint },
      ]);
      writeFileSync(path.join(dir, 'job.yaml'), 'name: web\nnode: lab1\ncontainer:\n  - image: nothing:1\n');
      for (const args of [
        ['show', 'nodes', '-i', file],
        ['run', 'job', '-y', '-i', file, 'job.yaml'],
      ]) {
        const ran = await dokkup(dir, args);
        expect(ran.code, explain(ran)).toBe(3);
        expect(ran.stdout).toMatch(/lab1\s+(\S+\s+)?UNTRUSTED/);
        expect(ran.stdout + ran.stderr).toContain(`the agent presented ${fingerprintOf(impostor.cert)}`);
      }
      expect(connections).toBeGreaterThanOrEqual(2);
      expect(Buffer.concat(received).length).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('no pin and no CA: the self-signed certificate is UNTRUSTED, and the message says what to pin', async () => {
    const { fingerprint: _, ...unpinned } = agent.inventoryNode('lab1');
    const ran = await showNodes(inventory('unpinned.yaml', [unpinned]));
    expect(ran.code, explain(ran)).toBe(3);
    expect(ran.stderr).toContain(`pin it: fingerprint: "${agent.fingerprint}"`);
  });

  it('http:// to a TLS agent, and a bare location (https) to a plain agent: clear errors, no fallback', async () => {
    const toTls = await showNodes(
      inventory('http-to-tls.yaml', [
        { name: 'lab1', location: `http://127.0.0.1:${agent.port}`, key: agent.key },
      ]),
    );
    expect(toTls.code, explain(toTls)).toBe(1);
    expect(toTls.stdout).toMatch(/lab1\s+http:\/\/127\.0\.0\.1:\d+\s+ERROR/);
    expect(toTls.stderr).toContain('this agent serves HTTPS only');

    const plain = await start(['--insecure-http']);
    expect(plain.output()).toContain('Warning: --insecure-http');
    const toPlain = await showNodes(
      inventory('https-to-plain.yaml', [
        { name: 'old', location: `127.0.0.1:${plain.port}`, key: plain.key },
      ]),
    );
    expect(toPlain.code, explain(toPlain)).toBe(1);
    expect(toPlain.stderr).toContain('did not answer with TLS');
    expect(toPlain.stderr).toContain(`write location: "http://127.0.0.1:${plain.port}"`);
    // Written out, plain HTTP works; on loopback without a warning.
    const asked = await showNodes(inventory('asked-plain.yaml', [plain.inventoryNode('old')]));
    expect(asked.code, explain(asked)).toBe(0);
    expect(asked.stdout).toMatch(/old\s+http:\/\/127\.0\.0\.1:\d+\s+ONLINE/);
    expect(asked.stderr).toBe('');
  });

  it("ca: an operator's CA vouches for the agent's --tls-cert; a new certificate is served after SIGHUP", async () => {
    const ca = await createTestCa();
    writeFileSync(path.join(dir, 'ca.pem'), ca.cert);
    const first = await ca.issue(['127.0.0.1']);
    const certFile = path.join(dir, 'agent.pem');
    const keyFile = path.join(dir, 'agent.key');
    writeFileSync(certFile, first.cert);
    writeFileSync(keyFile, first.key);
    const own = await start(['--tls-cert', certFile, '--tls-key', keyFile]);
    const viaCa = inventory('ca.yaml', [
      { name: 'lab1', location: `127.0.0.1:${own.port}`, key: own.key, ca: 'ca.pem' },
    ]);
    const ran = await showNodes(viaCa);
    expect(ran.code, explain(ran)).toBe(0);
    expect(ran.stdout).toMatch(/lab1\s+127\.0\.0\.1:\d+\s+ONLINE/);

    // Renewed by another CA (as if the operator switched CAs): after SIGHUP the agent serves it
    // without a restart, and the inventory's CA no longer vouches for it.
    const other = await createTestCa('another CA');
    const renewed = await other.issue(['127.0.0.1']);
    writeFileSync(keyFile, renewed.key);
    writeFileSync(certFile, renewed.cert);
    const pid = own.process.pid;
    own.process.kill('SIGHUP');
    await until(
      async () => (await servedFingerprint(own.port)) === fingerprintOf(renewed.cert),
      'the renewed certificate',
    );
    expect(own.process.pid).toBe(pid);
    expect(own.process.exitCode).toBeNull();
    const refused = await showNodes(viaCa);
    expect(refused.code, explain(refused)).toBe(3);
    expect(refused.stderr).toMatch(/is not vouched for by the CA in .*ca\.pem/);
  });

  it('--rotate-cert on a running agent: the old pin is refused within seconds, the new one works', async () => {
    const rotating = await start();
    const old = rotating.inventoryNode('lab1');
    const file = inventory('rotating.yaml', [old]);
    expect((await showNodes(file)).code).toBe(0);
    const rotated = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, 'agent', '--config', rotating.configDir, '--rotate-cert'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.on('error', reject);
      child.on('exit', () => resolve(out));
    });
    const fingerprint = /^Certificate fingerprint: (SHA256:[0-9a-f]{64})$/m.exec(rotated)?.[1];
    expect(fingerprint).toBeDefined();
    expect(fingerprint).not.toBe(old.fingerprint);
    await until(async () => (await servedFingerprint(rotating.port)) === fingerprint, 'the new certificate');
    const refused = await showNodes(file);
    expect(refused.code, explain(refused)).toBe(3);
    expect(refused.stdout).toMatch(/UNTRUSTED/);
    const repinned = await showNodes(inventory('repinned.yaml', [{ ...old, fingerprint: fingerprint! }]));
    expect(repinned.code, explain(repinned)).toBe(0);
    // The key was not touched by the certificate's rotation.
    expect(repinned.stdout).toMatch(/ONLINE/);
  });
});
