/**
 * `npm run bench`: deploys on one node, against their anchors, on the same harness engine in
 * one run (figures printed, never asserted):
 *
 * 1. the Docker API floor: N creates + starts straight through the Engine API, 4, 8 and 16 at
 *    a time, and the job engine (in this process, over dockerode) doing the same work with the
 *    same bounds: the data the engine's default bound is picked from;
 * 2. a fresh deploy of N containers through the agent (HTTP, observe, plan, create, start, the
 *    health gate with `min_healthy_time: 0s`, history commit) against the floor at the agent's
 *    bound;
 * 3. a start-first update of N containers of an image that ignores SIGTERM (busybox httpd as
 *    PID 1 through a shell-form CMD, like most images), with and without `init: true`, 1 s health
 *    window, Docker's default 10 s grace period;
 * 4. Docker Swarm on the same engine, with and without `--init`: `service create` of the same
 *    image, then `service update --update-order start-first --update-parallelism 8
 *    --update-monitor 1s` (Swarm's routing mesh does not answer on 127.0.0.1 here, so the
 *    comparison is of deploy times, not of traffic), round by round between dokkup's;
 *    both sides are timed to the same milestones from the engine's event log (last new
 *    container started, old version stopped, old version removed) and to their command
 *    returning (dokkup's after its old containers are removed; Swarm's when its new tasks ran
 *    for the monitor, its old ones still stopping in the background);
 * 5. `dokkup run job -y` with nothing to change (the built CLI as a process: start-up included).
 *
 * Env: BENCH_CONTAINERS (default 20), BENCH_ROUNDS (default 3), BENCH_ONLY=updates (sections 3
 * and 4 alone, for quick iterations: the ratios to the floor need the whole run), BENCH_ONLY=init
 * (sections 3 and 4 with `init: true` / `--init` only: no 10 s grace periods to wait out),
 * BENCH_ONLY=fresh (the floor at the agent's bound, sections 2 and 5). DOKKUP_TEST_DOCKERD_PATH
 * runs it all on another Docker (see test/harness/docker-cli.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import PQueue from 'p-queue';
import { connectDocker } from '../../agent/docker/connect.js';
import { DockerRuntime } from '../../agent/docker/docker.js';
import { DEFAULT_ENGINE_CONCURRENCY, JobEngine } from '../../agent/jobs/engine.js';
import { silentLogger } from '../../agent/logger.js';
import { MemoryJobStateStore } from '../../agent/store/job-store.js';
import { AgentClient } from '../../src/client/index.js';
import { parseJobText } from '../../src/config/index.js';
import { agentBinary, cliNodeFlags, startAgentProcess } from '../harness/agent-process.js';
import { docker, lines, swarmStartFirstUpdate } from '../harness/docker-cli.js';
import { engineApi } from '../harness/engine-api.js';
import { startEngine } from '../harness/engines.js';
import { buildTestImages } from '../harness/images.js';
import { run } from '../harness/proc.js';
import { startRegistry } from '../harness/registry.js';
import { createOwnedDir, destroyDirSync } from '../harness/resources.js';
import { type UpdateMilestones, updateMilestones } from './engine-timeline.js';

const N = Number(process.env.BENCH_CONTAINERS ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BOUNDS = [4, 8, 16];
const ONLY_INIT = process.env.BENCH_ONLY === 'init';
const ONLY_UPDATES = process.env.BENCH_ONLY === 'updates' || ONLY_INIT;
const ONLY_FRESH = process.env.BENCH_ONLY === 'fresh';
const FLOOR_BOUNDS = ONLY_UPDATES ? [] : ONLY_FRESH ? [DEFAULT_ENGINE_CONCURRENCY] : BOUNDS;
const UPDATE_ROUNDS = ONLY_FRESH ? 0 : ROUNDS;

type UpdateSide =
  | 'Docker API floor, init'
  | 'the floor, no network'
  | 'dokkup, init: true'
  | 'Swarm, --init'
  | 'dokkup, SIGTERM ignored'
  | 'Swarm, SIGTERM ignored';

/** One update's milestones (ms after it began): the engine's, the verified point, the command's. */
interface UpdateRun extends UpdateMilestones {
  /** dokkup: its cutover (new version through the gate, committed); Swarm: its command returned. */
  verified: number;
  returned: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const seconds = (ms: number | null) => (ms === null ? 'NaN' : `${(ms / 1000).toFixed(2)} s`);

async function directDeploy(socketPath: string, image: string, n: number, tag: string, bound: number) {
  const started = performance.now();
  const queue = new PQueue({ concurrency: bound });
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      queue.add(async () => {
        const created = await engineApi(socketPath, 'POST', `/containers/create?name=direct-${tag}-${i}`, {
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

/**
 * The same start-first update with dokkup's guarantee, straight through the Engine API with
 * nothing else (no agent, no plan, no inspections, no commit): the engine's floor for it. N new
 * containers (`init`, no ports) created and started 8 at a time; the cutover 1 s after the last
 * start call returned (each one's window counts from its own start); then every old container
 * stopped at once (10 s grace) and each removed after its stop returned, 8 at a time.
 */
async function floorUpdate(
  engine: { socketPath: string; dockerHost: string },
  image: string,
  tag: string,
  network = 'bridge',
): Promise<UpdateRun> {
  const label = `dokkup.bench.floor=${tag}`;
  const createStart = async (version: string) => {
    const queue = new PQueue({ concurrency: DEFAULT_ENGINE_CONCURRENCY });
    let lastStart = 0;
    const ids = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        queue.add(async () => {
          const created = await engineApi(
            engine.socketPath,
            'POST',
            `/containers/create?name=floor-${tag}-${version}-${i}`,
            {
              Image: image,
              Env: [`V=${version}`],
              Labels: { 'dokkup.bench.floor': tag },
              HostConfig: { Init: true, NetworkMode: network, RestartPolicy: { Name: 'always' } },
            },
          );
          if (created.status !== 201) throw new Error(`create: ${JSON.stringify(created.json)}`);
          const id = (created.json as { Id: string }).Id;
          const started = await engineApi(engine.socketPath, 'POST', `/containers/${id}/start`);
          if (started.status !== 204) throw new Error(`start: ${started.status}`);
          lastStart = performance.now();
          return id;
        }),
      ),
    );
    return { ids, lastStart };
  };
  const old = await createStart('1');
  await new Promise((r) => setTimeout(r, 1000));
  const began = Date.now();
  const t0 = performance.now();
  const fresh = await createStart('2');
  await new Promise((r) => setTimeout(r, Math.max(0, fresh.lastStart + 1000 - performance.now())));
  const verified = performance.now() - t0;
  const removals = new PQueue({ concurrency: DEFAULT_ENGINE_CONCURRENCY });
  await Promise.all(
    old.ids.map(async (id) => {
      const stopped = await engineApi(engine.socketPath, 'POST', `/containers/${id}/stop?t=10`);
      if (stopped.status !== 204 && stopped.status !== 304) throw new Error(`stop: ${stopped.status}`);
      await removals.add(() => engineApi(engine.socketPath, 'DELETE', `/containers/${id}?force=1`));
    }),
  );
  const returned = performance.now() - t0;
  const milestones = await updateMilestones(engine.dockerHost, label, began, old.ids);
  console.log(`  floor ${tag} (network ${network}): ${timeline({ ...milestones, verified, returned })}`);
  await docker(engine.dockerHost, ['rm', '-f', ...fresh.ids]);
  return { ...milestones, verified, returned };
}

async function removeDirect(dockerHost: string, tag: string, n: number) {
  await docker(dockerHost, ['rm', '-f', ...Array.from({ length: n }, (_, i) => `direct-${tag}-${i}`)]);
}

function job(name: string, image: string, options: { ports?: boolean; minHealthy: string; extra?: string }) {
  const ports = options.ports === false ? '' : '    ports:\n      - in: 8000\n';
  return parseJobText(
    `name: ${name}\nnode: bench\ncount: ${N}\nupdate:\n  min_healthy_time: ${options.minHealthy}\ncontainer:\n` +
      `  - image: "${image}"\n${ports}${options.extra ?? ''}`,
    `${name}.yaml`,
  );
}

async function waitForTasks(dockerHost: string, service: string, want: number, image: string) {
  for (;;) {
    const out = await docker(dockerHost, [
      'service',
      'ps',
      service,
      '--filter',
      'desired-state=running',
      '--format',
      '{{.CurrentState}} {{.Image}}',
    ]);
    const running = lines(out.stdout).filter(
      (l) => l.startsWith('Running') && l.includes(image.split('@')[0]!),
    );
    if (running.length >= want) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main(): Promise<void> {
  const build = createOwnedDir('builds');
  const [engine, registry] = await Promise.all([startEngine('bench'), startRegistry()]);
  let agent: Awaited<ReturnType<typeof startAgentProcess>> | undefined;
  const cliDir = mkdtempSync(path.join(tmpdir(), 'dokkup-bench-cli-'));
  try {
    const images = await buildTestImages(engine.dockerHost, registry.host, build.runDir);
    await docker(engine.dockerHost, ['pull', images.refs.webV1]);
    await docker(engine.dockerHost, ['pull', images.refs.stubborn]);
    const [dockerVersion, cliVersion] = (
      await docker(engine.dockerHost, ['version', '-f', '{{.Server.Version}} {{.Client.Version}}'])
    ).stdout
      .trim()
      .split(' ');
    console.log(
      `dokkup deploy benchmark: ${N} containers on one node, Docker ${dockerVersion} (docker CLI ${cliVersion}), ${ROUNDS} rounds`,
    );

    // 1. The floor and the engine's bound, 4/8/16 at a time.
    const floor = new Map<number, number>();
    const viaEngine = new Map<number, number>();
    for (const bound of FLOOR_BOUNDS) {
      const directRuns: number[] = [];
      const engineRuns: number[] = [];
      const eng = new JobEngine({
        runtime: new DockerRuntime(connectDocker(engine.dockerHost)),
        store: new MemoryJobStateStore(),
        logger: silentLogger(),
        agentVersion: 'bench',
        concurrency: bound,
      });
      for (let round = 1; round <= ROUNDS; round++) {
        directRuns.push(
          await directDeploy(engine.socketPath, images.refs.webV1, N, `${bound}-${round}`, bound),
        );
        await removeDirect(engine.dockerHost, `${bound}-${round}`, N);
        const spec = job(`bound${bound}r${round}`, images.refs.webV1, { minHealthy: '0s' });
        const t0 = performance.now();
        const result = await eng.deploy(spec, () => {});
        engineRuns.push(performance.now() - t0);
        if (!result.ok || result.running !== N) throw new Error(`engine deploy: ${JSON.stringify(result)}`);
        await eng.stop(spec.name, true, () => {});
      }
      floor.set(bound, median(directRuns));
      viaEngine.set(bound, median(engineRuns));
    }
    if (!ONLY_UPDATES) {
      console.log(
        '\nCreates + starts at a time (medians): Docker API floor, and the job engine doing the same',
      );
      console.log('  BOUND   DOCKER API FLOOR   JOB ENGINE (in-process, gate 0s)');
    }
    for (const bound of FLOOR_BOUNDS) {
      const mark = bound === DEFAULT_ENGINE_CONCURRENCY ? '  <- default' : '';
      console.log(
        `  ${String(bound).padEnd(6)}  ${seconds(floor.get(bound)!).padEnd(17)}  ${seconds(viaEngine.get(bound)!)}${mark}`,
      );
    }

    // 2. Fresh deploy through the agent process.
    agent = await startAgentProcess({ dockerHost: engine.dockerHost, env: { LOG_LEVEL: 'warn' } });
    const client = new AgentClient(agent.inventoryNode('bench'));
    const freshRuns: number[] = [];
    for (let round = 1; round <= (ONLY_UPDATES ? 0 : ROUNDS); round++) {
      const spec = job(`fresh${round}`, images.refs.webV1, { minHealthy: '0s' });
      const t0 = performance.now();
      const result = await client.deploy(spec, () => {});
      freshRuns.push(performance.now() - t0);
      if (!result.ok || result.running !== N)
        throw new Error(`agent deploy failed: ${JSON.stringify(result)}`);
      await client.stop(spec.name, true, () => {});
    }
    const fresh = ONLY_UPDATES ? Number.NaN : median(freshRuns);
    const floorAtDefault = floor.get(DEFAULT_ENGINE_CONCURRENCY) ?? Math.min(...floor.values());

    // 3 and 4. Start-first updates of a SIGTERM-ignoring image, with and without init, by dokkup
    // and by Swarm on the same engine, interleaved round by round (the same load for both).
    // Every side is timed to the same milestones, read from the engine's event log.
    const update = async (name: string, extra: string): Promise<UpdateRun> => {
      const v1 = job(name, images.refs.stubborn, {
        ports: false,
        minHealthy: '1s',
        extra: `${extra}    environment:\n      - V=1\n`,
      });
      const v2 = job(name, images.refs.stubborn, {
        ports: false,
        minHealthy: '1s',
        extra: `${extra}    environment:\n      - V=2\n`,
      });
      const first = await client.deploy(v1, () => {});
      if (!first.ok) throw new Error(`deploy ${name}: ${JSON.stringify(first)}`);
      const oldIds = await jobIds(engine.dockerHost, name);
      const began = Date.now();
      const t0 = performance.now();
      const firstAt = new Map<string, number>();
      const result = await client.deploy(v2, (line) => {
        if (!firstAt.has(line.phase)) firstAt.set(line.phase, performance.now() - t0);
      });
      const ms = performance.now() - t0;
      if (!result.ok || result.running !== N) throw new Error(`update ${name}: ${JSON.stringify(result)}`);
      const at = (phase: string) => (firstAt.get(phase) ?? Number.NaN) / 1000;
      console.log(
        `  ${name}: starts from ${at('start').toFixed(2)} s, gate from ${at('health').toFixed(2)} s, ` +
          `stop from ${at('stop').toFixed(2)} s, remove from ${at('remove').toFixed(2)} s, done ${(ms / 1000).toFixed(2)} s`,
      );
      const milestones = await updateMilestones(engine.dockerHost, `dokkup.job.name=${name}`, began, oldIds);
      // The agent times its cutover from its own start of the operation; on this side's clock it
      // is at the latest the command's return less what the agent did after it (so the request's
      // and the answer's transit count as before the cutover: an upper bound).
      const verified =
        result.cutoverMs === undefined || result.durationMs === undefined
          ? Number.NaN
          : ms - (result.durationMs - result.cutoverMs);
      console.log(`  ${name}: ${timeline({ ...milestones, verified, returned: ms })}`);
      // Purge without waiting out a grace period per round: the next round starts clean.
      await docker(engine.dockerHost, ['rm', '-f', ...(await jobIds(engine.dockerHost, name))]);
      await client.stop(name, true, () => {});
      return { ...milestones, verified, returned: ms };
    };
    let swarmNetworkSaid = false;
    const swarmUpdate = async (service: string, init: boolean): Promise<UpdateRun> => {
      const label = `com.docker.swarm.service.name=${service}`;
      await docker(engine.dockerHost, [
        'service',
        'create',
        '--detach',
        '--quiet',
        '--no-resolve-image',
        ...(init ? ['--init'] : []),
        '--name',
        service,
        '--replicas',
        String(N),
        '--env',
        'V=1',
        images.refs.stubborn,
      ]);
      await waitForTasks(engine.dockerHost, service, N, images.refs.stubborn);
      const oldIds = lines(
        (await docker(engine.dockerHost, ['ps', '-q', '--no-trunc', '--filter', `label=${label}`])).stdout,
      );
      if (!swarmNetworkSaid) {
        swarmNetworkSaid = true;
        // Its tasks' network is the one whose teardown dokkup's stop phase waits for (the bridge).
        const net = await docker(engine.dockerHost, [
          'inspect',
          '-f',
          '{{.HostConfig.NetworkMode}}: {{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}',
          oldIds[0]!,
        ]);
        console.log(`  (Swarm's tasks: network mode ${net.stdout.trim()})`);
      }
      const began = Date.now();
      const t0 = performance.now();
      // Without --detach the command returns when the update converged: every new task running,
      // then still running after the update monitor (1 s). The old tasks are stopped in the
      // background meanwhile (each as soon as its replacement runs) and kept as task history.
      await docker(engine.dockerHost, swarmStartFirstUpdate(service, 8, ['--env-add', 'V=2']));
      const returned = performance.now() - t0;
      // The old version's stop is part of the update even if the command does not wait for it.
      await docker(engine.dockerHost, ['wait', ...oldIds], { allowFail: true });
      const milestones = await updateMilestones(engine.dockerHost, label, began, oldIds);
      console.log(`  ${service}: ${timeline({ ...milestones, verified: returned, returned })}`);
      await docker(engine.dockerHost, ['service', 'rm', service]);
      for (;;) {
        const left = lines(
          (await docker(engine.dockerHost, ['ps', '-aq', '--filter', `label=${label}`])).stdout,
        );
        if (left.length === 0) break;
        await docker(engine.dockerHost, ['rm', '-f', ...left], { allowFail: true });
        await new Promise((r) => setTimeout(r, 200));
      }
      // Swarm's "verified" point is its command returning: all new tasks ran for the monitor.
      return { ...milestones, verified: returned, returned };
    };
    // The docker CLI's own start-up is inside Swarm's command time (dokkup's client is in-process).
    const cliStart = performance.now();
    await docker(engine.dockerHost, ['version', '--format', '{{.Server.Version}}']);
    const dockerCliMs = performance.now() - cliStart;

    if (UPDATE_ROUNDS > 0)
      await docker(engine.dockerHost, ['swarm', 'init', '--advertise-addr', '127.0.0.1']);
    const runs: Record<UpdateSide, UpdateRun[]> = {
      'Docker API floor, init': [],
      'the floor, no network': [],
      'dokkup, init: true': [],
      'Swarm, --init': [],
      'dokkup, SIGTERM ignored': [],
      'Swarm, SIGTERM ignored': [],
    };
    if (UPDATE_ROUNDS > 0) console.log('\nStart-first updates (phase start times):');
    try {
      for (let round = 1; round <= UPDATE_ROUNDS; round++) {
        if (!ONLY_INIT) runs['dokkup, SIGTERM ignored'].push(await update(`sigterm${round}`, ''));
        runs['dokkup, init: true'].push(await update(`init${round}`, '    init: true\n'));
        runs['Docker API floor, init'].push(await floorUpdate(engine, images.refs.stubborn, `r${round}`));
        // The same on `--network none`: what the engine's network teardown costs the stop phase.
        runs['the floor, no network'].push(
          await floorUpdate(engine, images.refs.stubborn, `n${round}`, 'none'),
        );
        runs['Swarm, --init'].push(await swarmUpdate(`swarminit${round}`, true));
        if (!ONLY_INIT) runs['Swarm, SIGTERM ignored'].push(await swarmUpdate(`swarm${round}`, false));
      }
    } finally {
      if (UPDATE_ROUNDS > 0)
        await docker(engine.dockerHost, ['swarm', 'leave', '--force']).catch(() => undefined);
    }
    const med = (side: UpdateSide, key: keyof UpdateRun) => {
      const xs = runs[side].map((r) => r[key]).filter((x): x is number => x !== null);
      return xs.length === 0 || xs.length < runs[side].length ? null : median(xs);
    };
    const updateInit = med('dokkup, init: true', 'returned')!;
    const updatePlain = med('dokkup, SIGTERM ignored', 'returned') ?? Number.NaN;
    const swarmInit = med('Swarm, --init', 'returned')!;

    // 5. `run job -y` with nothing to change: the CLI process, start-up included.
    const noChangeName = 'nochange';
    const noChange = job(noChangeName, images.refs.webV1, { minHealthy: '0s' });
    const deployed = await client.deploy(noChange, () => {});
    if (!deployed.ok) throw new Error(`deploy nochange: ${JSON.stringify(deployed)}`);
    writeFileSync(
      path.join(cliDir, 'inventory.yaml'),
      `nodes:\n  - name: bench\n    location: ${agent.baseUrl.replace('https://', '')}\n    key: "${agent.key}"\n    fingerprint: "${agent.fingerprint}"\n`,
    );
    writeFileSync(
      path.join(cliDir, 'job.yaml'),
      `name: ${noChangeName}\nnode: bench\ncount: ${N}\nupdate:\n  min_healthy_time: 0s\ncontainer:\n  - image: "${images.refs.webV1}"\n    ports:\n      - in: 8000\n`,
    );
    const cliRuns: number[] = [];
    for (let i = 0; i < (ONLY_UPDATES ? 0 : Math.max(5, ROUNDS)); i++) {
      const t0 = performance.now();
      const ran = await run(
        process.execPath,
        [...cliNodeFlags(), agentBinary(), 'run', 'job', '-y', '-i', 'inventory.yaml', 'job.yaml'],
        {
          cwd: cliDir,
        },
      );
      cliRuns.push(performance.now() - t0);
      if (!/up to date|unchanged/i.test(ran.stdout)) throw new Error(`run job (no change): ${ran.stdout}`);
    }
    const cliNoChange = ONLY_UPDATES ? Number.NaN : median(cliRuns);

    const cell = (x: number | null) => (x === null ? 'kept' : (x / 1000).toFixed(2));
    const measured = (Object.keys(runs) as UpdateSide[]).filter((side) => runs[side].length > 0);
    if (measured.length > 0) {
      console.log(
        '\nStart-first updates of ' +
          N +
          " (medians, s after the update began; milestones from the engine's events)",
      );
      console.log(
        '  SIDE                      NEW CREATED  NEW STARTED  VERIFIED  OLD STOP BEGAN  OLD STOPPED  ' +
          'OLD STOPS RETURNED  OLD REMOVED  COMMAND RETURNED',
      );
      for (const side of measured) {
        console.log(
          `  ${side.padEnd(26)}${cell(med(side, 'newCreated')).padEnd(13)}${cell(med(side, 'newStarted')).padEnd(13)}` +
            `${cell(med(side, 'verified')).padEnd(10)}${cell(med(side, 'oldStopBegan')).padEnd(16)}` +
            `${cell(med(side, 'oldStopped')).padEnd(13)}${cell(med(side, 'oldStopReturned')).padEnd(20)}` +
            `${cell(med(side, 'oldRemoved')).padEnd(13)}${cell(med(side, 'returned'))}`,
        );
      }
      console.log(
        "  (VERIFIED: dokkup's cutover, every new container through its health window and committed " +
          "(the request's transit counted before it); Swarm's command returning, every new task running " +
          "for the 1 s update monitor; the floor's 1 s after its last start call returned. " +
          "OLD STOPS RETURNED: the engine's `stop` event, published when a stop call returns, after the " +
          "container's network was torn down. OLD STOPPED: the last `die`, which Docker 20.10 " +
          'publishes when the process exited and Docker 26 after the exit was handled (network released), with `stop`. ' +
          `Swarm's command time includes the docker CLI's start-up, ${dockerCliMs.toFixed(0)} ms for \`docker version\`.)`,
      );
      for (const side of measured) {
        console.log(
          `  ${side} rounds (command returned, ms): ${runs[side].map((r) => r.returned.toFixed(0)).join(', ')}`,
        );
      }
    }
    const ratio = (a: number | null, b: number | null) =>
      a === null || b === null ? '' : `${(a / b).toFixed(2)}x`;
    const rows: [string, string, string, string][] = [
      [
        `fresh deploy, min_healthy_time 0s`,
        seconds(fresh),
        `<= 1.15x Docker API floor (${seconds(floorAtDefault)}, ${DEFAULT_ENGINE_CONCURRENCY} at a time)`,
        `${(fresh / floorAtDefault).toFixed(2)}x`,
      ],
      [
        'start-first update, init: true (returned)',
        seconds(updateInit),
        `<= 0.8x Swarm --init, command returned (${seconds(swarmInit)})`,
        ratio(updateInit, swarmInit),
      ],
      [
        '  new version verified (cutover)',
        seconds(med('dokkup, init: true', 'verified')!),
        `Swarm --init, command returned (${seconds(swarmInit)})`,
        ratio(med('dokkup, init: true', 'verified'), swarmInit),
      ],
      [
        '  old version stopped',
        seconds(med('dokkup, init: true', 'oldStopped')!),
        `Swarm --init, old tasks stopped (${seconds(med('Swarm, --init', 'oldStopped')!)})`,
        ratio(med('dokkup, init: true', 'oldStopped'), med('Swarm, --init', 'oldStopped')),
      ],
      [
        '  the same update, Docker API floor',
        seconds(med('Docker API floor, init', 'returned')),
        `the floor / Swarm --init, command returned`,
        ratio(med('Docker API floor, init', 'returned'), swarmInit),
      ],
      [
        '  dokkup / the floor, command returned',
        seconds(updateInit),
        `the floor (${seconds(med('Docker API floor, init', 'returned'))})`,
        ratio(updateInit, med('Docker API floor, init', 'returned')),
      ],
      [
        '  dokkup / the floor, cutover',
        seconds(med('dokkup, init: true', 'verified')),
        `the floor (${seconds(med('Docker API floor, init', 'verified'))})`,
        ratio(med('dokkup, init: true', 'verified'), med('Docker API floor, init', 'verified')),
      ],
      [
        'start-first update, SIGTERM ignored',
        seconds(updatePlain),
        `<= init: true update + one grace (${seconds(updateInit + 10_000)})`,
        ratio(updatePlain, updateInit + 10_000),
      ],
      [
        '  old version stopped',
        seconds(med('dokkup, SIGTERM ignored', 'oldStopped')!),
        `Swarm, old tasks stopped (${seconds(med('Swarm, SIGTERM ignored', 'oldStopped')!)})`,
        ratio(med('dokkup, SIGTERM ignored', 'oldStopped'), med('Swarm, SIGTERM ignored', 'oldStopped')),
      ],
      [
        'run job -y, no change (CLI process)',
        seconds(cliNoChange),
        '<= 0.3 s',
        `${(cliNoChange / 300).toFixed(2)}x`,
      ],
    ];
    console.log(
      '\nMedians                                     TIME      GOAL                                          RATIO',
    );
    for (const [what, time, goal, ratio] of rows) {
      if (time.startsWith('NaN')) continue; // a part this run left out (BENCH_ONLY)
      console.log(`  ${what.padEnd(42)}${time.padEnd(10)}${goal.padEnd(46)}${ratio}`);
    }
  } finally {
    await agent?.stop();
    await Promise.allSettled([engine.stop(), registry.stop()]);
    destroyDirSync(build.dir);
    rmSync(cliDir, { recursive: true, force: true });
  }
}

/** One update's engine timeline, seconds after it began: where its time went. */
function timeline(r: UpdateRun): string {
  const at = (ms: number | null) => (ms === null ? 'kept' : (ms / 1000).toFixed(2));
  return (
    `first new create ${at(r.newCreated)}, last new start ${at(r.newStarted)}, verified ${at(r.verified)}, ` +
    `first old stop ${at(r.oldStopBegan)}, last old die ${at(r.oldStopped)}, ` +
    `last old stop returned ${at(r.oldStopReturned)}, last old removed ${at(r.oldRemoved)}, ` +
    `returned ${at(r.returned)}`
  );
}

async function jobIds(dockerHost: string, job: string): Promise<string[]> {
  return lines(
    (await docker(dockerHost, ['ps', '-aq', '--no-trunc', '--filter', `label=dokkup.job.name=${job}`]))
      .stdout,
  );
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
