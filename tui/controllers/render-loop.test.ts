/**
 * The render loop between the real store and a recording view: the fleet's changes are folded
 * into capped frames, and a key press is drawn on the next turn of the event loop, ahead of the
 * facts waiting for the next regular frame.
 */
import { describe, expect, it } from 'vitest';
import type { FeedFact } from '../store/actions.js';
import type { TuiState } from '../store/state.js';
import { fleet, T0 } from '../store/store.fixture.js';
import { Store } from '../store/store.js';
import { RenderLoop } from './render-loop.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function setup(maxFps: number, routineMs?: number) {
  const store = new Store(fleet());
  const frames: TuiState[] = [];
  const loop = new RenderLoop(store, { render: (state) => frames.push(state) }, maxFps, routineMs);
  // Facts gathered between frames and handed over before each regular frame, as the feeds controller does.
  const pending: FeedFact[] = [];
  loop.beforeFrame(() => {
    if (pending.length > 0) store.dispatch({ type: 'feedBatch', facts: pending.splice(0) });
  });
  return { store, frames, loop, pending };
}

const rtt = (i: number): FeedFact => ({ type: 'feedRtt', node: 'lab1', rttMs: i });

describe('RenderLoop', () => {
  it('folds a flood of changes into capped frames', async () => {
    const { store, frames, loop } = setup(10);
    loop.frame();
    const start = performance.now();
    for (let i = 0; i < 30; i++) {
      store.dispatch(rtt(i + 1));
      await sleep(10);
    }
    await sleep(150);
    const elapsed = performance.now() - start;
    loop.stop();
    // One frame at most every 100 ms (plus the first), not one per change.
    expect(frames.length).toBeLessThanOrEqual(2 + Math.ceil(elapsed / 100));
    expect(frames.length).toBeLessThan(30);
    // The last change was drawn.
    expect(frames.at(-1)!.nodes.lab1!.latencyMs).toBe(30);
  });

  it('draws a key press at once, without the facts waiting for the next frame', async () => {
    const { store, frames, loop, pending } = setup(1);
    loop.frame();
    const before = frames.length;
    // A flood of facts gathered for the next regular frame (a second away)…
    for (let i = 0; i < 1000; i++) pending.push(rtt(i + 1));
    store.dispatch({ type: 'tick', now: T0 + 1 });
    // …and a key.
    store.dispatch({ type: 'command', command: 'focus.jobs' });
    loop.input();
    await new Promise((resolve) => setImmediate(resolve));
    expect(frames.length).toBe(before + 1);
    expect(frames.at(-1)!.focus).toBe('jobs');
    expect(pending).toHaveLength(1000);
    // The regular frame still comes, with the facts.
    await sleep(1100);
    loop.stop();
    expect(pending).toHaveLength(0);
    expect(frames.at(-1)!.nodes.lab1!.latencyMs).toBe(1000);
  });

  it('draws routine news (and the clock) within routineMs, not at the maxFps pace', async () => {
    const { store, frames, loop, pending } = setup(20, 400);
    loop.frame();
    const before = frames.length;
    // 300 ms of the fleet's routine news and clock ticks: at 20 frames a second that would be
    // six frames; routine, it is none yet…
    for (let i = 0; i < 30; i++) {
      pending.push(rtt(i + 1));
      loop.schedule('routine');
      if (i % 10 === 0) store.dispatch({ type: 'tick', now: T0 + i });
      await sleep(10);
    }
    expect(frames.length).toBe(before);
    // …then one frame shows all of it.
    await sleep(250);
    expect(frames.length).toBe(before + 1);
    expect(frames.at(-1)!.nodes.lab1!.latencyMs).toBe(30);
    expect(frames.at(-1)!.now).toBe(T0 + 20);
    expect(pending).toHaveLength(0);
    loop.stop();
  });

  it('brings a routine frame forward when a prompt change comes', async () => {
    const { frames, loop, pending } = setup(20, 5_000);
    loop.frame();
    const before = frames.length;
    pending.push(rtt(7));
    loop.schedule('routine');
    await sleep(100);
    expect(frames.length).toBe(before);
    // A node's connection changes (what the feeds controller asks a prompt frame for).
    pending.push({ type: 'feedState', node: 'lab2', state: 'offline', error: 'gone', at: T0 + 1 });
    loop.schedule('prompt');
    await sleep(100);
    loop.stop();
    expect(frames.length).toBe(before + 1);
    expect(frames.at(-1)!.nodes.lab1!.latencyMs).toBe(7);
    expect(frames.at(-1)!.nodes.lab2!.feed).toBe('offline');
  });
});
