#!/usr/bin/env node
/**
 * The `dokkup` executable. `dokkup agent` runs the node agent; every other command is the
 * operator CLI. Each side is loaded only when used, so the CLI never pays for the agent's
 * Docker client and vice versa.
 */
const argv = process.argv.slice(2);
const exitCode =
  argv[0] === 'agent'
    ? await (await import('../../agent/main.js')).runAgentCommand(argv.slice(1))
    : await (await import('./main.js')).runCli(argv);
if (exitCode !== undefined) process.exitCode = exitCode;
