/**
 * The BUILT inventory worker (dist/src/cli/inventory-worker.js), as `loadInventoryInWorker`
 * starts it for a large inventory: it sends the inventory, then collects its own garbage so that
 * its memory is given back at once rather than 8 s after it ends (V8's page pool, README
 * Performance), says so, and ends by itself: the CLI does not wait for it nor stop it.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../harness/agent-process.js';

const WORKER = path.join(repoRoot(), 'dist', 'src', 'cli', 'inventory-worker.js');
const dir = mkdtempSync(path.join(tmpdir(), 'dokkup-inventory-worker-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the inventory worker', () => {
  it('sends the inventory, gives its heap back, then ends by itself', async () => {
    const file = path.join(dir, 'inventory.yaml');
    const nodes = Array.from(
      { length: 300 },
      (_, i) => `  - name: n${i}\n    location: 10.0.${i >> 8}.${i & 255}:8080\n    key: \${KEY}\n`,
    );
    writeFileSync(file, `nodes:\n${nodes.join('')}`);
    const worker = new Worker(WORKER, { workerData: { file, env: { KEY: 'secret-key-of-the-fleet' } } });
    const messages: unknown[] = [];
    worker.on('message', (message) => messages.push(message));
    const [exitCode] = await once(worker, 'exit');

    expect(exitCode).toBe(0);
    expect(messages).toHaveLength(2);
    const [result, released] = messages as [
      { ok: boolean; inventory: { nodes: { name: string; key: string }[] } },
      { released: boolean },
    ];
    expect(result.ok).toBe(true);
    expect(result.inventory.nodes).toHaveLength(300);
    expect(result.inventory.nodes[299]).toMatchObject({ name: 'n299', key: 'secret-key-of-the-fleet' });
    expect(released).toEqual({ released: true });
  });
});
