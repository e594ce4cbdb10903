/**
 * SIMULATION: runs the simulator as its own process, so the CLI or TUI measured against it does
 * not share a process (or an event loop) with N simulated agents.
 *
 *   node dist/test/sim/main.js --nodes 1000 --dir /tmp/sim [--host 127.0.0.1]
 *     [--offline 0,5] [--wrong-key 1] [--hanging 2]     (0-based node indexes)
 *     [--rtt 100ms] [--jitter 10ms]                      (simulated network round trip)
 *     [--first-index 2500 --name-width 5]                (one slice of a fleet over several processes)
 *     [--events-per-minute 0.5] [--no-feeds]             (the live feeds' ambient events, or no feeds)
 *     [--deploy] [--key KEY]                             (the job already running on every node)
 *     [--insecure-http]                                  (plain HTTP instead of TLS)
 *     [--tls-cert FILE --tls-key FILE]                   (the certificate to serve; default a new one)
 *
 * Writes `<dir>/inventory.yaml` (keys as `${DOKKUP_SIM_KEY}`, fingerprints as
 * `${DOKKUP_SIM_FINGERPRINT}`) and `<dir>/job.yaml`, then prints one JSON line
 * `{"ready":true,"nodes":N,"env":{…},"inventory":"…","job":"…","list":[…]}` on stdout (`env`:
 * what the CLI's environment needs; `list`: every node's name and location) and serves until
 * SIGTERM/SIGINT or until stdin closes.
 *
 * Commands on stdin, one a line, each answered with one JSON line on stdout:
 *   stop 3,5,7     stop these nodes (0-based, of this process): nothing listens there any more
 *   drop           cut every open feed socket at once (a network blip; the nodes stay up)
 *   sessions       how many feed sessions are open
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { parseJobText } from '../../src/config/job.js';
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
      'first-index': { type: 'string', default: '0' },
      'name-width': { type: 'string' },
      'events-per-minute': { type: 'string', default: '0.5' },
      'no-feeds': { type: 'boolean', default: false },
      deploy: { type: 'boolean', default: false },
      key: { type: 'string' },
      'insecure-http': { type: 'boolean', default: false },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
    },
  });
  const rttMs = parseDurationMs(values.rtt);
  const jitterMs = values.jitter === undefined ? rttMs / 10 : parseDurationMs(values.jitter);
  const count = Number(values.nodes);
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`--nodes must be a positive whole number, got ${values.nodes}`);
  if (!values.dir) throw new Error('--dir is required');
  const indexes = (list: string | undefined) => (list ? list.split(',').map(Number) : []);
  if (Boolean(values['tls-cert']) !== Boolean(values['tls-key']))
    throw new Error('--tls-cert and --tls-key go together');
  // One certificate for every process of a fleet (fleet.ts), so one fingerprint pins them all.
  const certificate =
    values['tls-cert'] && values['tls-key']
      ? { cert: readFileSync(values['tls-cert'], 'utf8'), key: readFileSync(values['tls-key'], 'utf8') }
      : undefined;
  const sim = await startSimulator({
    nodes: count,
    host: values.host,
    offline: indexes(values.offline),
    wrongKey: indexes(values['wrong-key']),
    hanging: indexes(values.hanging),
    firstIndex: Number(values['first-index']),
    ...(values['name-width'] ? { nameWidth: Number(values['name-width']) } : {}),
    ...(values.key ? { key: values.key } : {}),
    ...(rttMs > 0 ? { latency: { rttMs, jitterMs } } : {}),
    feeds: values['no-feeds'] ? false : { eventsPerMinute: Number(values['events-per-minute']) },
    plainHttp: values['insecure-http'],
    ...(certificate ? { certificate } : {}),
  });
  if (values.deploy) {
    // The job already running everywhere, deployed by each node's own engine (no network).
    const spec = parseJobText(SIM_JOB_YAML, 'job.yaml');
    const agents = sim.nodes.filter((n) => n.engine);
    for (let i = 0; i < agents.length; i += 64) {
      await Promise.all(agents.slice(i, i + 64).map((n) => n.engine?.deploy(spec, () => {})));
    }
  }
  const inventory = path.join(values.dir, 'inventory.yaml');
  const job = path.join(values.dir, 'job.yaml');
  writeFileSync(inventory, sim.inventoryYaml());
  writeFileSync(job, SIM_JOB_YAML);
  const nodes = sim.nodes.map((n) => ({ name: n.name, location: n.location }));
  process.stdout.write(
    `${JSON.stringify({ ready: true, nodes: count, env: sim.env(), inventory, job, rttMs, jitterMs, list: nodes })}\n`,
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
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const [command, arg] = line.trim().split(/\s+/);
    const reply = (value: object) => process.stdout.write(`${JSON.stringify(value)}\n`);
    if (command === 'stop') {
      void sim.stopNodes(indexes(arg)).then(() => reply({ stopped: indexes(arg).length }));
    } else if (command === 'drop') {
      reply({ dropped: sim.dropFeeds() });
    } else if (command === 'sessions') {
      reply({ sessions: sim.feedSessions() });
    } else if (command) {
      reply({ error: `unknown command ${command}` });
    }
  });
  lines.on('close', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`simulator: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
