/**
 * Runs the CLI binary in this very process and reports its peak memory on exit, for machines
 * without `/usr/bin/time`:  node measure-wrapper.js path/to/bin.js ARGS…
 * Prints `dokkup-bench-max-rss-kb=<n>` on stderr (process.resourceUsage().maxRSS, in KiB).
 */
import { pathToFileURL } from 'node:url';

const [bin, ...args] = process.argv.slice(2);
if (!bin) {
  process.stderr.write('usage: measure-wrapper.js BIN [ARGS…]\n');
  process.exit(2);
}
process.argv = [process.argv[0]!, bin, ...args];
process.on('exit', () => {
  process.stderr.write(`dokkup-bench-max-rss-kb=${process.resourceUsage().maxRSS}\n`);
});
await import(pathToFileURL(bin).href);
