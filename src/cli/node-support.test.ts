import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OLDEST_NODE_MAJOR, unsupportedNode } from './node-support.js';

describe('unsupportedNode', () => {
  it('refuses the lines before 22 with one line naming both versions', () => {
    expect(unsupportedNode('v20.20.2')).toBe(
      'dokkup needs Node.js 22 or newer (24 recommended); this is Node.js v20.20.2',
    );
    expect(unsupportedNode('v18.0.0')).toMatch(/needs Node\.js 22/);
    expect(unsupportedNode('garbage')).toMatch(/needs Node\.js 22/);
  });

  it('accepts 22, 24 and later', () => {
    for (const v of ['v22.0.0', 'v22.23.5', 'v24.22.3', 'v26.1.0'])
      expect(unsupportedNode(v)).toBeUndefined();
  });

  it('agrees with package.json engines, and this suite runs on a supported Node', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(pkg.engines.node).toBe(`>=${OLDEST_NODE_MAJOR}`);
    expect(unsupportedNode(process.version)).toBeUndefined();
  });
});
