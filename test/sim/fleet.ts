/**
 * SIMULATION: a fleet of simulated agents spread over several simulator processes (`main.ts`),
 * for the TUI benchmark and its end-to-end test. One process holds at most `perProcess` nodes:
 * each node is a listening socket plus, once a TUI connects, its feed socket, so 2,500 nodes are
 * ~5,000 file descriptors (and ~2,500 ports) in that process. The processes raise their soft
 * `ulimit -n` to the hard limit before starting (`sh -c 'ulimit -n …; exec node …'`).
 *
 * Every node serves TLS (like `dokkup agent`) with one certificate, made here once and given to
 * every process (`--tls-cert`/`--tls-key`), so one fingerprint pins the whole fleet.
 *
 * Writes one inventory for the whole fleet (`<dir>/inventory.yaml`, keys as `${DOKKUP_SIM_KEY}`,
 * fingerprints as `${DOKKUP_SIM_FINGERPRINT}`) with a group `all` and groups `rack-001`,
 * `rack-002`, … of `groupSize` nodes each.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createSelfSignedCertificate, fingerprintOf } from '../../agent/tls/certificate.js';
import { SIM_FINGERPRINT_ENV, SIM_KEY_ENV } from './simulator.js';

export interface FleetOptions {
  nodes: number;
  dir: string;
  /** Nodes per simulator process (default 2,500). */
  perProcess?: number;
  /** Simulated round trip, e.g. '50ms' (default none). */
  rtt?: string;
  /** Ambient container events per node per minute (default the simulator's). */
  eventsPerMinute?: number;
  /** The job running on every node from the start (default true). */
  deploy?: boolean;
  /** Nodes per `rack-NNN` group (default 100). */
  groupSize?: number;
  /** Plain HTTP (`dokkup agent --insecure-http`) instead of TLS (default false). */
  plainHttp?: boolean;
}

export interface FleetNode {
  name: string;
  location: string;
  /** Which process, and its index there. */
  process: number;
  local: number;
}

export interface Fleet {
  key: string;
  /** `SHA256:<hex>` of the certificate every node serves (null over plain HTTP). */
  fingerprint: string | null;
  nodes: FleetNode[];
  inventory: string;
  job: string;
  groups: Record<string, string[]>;
  /** The environment a dokkup process needs to read the inventory (the key and the fingerprint). */
  env: Record<string, string>;
  /** Stops these nodes (fleet indexes, 0-based). */
  stopNodes(indexes: readonly number[]): Promise<void>;
  /** Cuts every feed socket of every node at once. Resolves with how many were cut. */
  dropFeeds(): Promise<number>;
  /** Feed sessions open over the fleet. */
  feedSessions(): Promise<number>;
  /** Stops every simulator process. */
  close(): Promise<void>;
}

interface SimProcess {
  child: ChildProcessWithoutNullStreams;
  lines: Interface;
  next(): Promise<Record<string, unknown>>;
}

/** The built simulator: beside this file in dist/, or dist's copy when this runs from source (vitest). */
const HERE = path.dirname(fileURLToPath(import.meta.url));
const MAIN = existsSync(path.join(HERE, 'main.js'))
  ? path.join(HERE, 'main.js')
  : path.join(HERE, '..', '..', 'dist', 'test', 'sim', 'main.js');

function startProcess(args: string[]): SimProcess {
  const command = `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "${process.execPath}" "${MAIN}" ${args.map((a) => `'${a}'`).join(' ')}`;
  const child = spawn('sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout });
  const queue: Record<string, unknown>[] = [];
  const waiters: { resolve(v: Record<string, unknown>): void; reject(e: Error): void }[] = [];
  lines.on('line', (line) => {
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const waiter = waiters.shift();
    if (waiter) waiter.resolve(value);
    else queue.push(value);
  });
  child.on('exit', (code) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`simulator exited (${code}): ${stderr}`));
  });
  return {
    child,
    lines,
    next: () => {
      const value = queue.shift();
      if (value) return Promise.resolve(value);
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
  };
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const perProcess = options.perProcess ?? 2_500;
  const count = Math.ceil(options.nodes / perProcess);
  const width = String(options.nodes).length;
  const key = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
  mkdirSync(options.dir, { recursive: true });
  const certificate = options.plainHttp
    ? undefined
    : await createSelfSignedCertificate(['127.0.0.1', 'localhost']);
  const fingerprint = certificate ? fingerprintOf(certificate.cert) : null;
  const certFile = path.join(options.dir, 'sim-cert.pem');
  const certKeyFile = path.join(options.dir, 'sim-cert-key.pem');
  if (certificate) {
    writeFileSync(certFile, certificate.cert, { mode: 0o600 });
    writeFileSync(certKeyFile, certificate.key, { mode: 0o600 });
  }
  const processes: SimProcess[] = [];
  const nodes: FleetNode[] = [];
  try {
    const started = Array.from({ length: count }, (_, p) => {
      const first = p * perProcess;
      const n = Math.min(perProcess, options.nodes - first);
      const dir = path.join(options.dir, `sim-${p}`);
      mkdirSync(dir, { recursive: true });
      const args = [
        '--nodes',
        String(n),
        '--dir',
        dir,
        '--first-index',
        String(first),
        '--name-width',
        String(width),
        '--key',
        key,
        ...(options.rtt ? ['--rtt', options.rtt] : []),
        ...(options.eventsPerMinute !== undefined
          ? ['--events-per-minute', String(options.eventsPerMinute)]
          : []),
        ...(options.deploy === false ? [] : ['--deploy']),
        ...(certificate ? ['--tls-cert', certFile, '--tls-key', certKeyFile] : ['--insecure-http']),
      ];
      const sim = startProcess(args);
      processes.push(sim);
      return sim.next().then((ready) => ({ p, ready }));
    });
    for (const { p, ready } of await Promise.all(started)) {
      const list = ready['list'] as { name: string; location: string }[];
      list.forEach((n, local) => {
        nodes.push({ ...n, process: p, local });
      });
    }
  } catch (error) {
    for (const sim of processes) sim.child.kill('SIGTERM');
    throw error;
  }
  nodes.sort((a, b) => a.name.localeCompare(b.name));

  const groupSize = options.groupSize ?? 100;
  const groups: Record<string, string[]> = { all: nodes.map((n) => n.name) };
  for (let i = 0; i < nodes.length; i += groupSize) {
    groups[`rack-${String(i / groupSize + 1).padStart(3, '0')}`] = nodes
      .slice(i, i + groupSize)
      .map((n) => n.name);
  }
  const yaml = [
    '# SIMULATION: every node below is a simulated agent (test/sim), not a server.',
    'nodes:',
    ...nodes.flatMap((n) => [
      `  - name: ${n.name}`,
      `    location: ${n.location}`,
      `    key: \${${SIM_KEY_ENV}}`,
      ...(fingerprint ? [`    fingerprint: \${${SIM_FINGERPRINT_ENV}}`] : []),
    ]),
    'groups:',
    ...Object.entries(groups).flatMap(([name, members]) => [
      `  - name: ${name}`,
      `    nodes: [${members.join(', ')}]`,
    ]),
    '',
  ].join('\n');
  const inventory = path.join(options.dir, 'inventory.yaml');
  writeFileSync(inventory, yaml);

  const ask = async (sim: SimProcess, line: string) => {
    sim.child.stdin.write(`${line}\n`);
    return sim.next();
  };
  let closed = false;
  return {
    key,
    fingerprint,
    nodes,
    inventory,
    job: path.join(options.dir, 'sim-0', 'job.yaml'),
    groups,
    env: { [SIM_KEY_ENV]: key, ...(fingerprint ? { [SIM_FINGERPRINT_ENV]: fingerprint } : {}) },
    async stopNodes(indexes) {
      const byProcess = new Map<number, number[]>();
      for (const i of indexes) {
        const node = nodes[i];
        if (!node) continue;
        byProcess.set(node.process, [...(byProcess.get(node.process) ?? []), node.local]);
      }
      await Promise.all([...byProcess].map(([p, locals]) => ask(processes[p]!, `stop ${locals.join(',')}`)));
    },
    async dropFeeds() {
      const answers = await Promise.all(processes.map((sim) => ask(sim, 'drop')));
      return answers.reduce((sum, a) => sum + Number(a['dropped'] ?? 0), 0);
    },
    async feedSessions() {
      const answers = await Promise.all(processes.map((sim) => ask(sim, 'sessions')));
      return answers.reduce((sum, a) => sum + Number(a['sessions'] ?? 0), 0);
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(
        processes.map(
          (sim) =>
            new Promise<void>((resolve) => {
              if (sim.child.exitCode !== null) return resolve();
              sim.child.once('exit', () => resolve());
              sim.child.stdin.end();
              setTimeout(() => sim.child.kill('SIGKILL'), 10_000).unref();
            }),
        ),
      );
    },
  };
}
