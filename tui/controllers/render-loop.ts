/**
 * Redraws when the state changes, at most `maxFps` times a second: changes that arrive while a
 * frame is pending are folded into it (a stats batch from fifty nodes is one frame, not fifty).
 */

import type { TuiState } from '../store/state.js';
import type { Store } from '../store/store.js';

export interface Renderer {
  render(state: TuiState): unknown;
}

export class RenderLoop {
  private timer: NodeJS.Timeout | null = null;
  private lastFrame = 0;
  private readonly minInterval: number;
  private readonly unsubscribe: () => void;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly view: Renderer,
    maxFps = 15,
  ) {
    this.minInterval = 1000 / maxFps;
    this.unsubscribe = store.subscribe(() => this.schedule());
  }

  /** Draws now (first frame, resize). */
  frame(): void {
    if (this.stopped) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.lastFrame = performance.now();
    this.view.render(this.store.state);
  }

  schedule(): void {
    if (this.timer || this.stopped) return;
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
