/**
 * The `dokkup` executable's Node flags live on src/cli/bin.ts's first line; every launcher (the
 * npm scripts, the image's entry point and wrapper, the single file's `execArgv`) must give the
 * same ones, and Node must accept them and shrink the young generation with them.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cliNodeFlags } from '../../test/harness/agent-process.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

describe("the dokkup executable's Node flags", () => {
  const flags = cliNodeFlags();

  it('are on the first line of bin.ts, for env -S (npm link and the npm bin)', () => {
    expect(flags).toEqual(['--max-semi-space-size=16']);
    expect(read('src/cli/bin.ts').split('\n', 1)[0]).toBe(`#!/usr/bin/env -S node ${flags.join(' ')}`);
  });

  it('are given by the npm scripts that run the CLI', () => {
    const scripts = JSON.parse(read('package.json')).scripts as Record<string, string>;
    for (const name of ['start', 'dokkup']) {
      expect(scripts[name], name).toMatch(new RegExp(`^node ${flags.join(' ')} dist/src/cli/bin\\.js`));
    }
    // bench:tui runs the TUI in the bench's own process.
    expect(scripts['bench:tui']).toContain(`exec node ${flags.join(' ')} dist/test/bench/tui.js`);
  });

  it("are given by the image's entry point and its dokkup wrapper", () => {
    const dockerfile = read('Dockerfile');
    expect(dockerfile).toContain(
      `ENTRYPOINT ["node", ${flags.map((f) => `"${f}"`).join(', ')}, "/app/dokkup.cjs"]`,
    );
    expect(dockerfile).toContain(`exec node ${flags.join(' ')} /app/dokkup.cjs "$@"`);
  });

  it("are the single file's execArgv (read from bin.ts by the packager)", () => {
    expect(read('scripts/package.mjs')).toMatch(/execArgv: nodeFlagsOfCli\(\)/);
  });

  it('are accepted by this Node and hold its young generation to two 16 MB semi-spaces under garbage', () => {
    // Short-lived garbage until the young generation has grown as far as it may.
    const script = `let keep = 0;
for (let round = 0; round < 300; round++) {
  const junk = [];
  for (let i = 0; i < 20000; i++) junk.push({ text: 'x'.repeat(40) + i, list: [i, i + 1] });
  keep += junk.length;
}
const space = require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
console.log(space.space_size);`;
    const ran = spawnSync(process.execPath, [...flags, '-e', script], { encoding: 'utf8' });
    expect(ran.status, ran.stderr).toBe(0);
    const newSpaceBytes = Number(ran.stdout.trim());
    expect(newSpaceBytes).toBeGreaterThan(0);
    expect(newSpaceBytes).toBeLessThanOrEqual(2 * 16 * 1024 * 1024 + 1024 * 1024);
  });
});
