/** Runs the CLI in-process on memory streams (no terminal, empty stdin): for command tests. */
import { PassThrough } from 'node:stream';
import type { CliIO } from './io.js';
import { runCli } from './main.js';

export interface RanInMemory {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runInMemory(
  argv: string[],
  env: CliIO['env'] = {},
  cwd = process.cwd(),
): Promise<RanInMemory> {
  let stdout = '';
  let stderr = '';
  const stdin = new PassThrough();
  stdin.end();
  const io: CliIO = {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    stdin,
    env,
    cwd,
  };
  const code = await runCli(argv, { io, handleSignals: false });
  return { code, stdout, stderr };
}
