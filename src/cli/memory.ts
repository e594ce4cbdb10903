/**
 * Keeping the CLI's peak memory down on very large inventories.
 *
 * Fanning out to ten thousand nodes allocates a lot of short-lived objects (sockets, requests,
 * parsed answers) and reading a ten-thousand-node inventory leaves tens of MB of parser garbage.
 * V8 collects its old space lazily, so the peak RSS of a run depends on when it happens to get
 * round to it: the same command measured 210 MB or 330 MB from one run to the next. A full
 * collection after loading a large inventory and every few thousand nodes makes the peak
 * predictable, for a few tens of milliseconds each.
 *
 * The collector is reached through V8's `--expose-gc` flag set at run time and a fresh context
 * (the flag only applies to contexts created after it). Where that is not possible this does
 * nothing: it is an optimisation, never a requirement.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

/** Below this many nodes there is nothing worth collecting early. */
export const LARGE_FAN_OUT = 2_000;
/** During a large fan-out, collect after this many nodes have settled. */
export const COLLECT_EVERY_NODES = 2_500;

let collector: (() => void) | null | undefined;

export function collectGarbage(): void {
  if (collector === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      const gc = vm.runInNewContext('gc');
      collector = typeof gc === 'function' ? (gc as () => void) : null;
    } catch {
      collector = null;
    }
  }
  collector?.();
}

/** For a fan-out over `nodes` nodes: a callback to call as each settles. */
export function collectDuringFanOut(nodes: number, collect: () => void = collectGarbage): () => void {
  if (nodes < LARGE_FAN_OUT) return () => {};
  let settled = 0;
  return () => {
    settled++;
    if (settled % COLLECT_EVERY_NODES === 0) collect();
  };
}
