import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ShowJobJsonSchema, ShowNodesJsonSchema } from '../../src/protocol/cli-json.js';
import {
  type AgentProcess,
  agentBinary,
  freePort,
  inventoryYaml,
  startAgentProcess,
} from '../harness/agent-process.js';
import { type CliRun as Ran, runCli } from '../harness/cli-run.js';
import { describeDocker, docker, engine, harness, images, resetEngine } from '../harness/context.js';

const BIN = agentBinary();

const dokkup = (dir: string, args: string[]) => runCli(dir, args, { env: { ...process.env, NO_COLOR: '1' } });

/** GET / on the port with a Host header (fetch cannot set Host). */
function get(port: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
    });
    req.on('error', reject);
    req.end();
  });
}

const explain = (ran: Ran) => `stdout:\n${ran.stdout}\nstderr:\n${ran.stderr}`;

describeDocker('a job behind the node proxy through the CLI (built binary, real agent, Caddy)', () => {
  const e = engine(0);
  let agent: AgentProcess;
  let dir: string;
  let port: number;
  const shop = (image: string) => `name: shop
node: n1
count: 2
update:
  min_healthy_time: 1s
container:
  - image: "${image}"
proxy:
  port: ${port}
  host: shop.example.com
  target: 8000
  health: { path: /index.html, interval: 1s }
  drain: 5s
`;

  beforeAll(async () => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first`);
    dir = mkdtempSync(path.join(tmpdir(), 'dokkup-e2e-proxy-'));
    port = await freePort();
    await resetEngine(e);
    agent = await startAgentProcess({ dockerHost: e.dockerHost, args: ['--proxy-image', images().proxy] });
    writeFileSync(path.join(dir, 'inventory.yaml'), inventoryYaml([agent.inventoryNode('n1')]));
    writeFileSync(path.join(dir, 'shop.yaml'), shop(images().webV1));
    writeFileSync(path.join(dir, 'shop-v2.yaml'), shop(images().webV2));
  });

  afterAll(async () => {
    await agent?.stop();
    if (harness().dockerAvailable) await resetEngine(e);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('run, plan, show job, show nodes and logs --proxy show the route and the proxy', async () => {
    const route = `:${port} shop.example.com → 8000`;
    const run = await dokkup(dir, ['run', 'job', '-y', 'shop.yaml']);
    expect(run.code, explain(run)).toBe(0);
    expect(run.stdout).toMatch(/^NAME +IMAGE +RESTART +COUNT +GROUP +NETWORK +ROUTE$/m);
    expect(run.stdout).toMatch(
      new RegExp(`^shop +\\S+ +always +2 +n1 +bridge +:${port} shop\\.example\\.com → 8000$`, 'm'),
    );
    expect(run.stdout).toMatch(new RegExp(`^n1\\* +ONLINE +0 -> 2 +true +\\S+ +${route}$`, 'm'));
    expect(await get(port, 'shop.example.com')).toEqual({ status: 200, body: 'v1' });
    expect((await get(port, 'other.example.com')).status).toBe(404);

    const plan = await dokkup(dir, ['plan', 'job', 'shop-v2.yaml']);
    expect(plan.code, explain(plan)).toBe(1);
    expect(plan.stdout).toMatch(new RegExp(`^n1 +ONLINE +2/2 +true +\\S+ -> \\S+ +${route}$`, 'm'));

    const show = await dokkup(dir, ['show', 'job', 'shop.yaml']);
    expect(show.code, explain(show)).toBe(0);
    expect(show.stdout).toMatch(/^ROUTE +CONTAINER +ADDRESS +PROXY HEALTH$/m);
    const rows = show.stdout.split('\n').filter((l) => /shop-[0-9a-f-]{36}:8000 +healthy$/.test(l));
    expect(rows, show.stdout).toHaveLength(2);
    expect(rows[0]).toMatch(new RegExp(`^${route} `));
    const json = ShowJobJsonSchema.parse(
      JSON.parse((await dokkup(dir, ['show', 'job', '--json', 'shop.yaml'])).stdout),
    );
    const status = json.nodes[0]?.job;
    expect(status?.route).toMatchObject({ route, port, host: 'shop.example.com', targetPort: 8000 });
    expect(status?.route?.upstreams.map((u) => u.healthy)).toEqual([true, true]);

    const nodes = await dokkup(dir, ['show', 'nodes']);
    expect(nodes.code, explain(nodes)).toBe(0);
    expect(nodes.stdout).toMatch(/ ROUTES +LATENCY$/m);
    expect(nodes.stdout).toMatch(new RegExp(` 1 on :${port} +\\S+$`, 'm'));
    const nodesJson = ShowNodesJsonSchema.parse(
      JSON.parse((await dokkup(dir, ['show', 'nodes', '--json'])).stdout),
    );
    expect(nodesJson.nodes[0]?.info?.proxy).toEqual({
      image: images().proxy,
      state: 'running',
      ports: [port],
      routes: 1,
    });

    const logs = await dokkup(dir, ['logs', 'job', '--proxy', '--tail', '200', 'shop.yaml']);
    expect(logs.code, explain(logs)).toBe(0);
    const proxyId = (await docker(e.dockerHost, ['inspect', '-f', '{{.Id}}', 'dokkup-proxy'])).stdout.trim();
    expect(logs.stdout).toContain(`n1/${proxyId.slice(0, 12)} | `);
    expect(logs.stdout).toMatch(/"msg":"admin endpoint started"/);
    const mixed = await dokkup(dir, ['logs', 'job', '--proxy', '--entry', 'web', 'shop.yaml']);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('--proxy and --entry cannot be used together');

    const stop = await dokkup(dir, ['stop', 'job', '-y', '--purge', 'shop.yaml']);
    expect(stop.code, explain(stop)).toBe(0);
    expect((await fetch(`http://127.0.0.1:${port}/`, { headers: { host: 'shop.example.com' } })).status).toBe(
      404,
    );
  });
});
