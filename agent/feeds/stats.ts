/**
 * `stats`: every `intervalMs`, one batch with the latest reading of each running dokkup
 * container (of one job, when asked). Readings come from the hub's shared Docker streams. A
 * batch not yet sent when the next one is due is replaced, and counted as dropped.
 */
import type { AgentFrame, StatsBatch, StatsParams } from '../../src/protocol/feeds.js';
import { STATS_DEFAULT_INTERVAL_MS } from '../../src/protocol/feeds.js';
import { Subscription } from './subscription.js';

const FIRST_BATCH_POLL_MS = 100;

export class StatsSubscription extends Subscription<never, StatsParams> {
  readonly topic = 'stats';
  private timer: NodeJS.Timeout | null = null;
  private pending: StatsBatch | null = null;
  private droppedBatches = 0;

  protected queueLimits() {
    // Only control frames go through the queue; batches use the single `pending` slot.
    return { maxItems: 0, maxBytes: 0 };
  }

  async start(): Promise<void> {
    this.hold(this.ctx.hub.acquireStats());
    await this.whenDockerEventsReady();
    await this.ctx.hub.whenStatsReady();
    if (this.stopped) return;
    this.ack();
    this.scheduleFirst(Date.now() + this.ctx.limits.firstStatsMaxWaitMs);
  }

  /**
   * The first batch goes out as soon as every container has a CPU figure (Docker needs two
   * readings, about a second apart), so a one-shot reader such as `dokkup top` can take it.
   */
  private scheduleFirst(deadline: number): void {
    if (this.stopped) return;
    const snapshot = this.ctx.hub.statsSnapshot(this.params.job);
    if (snapshot.complete || Date.now() >= deadline) {
      this.offer({ at: Date.now(), containers: snapshot.containers });
      const interval = this.params.intervalMs ?? STATS_DEFAULT_INTERVAL_MS;
      this.timer = setInterval(() => {
        this.offer({ at: Date.now(), containers: this.ctx.hub.statsSnapshot(this.params.job).containers });
      }, interval);
      return;
    }
    this.timer = setTimeout(() => this.scheduleFirst(deadline), FIRST_BATCH_POLL_MS);
  }

  private offer(batch: StatsBatch): void {
    if (this.stopped) return;
    if (this.pending) this.droppedBatches++;
    this.pending = batch;
    this.ctx.wake();
  }

  override nextFrame(): AgentFrame | null {
    const control = super.nextFrame();
    if (control) return control;
    if (this.droppedBatches > 0) {
      const count = this.droppedBatches;
      this.droppedBatches = 0;
      return { type: 'dropped', id: this.id, count };
    }
    if (this.pending) {
      const batch = this.pending;
      this.pending = null;
      return { type: 'stats', id: this.id, batch };
    }
    return null;
  }

  protected override release(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      clearInterval(this.timer);
    }
    this.timer = null;
    this.pending = null;
  }

  protected itemFrame(value: never): AgentFrame {
    return value;
  }
}
