/**
 * The confirmation prompt. Only `y` or `yes` (any case) proceeds; anything else — `n`, an empty
 * line, end of input — declines. Without a terminal on stdin there is nobody to ask, so it
 * refuses at once instead of waiting on a pipe.
 */
import readline from 'node:readline';
import type { CliIO, OutputStream } from './io.js';

export const PROMPT = 'Are you sure you want to proceed? (y/n) ';

export function isAffirmative(answer: string | null): boolean {
  if (answer === null) return false;
  const normalised = answer.trim().toLowerCase();
  return normalised === 'y' || normalised === 'yes';
}

export type ConfirmResult = 'yes' | 'no' | 'no-terminal' | 'interrupted';

/** Reads one line (null at end of input), or null when the signal aborts first. */
export function readLine(input: CliIO['stdin'], signal?: AbortSignal): Promise<string | null> {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input, terminal: false });
    let done = false;
    const finish = (answer: string | null) => {
      if (done) return;
      done = true;
      signal?.removeEventListener('abort', onAbort);
      rl.close();
      // readline resumes stdin; pause it again so it does not keep the process alive.
      input.pause();
      resolve(answer);
    };
    const onAbort = () => finish(null);
    signal?.addEventListener('abort', onAbort, { once: true });
    rl.once('line', (line) => finish(line));
    rl.once('close', () => finish(null));
  });
}

export async function confirm(
  io: Pick<CliIO, 'stdin'>,
  out: OutputStream,
  options: { yes: boolean; signal?: AbortSignal },
): Promise<ConfirmResult> {
  if (options.yes) return 'yes';
  if (io.stdin.isTTY !== true) return 'no-terminal';
  out.write(`\n${PROMPT}`);
  const answer = await readLine(io.stdin, options.signal);
  if (options.signal?.aborted) {
    out.write('\n');
    return 'interrupted';
  }
  if (answer === null) out.write('\n');
  return isAffirmative(answer) ? 'yes' : 'no';
}

export const NO_TERMINAL_MESSAGE =
  'dokkup: refusing to proceed: stdin is not a terminal, so there is nobody to confirm; pass -y/--yes to proceed without asking';
