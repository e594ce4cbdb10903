/**
 * Redraws when the state changes, at most `maxFps` times a second (default 5: live figures need
 * no more, and each frame costs a few milliseconds): changes that arrive while a frame is pending
 * are folded into it (facts from ten thousand nodes are one frame, not ten thousand). Routine
 * news (`schedule('routine')`: the fleet's usage summaries, events, stats — what a big fleet
 * sends all the time) wait up to `routineMs` (default 1 s, the clock's own pace) for a frame, so
 * an idle screen over thousands of nodes is drawn about once a second rather than five times;
 * the clock's tick is routine too. Anything else (a node's connection changing, an answer, a
 * rollout's progress) keeps the `maxFps` pace and takes the routine news with it. A key press is
 * the exception: it is drawn at once (`input`), whatever the cap, so the keyboard never waits
 * behind the fleet's traffic. Before each frame the `beforeFrame` hooks
 * run (the feeds controller hands over the facts it gathered since the last one); after it, the
 * `afterFrame` hooks (work a key press caused that the screen need not wait for, such as
 * subscribing to a thousand nodes' stats).
 */

import type { TuiState } from '../store/state.js';
import type { Store } from '../store/store.js';

/** Frames a second for what the fleet sends (keys are drawn at once, whatever this is). */
export const DATA_FPS = 5;

/** The longest routine news waits for a frame (ms). */
export const ROUTINE_MS = 1000;

/** How soon a change needs a frame: at the `maxFps` pace, or within `routineMs`. */
export type Urgency = 'prompt' | 'routine';

export interface Renderer {
  render(state: TuiState): unknown;
}

export class RenderLoop {
  private timer: NodeJS.Timeout | null = null;
  /** When the scheduled frame is due (performance.now()). */
  private due = 0;
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
    private readonly routineMs = ROUTINE_MS,
  ) {
    this.minInterval = 1000 / maxFps;
    // The clock's tick is routine: the figures it ages can wait for the fleet's next frame.
    this.unsubscribe = store.subscribe((_state, _previous, action) =>
      this.schedule(action.type === 'tick' ? 'routine' : 'prompt'),
    );
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

  /**
   * A frame is wanted: at the `maxFps` pace (`prompt`), or within `routineMs` of the last frame
   * (`routine`). A prompt request brings a routine frame already scheduled forward.
   */
  schedule(urgency: Urgency = 'prompt'): void {
    if (this.stopped || this.inFrame) return;
    const now = performance.now();
    const due = Math.max(now, this.lastFrame + (urgency === 'routine' ? this.routineMs : this.minInterval));
    if (this.timer) {
      if (due >= this.due) return;
      clearTimeout(this.timer);
    }
    this.due = due;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.frame();
    }, due - now);
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
