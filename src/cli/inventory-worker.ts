/**
 * Reads a large inventory in a worker thread (see `loadInventory` in context.ts): the parser's
 * garbage (about 120 MB for ten thousand nodes) lives and dies with the worker's heap, so the
 * CLI's own heap only ever holds the result. A file the worker cannot read or parse is reported
 * as such; the caller then reads it in its own thread to throw the real, located error.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadInventoryFile } from '../config/index.js';

const { file, env } = workerData as { file: string; env: Record<string, string | undefined> };
loadInventoryFile(file, env).then(
  (inventory) => parentPort?.postMessage({ ok: true, inventory }),
  () => parentPort?.postMessage({ ok: false }),
);
