/**
 * The BUILT CLI (`node dist/src/cli/bin.js`) as a child process in a test's working directory,
 * stdin an empty pipe (not a terminal): run to its end, or started and watched (its output so
 * far, a signal, its end).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { agentBinary } from './agent-process.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunningCli {
  child: ChildProcess;
  /** stdout so far. */
  out: () => string;
  done: Promise<CliRun>;
}

export function startCli(dir: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  const child = spawn(process.execPath, [agentBinary(), ...args], {
    cwd: dir,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin!.end();
  const done = new Promise<CliRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code: code ?? (signal ? -1 : 0), stdout, stderr }));
  });
  return { child, out: () => stdout, done };
}

export function runCli(dir: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return startCli(dir, args, env).done;
}

/** What a failed exit-code assertion prints: the command's own output. */
export function explainRun(ran: CliRun): string {
  return `stdout:\n${ran.stdout}\nstderr:\n${ran.stderr}`;
}
