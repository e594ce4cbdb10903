/**
 * `dokkup audit` in-process against two whole agents (`createAgent` on in-memory engines, real
 * HTTP, real audit files): a deploy, a failed update and a key rotation (`dokkup agent
 * --rotate-key`, like an operator on the node) read back through the CLI, merged in time order.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, createAgent } from '../../../agent/app.js';
import { issueKey, KeyVerifier, keyIdOf, loadOrCreateKey } from '../../../agent/auth/index.js';
import { MemoryFeedRuntime } from '../../../agent/feeds/memory-runtime.fixture.js';
import { silentLogger } from '../../../agent/logger.js';
import { createSelfSignedCertificate, fingerprintOf } from '../../../agent/tls/certificate.js';
import { FakeRuntime } from '../../../test/fakes/container-runtime.js';
import { type SimulatedNode, type Simulator, startSimulator } from '../../../test/sim/simulator.js';
import { AuditJsonSchema } from '../../protocol/cli-json.js';
import { runCli } from '../main.js';
import { auditSince } from './audit.js';

let dir: string;
const agents: { agent: Agent; runtime: FakeRuntime; dataDir: string; port: number; verifier: KeyVerifier }[] =
  [];
let keyA: string;
const keyB = issueKey();
let old: Simulator;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'dokkup-audit-cli-'));
  // The agents serve TLS, as they do by default; the inventory pins their certificate.
  const certificate = await createSelfSignedCertificate(['127.0.0.1']);
  const fingerprint = fingerprintOf(certificate.cert);
  for (const name of ['a', 'b']) {
    const dataDir = path.join(dir, `agent-${name}`);
    let verifier: KeyVerifier;
    if (name === 'a') {
      const loaded = await loadOrCreateKey(dataDir);
      keyA = loaded.newKey!;
      verifier = loaded.verifier;
      verifier.watch();
    } else {
      verifier = KeyVerifier.forKey(keyB);
    }
    const runtime = new FakeRuntime();
    const agent = createAgent({
      dataDir,
      verifier,
      logger: silentLogger(),
      runtimes: { containers: runtime, feeds: new MemoryFeedRuntime() },
      tls: certificate,
    });
    const { port } = await agent.listen(0, '127.0.0.1');
    agents.push({ agent, runtime, dataDir, port, verifier });
  }
  old = await startSimulator({ nodes: 1, namePrefix: 'old' });
  const oldNode = old.nodes[0] as SimulatedNode;
  writeFileSync(
    path.join(dir, 'inventory.yaml'),
    `nodes:
  - name: a
    location: 127.0.0.1:${agents[0]!.port}
    fingerprint: ${fingerprint}
    key: \${KEY_A}
  - name: b
    location: 127.0.0.1:${agents[1]!.port}
    fingerprint: ${fingerprint}
    key: ${keyB}
  - name: old
    location: ${oldNode.location}
    fingerprint: ${old.fingerprint}
    key: ${old.key}
groups:
  - name: web
    nodes: [a, b]
`,
  );
  const job = (image: string) =>
    // Both nodes at once and no revert (a fleet's 0.3 behaviour): b's update goes through while a's fails.
    `name: web\ngroup: web\ncount: 2\ncontainer:\n  - image: ${image}\nupdate:\n  min_healthy_time: 0\n  max_parallel: 100%\n  auto_revert: false\n`;
  writeFileSync(path.join(dir, 'v1.yaml'), job('web:v1'));
  writeFileSync(path.join(dir, 'v2.yaml'), job('web:v2'));
});

afterAll(async () => {
  for (const { agent, verifier } of agents) {
    verifier.close();
    await agent.close(1000);
  }
  await old.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function cli(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    io: {
      stdout: { write: (s: string) => (stdout += s), isTTY: false },
      stderr: { write: (s: string) => (stderr += s), isTTY: false },
      stdin: new PassThrough(),
      env: { KEY_A: keyA, NO_COLOR: '1' },
      cwd: dir,
    },
    handleSignals: false,
  });
  return { code, stdout, stderr };
}

describe('dokkup audit', () => {
  it('reads back a deploy, a failed update and a key rotation, merged across nodes in time order', async () => {
    expect((await cli(['run', 'job', '-y', 'v1.yaml'])).code).toBe(0);
    agents[0]!.runtime.failCreate(1);
    const failed = await cli(['run', 'job', '-y', 'v2.yaml']);
    expect(failed.code).toBe(1);
    const rotate = await cli(['agent', '--rotate-key', '--config', agents[0]!.dataDir]);
    expect(rotate.code).toBe(0);
    const oldKeyA = keyA;
    keyA = /Your new API key is: (\S+)/.exec(rotate.stdout)![1]!;

    const ran = await cli(['audit', '--node', 'a']);
    expect(ran.code).toBe(0);
    const rows = ran.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(
      /^TIME\s+NODE\s+OPERATION\s+JOB\s+RESULT\s+VERSION\s+COUNT\s+TOOK\s+KEY\s+FROM\s+DETAIL$/,
    );
    expect(rows.slice(1).map((r) => r.split(/\s{5,}/).slice(1, 5))).toEqual([
      ['a', 'deploy (fresh)', 'web', 'ok'],
      ['a', 'deploy (update)', 'web', 'failed'],
      ['a', 'rotate-key', '-', 'ok'],
    ]);
    expect(rows[1]).toContain(`0 -> 2`);
    expect(rows[1]).toContain(keyIdOf(oldKeyA));
    expect(rows[2]).toMatch(/create_failed/);
    expect(rows[3]).toContain(`new key ${keyIdOf(keyA)} replaces ${keyIdOf(oldKeyA)}`);
    expect(ran.stdout).not.toContain(oldKeyA);
    expect(ran.stdout).not.toContain(keyA);

    const json = await cli(['audit', '--json', '--since', '1h']);
    const document = AuditJsonSchema.parse(JSON.parse(json.stdout));
    expect(document.since).toBe('1h');
    // The node without an audit log is an error, not an empty log.
    expect(document.nodes.map((n) => [n.node, n.status])).toEqual([
      ['a', 'online'],
      ['b', 'online'],
      ['old', 'error'],
    ]);
    expect(document.nodes[2]!.error?.message).toMatch(/keeps no audit log/);
    expect(json.code).toBe(1);
    const merged = document.entries.map((e) => `${e.node} ${e.operation} ${e.result}`);
    expect(merged.filter((m) => m.startsWith('b '))).toEqual(['b deploy ok', 'b deploy ok']);
    expect(merged).toContain('a rotate-key ok');
    const times = document.entries.map((e) => Date.parse(e.at));
    expect(times).toEqual([...times].sort((x, y) => x - y));
  });

  it('refuses a bad --since, an unknown --node and a bad --limit with exit 2', async () => {
    expect((await cli(['audit', '--since', 'yesterday'])).stderr).toMatch(/--since must be a duration/);
    expect((await cli(['audit', '--since', 'yesterday'])).code).toBe(2);
    expect((await cli(['audit', '--node', 'nope'])).code).toBe(2);
    expect((await cli(['audit', '--limit', '0'])).code).toBe(2);
    expect(auditSince('2025-05-01T10:00:00Z')).toBe('2025-05-01T10:00:00Z');
    expect(auditSince(' 24h ')).toBe('24h');
  });

  it('--help has examples', async () => {
    const help = await cli(['audit', '--help']);
    expect(help.stdout).toMatch(
      /Examples:\n {2}# Everything changed in the last hour, on every node\n {2}dokkup audit --since 1h\n/,
    );
  });
});
