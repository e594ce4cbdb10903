/**
 * SIMULATION: runs the fan-out simulator as its own process, so the CLI measured against it
 * does not share a process (or an event loop) with N simulated agents.
 *
 *   node dist/test/sim/main.js --nodes 1000 --dir /tmp/sim [--host 127.0.0.1]
 *     [--offline 0,5] [--wrong-key 1] [--hanging 2]     (0-based node indexes)
 *     [--rtt 100ms] [--jitter 10ms]                      (simulated network round trip)
 *     [--insecure-http]                                 (plain HTTP instead of TLS)
 *
 * Writes `<dir>/inventory.yaml` (keys as `${DOKKUP_SIM_KEY}`, fingerprints as
 * `${DOKKUP_SIM_FINGERPRINT}`) and `<dir>/job.yaml`, then prints one JSON line
 * `{"ready":true,"nodes":N,"env":{…},"inventory":"…","job":"…"}` on stdout (`env`: what the
 * CLI's environment needs) and serves until SIGTERM/SIGINT or until stdin closes.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseDurationMs } from '../../src/core/duration.js';
import { startSimulator } from './simulator.js';

export const SIM_JOB_YAML = `# SIMULATION: deployed onto simulated nodes (test/sim); no container really runs.
name: web
group: all
count: 2
container:
  - image: sim/web:1
    ports:
      - in: 8000
    environment:
      MODE: simulated
update:
  min_healthy_time: 0
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '100' },
      dir: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      /** Comma-separated 0-based indexes of nodes to simulate as OFFLINE / with another key / hanging. */
      offline: { type: 'string', default: '' },
      'wrong-key': { type: 'string', default: '' },
      hanging: { type: 'string', default: '' },
      /** Simulated round trip per request (see LatencyModel), e.g. 100ms; jitter defaults to 10% of it. */
      rtt: { type: 'string', default: '0ms' },
      jitter: { type: 'string' },
      'insecure-http': { type: 'boolean', default: false },
    },
  });
  const rttMs = parseDurationMs(values.rtt);
  const jitterMs = values.jitter === undefined ? rttMs / 10 : parseDurationMs(values.jitter);
  const count = Number(values.nodes);
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`--nodes must be a positive whole number, got ${values.nodes}`);
  if (!values.dir) throw new Error('--dir is required');
  const indexes = (list: string | undefined) => (list ? list.split(',').map(Number) : []);
  const sim = await startSimulator({
    nodes: count,
    host: values.host,
    offline: indexes(values.offline),
    wrongKey: indexes(values['wrong-key']),
    hanging: indexes(values.hanging),
    ...(rttMs > 0 ? { latency: { rttMs, jitterMs } } : {}),
    plainHttp: values['insecure-http'],
  });
  const inventory = path.join(values.dir, 'inventory.yaml');
  const job = path.join(values.dir, 'job.yaml');
  writeFileSync(inventory, sim.inventoryYaml());
  writeFileSync(job, SIM_JOB_YAML);
  process.stdout.write(
    `${JSON.stringify({ ready: true, nodes: count, env: sim.env(), inventory, job, rttMs, jitterMs })}\n`,
  );

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await sim.stop();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
}

main().catch((error: unknown) => {
  process.stderr.write(`simulator: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
