#!/usr/bin/env -S node --max-semi-space-size=16
/**
 * The `dokkup` executable: every command, `dokkup agent` included, goes through the CLI's
 * command registry. Commands load what they drive only when they run, so the CLI never pays
 * for the agent's Docker client and vice versa.
 *
 * The first line's Node flag is every launcher's (npm scripts, the single file's `execArgv`, the
 * image's entry point; src/cli/node-flags.test.ts keeps them equal): V8 sizes the young
 * generation by the machine's memory (64 MB semi-spaces on a 24 GB host), so a fan-out's garbage
 * of thousands of short TLS connections grew the peak RSS by hundreds of MB before a scavenge
 * (measured in README's Performance). It cannot be set from inside the process.
 */
import { unsupportedNode } from './node-support.js';

const unsupported = unsupportedNode(process.version);
if (unsupported) {
  process.stderr.write(`${unsupported}\n`);
  process.exitCode = 1;
} else {
  const exitCode = await (await import('./main.js')).runCli(process.argv.slice(2));
  if (exitCode !== undefined) process.exitCode = exitCode;
}
