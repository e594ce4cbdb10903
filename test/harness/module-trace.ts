/**
 * Records every module a Node process loads, for tests that prove what a command does NOT load:
 *
 *   DOKKUP_MODULE_TRACE=/tmp/trace.txt node --import ./dist/test/harness/module-trace.js BIN ARGS…
 *
 * ES modules are seen by a resolve hook (module-trace-hooks.ts, on the loader thread); CommonJS
 * ones (blessed, dockerode) by wrapping the CommonJS loader here, since a package required from
 * another CommonJS file never passes the ES hooks. One absolute path or `node:` URL a line.
 */
import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';

const file = process.env.DOKKUP_MODULE_TRACE;
if (file) {
  register(new URL('./module-trace-hooks.js', import.meta.url));
  type Resolve = (request: string, parent: unknown, ...rest: unknown[]) => string;
  const loader = Module as unknown as { _resolveFilename: Resolve };
  const original = loader._resolveFilename;
  loader._resolveFilename = function (this: unknown, request, parent, ...rest) {
    const resolved = original.call(this, request, parent, ...rest);
    appendFileSync(file, `${resolved}\n`);
    return resolved;
  };
}
