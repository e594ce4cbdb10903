/**
 * The TUI in a real terminal: tmux sessions (160×48 by default) running the BUILT binary, keys
 * sent with `send-keys`, the screen read with `capture-pane`. For the TUI end-to-end tests.
 */
import { spawnSync } from 'node:child_process';
import { agentBinary } from './agent-process.js';
import { sleep, waitFor } from './proc.js';

export function tmux(args: string[]): string {
  const res = spawnSync('tmux', args, { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${res.stderr}`);
  return res.stdout;
}

/** A TUI running in its own tmux session. */
export interface TerminalOptions {
  /** Nothing of the test's environment is passed on, only `env` and the terminal's settings. */
  cleanEnv?: boolean;
  width?: number;
  height?: number;
}

export class Terminal {
  private static next = 0;
  readonly name = `dokkup-tui-e2e-${process.pid}-${Terminal.next++}`;
  /** Every screen captured, for a search of everything the TUI showed. */
  readonly screens: string[] = [];

  constructor(cwd: string, args: string[], env: Record<string, string>, options: TerminalOptions = {}) {
    const { cleanEnv = false, width = 160, height = 48 } = options;
    const exports = Object.entries({
      // UTF-8 box drawing instead of the terminal's alternate character set, so captures read
      // like the screen looks.
      LANG: 'C.UTF-8',
      NCURSES_NO_UTF8_ACS: '1',
      TERM: 'xterm-256color',
      ...env,
    })
      .map(([k, v]) => `${k}='${v}'`)
      .join(' ');
    // A TUI over hundreds of agents holds a socket per agent: raise the soft descriptor limit.
    const command = `cd '${cwd}' && ulimit -n "$(ulimit -Hn)" 2>/dev/null; env ${cleanEnv ? '-i ' : ''}${exports} '${process.execPath}' '${agentBinary()}' tui ${args.join(' ')} 2>'${cwd}/tui-stderr.txt'; echo "TUI EXITED $?"; sleep 3600`;
    tmux(['new-session', '-d', '-s', this.name, '-x', String(width), '-y', String(height), command]);
  }

  screen(): string {
    const text = tmux(['capture-pane', '-p', '-t', this.name]);
    this.screens.push(text);
    return text;
  }

  async keys(...keys: string[]): Promise<void> {
    for (const key of keys) {
      tmux(['send-keys', '-t', this.name, key]);
      // blessed reads ESC followed quickly by a key as Alt+key: keep keys apart.
      await sleep(150);
    }
  }

  /** Types `text` literally (no key names). */
  async type(text: string): Promise<void> {
    tmux(['send-keys', '-t', this.name, '-l', text]);
    await sleep(150);
  }

  /** Waits until the screen matches; on timeout the error shows the last screen. */
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

/** The row of a table whose text contains all the given parts. */
export function row(screen: string, ...parts: string[]): string | undefined {
  return screen.split('\n').find((line) => parts.every((p) => line.includes(p)));
}
