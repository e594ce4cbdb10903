/**
 * Redraws when the state changes, at most `maxFps` times a second (default 5: live figures need
 * no more, and each frame costs a few milliseconds): changes that arrive while a frame is pending
 * are folded into it (facts from ten thousand nodes are one frame, not ten thousand). A key press is the exception: it is drawn at once (`input`), whatever the cap, so
 * the keyboard never waits behind the fleet's traffic. Before each frame the `beforeFrame` hooks
 * run (the feeds controller hands over the facts it gathered since the last one); after it, the
 * `afterFrame` hooks (work a key press caused that the screen need not wait for, such as
 * subscribing to a thousand nodes' stats).
 */

import type { TuiState } from '../store/state.js';
import type { Store } from '../store/store.js';

/** Frames a second for what the fleet sends (keys are drawn at once, whatever this is). */
export const DATA_FPS = 5;

export interface Renderer {
  render(state: TuiState): unknown;
}

export class RenderLoop {
  private timer: NodeJS.Timeout | null = null;
  private inputPending = false;
  private inFrame = false;
  private lastFrame = 0;
  private readonly minInterval: number;
  private readonly unsubscribe: () => void;
  private readonly hooks: (() => void)[] = [];
  private readonly afterHooks: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly view: Renderer,
    maxFps = DATA_FPS,
  ) {
    this.minInterval = 1000 / maxFps;
    this.unsubscribe = store.subscribe(() => this.schedule());
  }

  /** Runs `hook` before every frame (before the state is read). */
  beforeFrame(hook: () => void): void {
    this.hooks.push(hook);
  }

  /** Runs `hook` after every frame. */
  afterFrame(hook: () => void): void {
    this.afterHooks.push(hook);
  }

  /** Draws now (first frame, resize). */
  frame(): void {
    if (this.stopped) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.inFrame = true;
    try {
      for (const hook of this.hooks) hook();
    } finally {
      this.inFrame = false;
    }
    this.paint();
  }

  private paint(): void {
    this.lastFrame = performance.now();
    this.view.render(this.store.state);
    for (const hook of this.afterHooks) hook();
  }

  /**
   * A key was handled: draw as soon as the keys read together have been handled (the next turn
   * of the event loop), not when the cap allows — and without the facts gathered meanwhile (no
   * `beforeFrame`): the key's frame shows what the key changed, the fleet's news wait for the
   * next regular frame, which stays scheduled.
   */
  input(): void {
    if (this.inputPending || this.stopped) return;
    this.inputPending = true;
    setImmediate(() => {
      this.inputPending = false;
      if (!this.stopped) this.paint();
    });
  }

  schedule(): void {
    if (this.timer || this.stopped || this.inFrame) return;
    const wait = Math.max(0, this.lastFrame + this.minInterval - performance.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.frame();
    }, wait);
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
