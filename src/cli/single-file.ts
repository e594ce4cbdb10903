/**
 * The entry of the single-file `dokkup` (`npm run package`, see scripts/package.mjs): the same
 * CLI as bin.ts, bundled into one CommonJS script that Node's single executable applications
 * run from inside a copy of the Node 24 binary, and that the agent image runs on its Node. No
 * top-level await: a CommonJS script has none.
 */
import { runCli } from './main.js';
import { unsupportedNode } from './node-support.js';

const unsupported = unsupportedNode(process.version);
if (unsupported) {
  process.stderr.write(`${unsupported}\n`);
  process.exit(1);
}
runCli(process.argv.slice(2)).then(
  (exitCode) => {
    if (exitCode !== undefined) process.exitCode = exitCode;
  },
  (error: unknown) => {
    process.stderr.write(`dokkup: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
