/**
 * The built CLI as a test runs it: one-shot commands (stdin a pipe), a long-running one stopped
 * with Ctrl-C (`dokkup events --json` as a feeds capture), and the TUI in a tmux session. Every
 * run's output is kept, so a test can search all of it at the end (for a secret that must not
 * be there).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { agentBinary } from './agent-process.js';
import { Terminal } from './tmux.js';

export interface CliRun {
  args: string[];
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * One run of the built CLI to its end: `env` is its whole environment (default: the test's),
 * stdin a pipe given `input` (default: nothing, closed at once).
 */
export function runCli(
  cwd: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [agentBinary(), ...args], {
      cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ args, code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

export class CliRunner {
  /** Every run so far, in order (long-running ones once they ended). */
  readonly runs: CliRun[] = [];

  constructor(
    readonly cwd: string,
    /** The whole environment of every run (nothing is inherited but what is given). */
    readonly env: NodeJS.ProcessEnv,
  ) {}

  async run(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CliRun> {
    const ran = await runCli(this.cwd, args, {
      env: { ...this.env, ...options.env },
      ...(options.input !== undefined ? { input: options.input } : {}),
    });
    this.runs.push(ran);
    return ran;
  }

  /** Starts a command that runs until stopped (Ctrl-C); `output()` is what it printed so far. */
  start(args: string[]): { output(): string; stop(): Promise<CliRun>; process: ChildProcess } {
    const child = spawn(process.execPath, [agentBinary(), ...args], {
      cwd: this.cwd,
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
    return {
      process: child,
      output: () => stdout,
      stop: async () => {
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        const code = await exited;
        clearTimeout(timer);
        const ran = { args, code, stdout, stderr };
        this.runs.push(ran);
        return ran;
      },
    };
  }

  /** stdout and stderr of every run so far, as one text. */
  allOutput(): string {
    return this.runs.map((r) => `$ dokkup ${r.args.join(' ')}\n${r.stdout}\n${r.stderr}`).join('\n');
  }
}

/** `dokkup tui` with nothing of the test's environment but `env` (see `Terminal`). */
export class TuiTerminal extends Terminal {
  constructor(cwd: string, args: string[], env: Record<string, string>) {
    super(cwd, args, env, { cleanEnv: true });
  }
}
