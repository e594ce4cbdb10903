/**
 * The JS heap of a process that talks to a whole fleet (a fan-out, the control center) may grow
 * only this far past what the last full collection found alive, in percent. V8's default lets a
 * busy heap grow to about four times that, and the garbage of thousands of connections then makes
 * most of the peak RSS: the control center at 10,000 nodes had ~240 MB alive and 860 MB of heap
 * before the next full collection; a fan-out to 10,000 nodes ~70 MB alive and ~230 MB of heap.
 * At 50 % both trade a few more full collections for a far lower peak (~100 MB less for the
 * fan-out at the same wall time; README's Performance).
 */
import { setFlagsFromString } from 'node:v8';

export const FLEET_HEAP_GROWING_PERCENT = 50;

/** Sets it for this process (a V8 flag that takes effect when set at run time, unlike the young generation's). */
export function boundHeapGrowthForFleet(): void {
  setFlagsFromString(`--heap-growing-percent=${FLEET_HEAP_GROWING_PERCENT}`);
}
