/**
 * The built CLI as a test runs it: one-shot commands (stdin a pipe), a long-running one stopped
 * with Ctrl-C (`dokkup events --json` as a feeds capture), and the TUI in a tmux session. Every
 * run's output is kept, so a test can search all of it at the end (for a secret that must not
 * be there).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { agentBinary } from './agent-process.js';
import { sleep, waitFor } from './proc.js';

export interface CliRun {
  args: string[];
  code: number;
  stdout: string;
  stderr: string;
}

export class CliRunner {
  /** Every run so far, in order (long-running ones once they ended). */
  readonly runs: CliRun[] = [];

  constructor(
    readonly cwd: string,
    /** The whole environment of every run (nothing is inherited but what is given). */
    readonly env: NodeJS.ProcessEnv,
  ) {}

  run(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CliRun> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [agentBinary(), ...args], {
        cwd: this.cwd,
        env: { ...this.env, ...options.env },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('exit', (code) => {
        const ran = { args, code: code ?? -1, stdout, stderr };
        this.runs.push(ran);
        resolve(ran);
      });
      child.stdin.end(options.input ?? '');
    });
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

function tmux(args: string[]): string {
  const res = spawnSync('tmux', args, { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${res.stderr}`);
  return res.stdout;
}

/** `dokkup tui` in its own tmux session (160×48); keys with send-keys, the screen with capture-pane. */
export class TuiTerminal {
  private static next = 0;
  readonly name = `dokkup-tui-${process.pid}-${TuiTerminal.next++}`;
  /** Every screen captured, for a search of everything the TUI showed. */
  readonly screens: string[] = [];

  constructor(cwd: string, args: string[], env: Record<string, string>) {
    const exports = Object.entries({
      LANG: 'C.UTF-8',
      NCURSES_NO_UTF8_ACS: '1',
      TERM: 'xterm-256color',
      ...env,
    })
      .map(([k, v]) => `${k}='${v}'`)
      .join(' ');
    const command = `cd '${cwd}' && env -i ${exports} '${process.execPath}' '${agentBinary()}' tui ${args.join(' ')} 2>'${cwd}/tui-stderr.txt'; echo "TUI EXITED $?"; sleep 3600`;
    tmux(['new-session', '-d', '-s', this.name, '-x', '160', '-y', '48', command]);
  }

  screen(): string {
    const text = tmux(['capture-pane', '-p', '-t', this.name]);
    this.screens.push(text);
    return text;
  }

  async keys(...keys: string[]): Promise<void> {
    for (const key of keys) {
      tmux(['send-keys', '-t', this.name, key]);
      await sleep(150);
    }
  }

  /** Waits until the screen passes `test`; on timeout the error shows the last screen. */
  async waitFor(what: string, test: (screen: string) => boolean, timeoutMs = 30_000): Promise<string> {
    let last = '';
    try {
      return await waitFor(
        what,
        () => {
          last = this.screen();
          return test(last) ? last : undefined;
        },
        { timeoutMs, intervalMs: 200 },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- screen ---\n${last}`);
    }
  }

  waitForText(text: string | RegExp, timeoutMs?: number): Promise<string> {
    return this.waitFor(
      String(text),
      (s) => (typeof text === 'string' ? s.includes(text) : text.test(s)),
      timeoutMs,
    );
  }

  close(): void {
    spawnSync('tmux', ['kill-session', '-t', this.name]);
  }
}
