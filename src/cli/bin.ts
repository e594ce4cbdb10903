#!/usr/bin/env node
/**
 * The `dokkup` executable: every command, `dokkup agent` included, goes through the CLI's
 * command registry. Commands load what they drive only when they run, so the CLI never pays
 * for the agent's Docker client and vice versa.
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
