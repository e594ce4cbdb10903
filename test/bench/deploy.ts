/**
 * `npm run bench`: deploy N containers on one node through the agent, against the same
 * creates and starts done directly through the Docker Engine API on the same engine, in one run.
 *
 * Both sides start from the image already present (no pull), use the same concurrency (4) and
 * end when every container is running. The agent side is the whole user path: HTTP request,
 * observe, plan, create, start, health gate (min_healthy_time 0: the gate's polling is part of
 * the measured cost), history commit.
 */
import PQueue from 'p-queue';
import { AgentClient } from '../../src/client/index.js';
import { parseJobText } from '../../src/config/index.js';
import { startAgentProcess } from '../harness/agent-process.js';
import { docker } from '../harness/docker-cli.js';
import { engineApi } from '../harness/engine-api.js';
import { startEngine } from '../harness/engines.js';
import { buildTestImages } from '../harness/images.js';
import { startRegistry } from '../harness/registry.js';
import { createOwnedDir, destroyDirSync } from '../harness/resources.js';

const N = Number(process.env.BENCH_CONTAINERS ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

async function directDeploy(socketPath: string, image: string, n: number, round: number): Promise<number> {
  const started = performance.now();
  const queue = new PQueue({ concurrency: 4 });
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      queue.add(async () => {
        const created = await engineApi(socketPath, 'POST', `/containers/create?name=direct-${round}-${i}`, {
          Image: image,
          Labels: { bench: 'direct' },
          ExposedPorts: { '8000/tcp': {} },
          HostConfig: { PortBindings: { '8000/tcp': [{ HostPort: '' }] }, RestartPolicy: { Name: 'always' } },
        });
        if (created.status !== 201) throw new Error(`create: ${JSON.stringify(created.json)}`);
        const id = (created.json as { Id: string }).Id;
        const startedRes = await engineApi(socketPath, 'POST', `/containers/${id}/start`);
        if (startedRes.status !== 204) throw new Error(`start: ${startedRes.status}`);
      }),
    ),
  );
  return performance.now() - started;
}

async function main(): Promise<void> {
  const build = createOwnedDir('builds');
  const [engine, registry] = await Promise.all([startEngine('bench'), startRegistry()]);
  let agent: Awaited<ReturnType<typeof startAgentProcess>> | undefined;
  try {
    const images = await buildTestImages(engine.dockerHost, registry.host, build.runDir);
    await docker(engine.dockerHost, ['pull', images.refs.webV1]);
    agent = await startAgentProcess({ dockerHost: engine.dockerHost, env: { LOG_LEVEL: 'warn' } });
    const client = new AgentClient({
      name: 'bench',
      location: agent.baseUrl,
      baseUrl: agent.baseUrl,
      key: agent.key,
    });
    const rows: { round: number; agentMs: number; directMs: number }[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const spec = parseJobText(
        `name: bench${round}\nnode: bench\ncount: ${N}\nupdate:\n  min_healthy_time: 0s\ncontainer:\n  - image: "${images.refs.webV1}"\n    ports:\n      - in: 8000\n`,
        'bench.yaml',
      );
      const t0 = performance.now();
      const result = await client.deploy(spec, () => {});
      const agentMs = performance.now() - t0;
      if (!result.ok || result.running !== N)
        throw new Error(`agent deploy failed: ${JSON.stringify(result)}`);
      await client.stop(spec.name, true, () => {});
      const directMs = await directDeploy(engine.socketPath, images.refs.webV1, N, round);
      await docker(engine.dockerHost, [
        'rm',
        '-f',
        ...Array.from({ length: N }, (_, i) => `direct-${round}-${i}`),
      ]);
      rows.push({ round, agentMs, directMs });
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const agentMs = median(rows.map((r) => r.agentMs));
    const directMs = median(rows.map((r) => r.directMs));
    console.log(
      `deploy ${N} containers on one node (Docker ${(await docker(engine.dockerHost, ['version', '-f', '{{.Server.Version}}'])).stdout.trim()}), ${ROUNDS} rounds`,
    );
    for (const r of rows)
      console.log(`  round ${r.round}: agent ${r.agentMs.toFixed(0)} ms, direct ${r.directMs.toFixed(0)} ms`);
    console.log(
      `median: agent ${agentMs.toFixed(0)} ms, direct Docker API ${directMs.toFixed(0)} ms, ratio ${(agentMs / directMs).toFixed(2)}`,
    );
  } finally {
    await agent?.stop();
    await Promise.allSettled([engine.stop(), registry.stop()]);
    destroyDirSync(build.dir);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
