/**
 * Reads a large inventory in a worker thread (see `loadInventory` in context.ts): the parser's
 * garbage (about 120 MB for ten thousand nodes) lives and dies with the worker's heap, so the
 * CLI's own heap only ever holds the result. A file the worker cannot read or parse is reported
 * as such; the caller then reads it in its own thread to throw the real, located error.
 *
 * Once the result is sent, the worker collects its garbage before it ends, giving its pages back
 * at once: V8 keeps the free pages of an ending worker in a process-wide pool that it empties only
 * 8 s later (src/heap/page-pool.cc, kReleaseTaskDelayInSeconds), and for ten thousand nodes that
 * was ~100 MB of the CLI's memory through the whole first phase of its fan-out.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { loadInventoryFile } from '../config/index.js';

const { file, env } = workerData as { file: string; env: Record<string, string | undefined> };
loadInventoryFile(file, env)
  .then(
    (inventory) => parentPort?.postMessage({ ok: true, inventory }),
    () => parentPort?.postMessage({ ok: false }),
  )
  // Next turn: nothing of the parse is reachable any more, so the collection only frees.
  .then(() => setImmediate(() => parentPort?.postMessage({ released: releaseHeap() })));

/**
 * A last-resort collection: it frees the garbage and empties this isolate's page pool at once.
 * Says whether it ran (posted after the result, which the caller has already taken).
 * `gc` exists only where `--expose-gc` was set; set now, it shows in contexts made after, like
 * this one (it lets nothing else in).
 */
function releaseHeap(): boolean {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (options: object) => void;
    gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    return true;
  } catch {
    // The memory is then given back 8 s later, as before: nothing is lost.
    return false;
  }
}
