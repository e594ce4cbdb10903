/**
 * The fan-out simulator (test/sim/main.ts) as a separate process for the benchmarks, so that
 * the CLI they measure shares no process with N simulated agents: started, read for its ready
 * line, and stopped (its temp directory removed).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SIM = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'sim', 'main.js');

/** Simulated nodes serve TLS as agents do by default; `plain` is for comparisons. */
export type Transport = 'tls' | 'plain';

export interface Simulation {
  process: ChildProcess;
  transport: Transport;
  /** What the CLI's environment needs: the key and the certificate fingerprint the inventory names. */
  env: Record<string, string>;
  inventory: string;
  job: string;
  /** The simulator's temp directory (inventory, job file, whatever the bench writes there). */
  dir: string;
}

/** `nodes` simulated agents; `args` go to the simulator (`--rtt 100ms`, …). */
export async function startSimulation(
  nodes: number,
  name: string,
  args: readonly string[] = [],
  transport: Transport = 'tls',
): Promise<Simulation> {
  const dir = mkdtempSync(path.join(tmpdir(), `dokkup-${name}-${nodes}-`));
  // Ten thousand listeners need ten thousand descriptors (plus the accepted connections).
  const child = spawn(
    'sh',
    [
      '-c',
      'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec node "$@"',
      'sh',
      SIM,
      '--nodes',
      String(nodes),
      '--dir',
      dir,
      ...args,
      ...(transport === 'plain' ? ['--insecure-http'] : []),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<{ env: Record<string, string>; inventory: string; job: string }>(
    (resolve, reject) => {
      child.once('exit', (code) =>
        reject(new Error(`simulator exited with code ${code} before it was ready`)),
      );
      lines.once('line', (line) => resolve(JSON.parse(line)));
    },
  );
  return { process: child, dir, transport, ...ready };
}

export async function stopSimulation(sim: Simulation): Promise<void> {
  const exited = new Promise((resolve) => sim.process.once('exit', resolve));
  sim.process.stdin?.end();
  sim.process.kill('SIGTERM');
  await exited;
  rmSync(sim.dir, { recursive: true, force: true });
}
