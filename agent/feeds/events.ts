/**
 * `events`: Docker events of dokkup containers and the agent's own operation events, one frame
 * per event, optionally for one job.
 */
import type { AgentFrame, EventsParams, FeedEvent } from '../../src/protocol/feeds.js';
import { approximateBytes, type FeedLimits, Subscription } from './subscription.js';

export class EventsSubscription extends Subscription<FeedEvent, EventsParams> {
  readonly topic = 'events';

  protected queueLimits(limits: FeedLimits) {
    return limits.eventQueue;
  }

  async start(): Promise<void> {
    const job = this.params.job;
    const deliver = (event: FeedEvent) => {
      if (this.stopped || (job !== undefined && event.job !== job)) return;
      this.queue.push(event, approximateBytes(event));
      this.ctx.wake();
    };
    this.hold(this.ctx.hub.onContainerEvent(deliver));
    this.hold(this.ctx.hub.onOperationEvent(deliver));
    await this.whenDockerEventsReady();
    this.ack();
  }

  protected itemFrame(event: FeedEvent): AgentFrame {
    return { type: 'event', id: this.id, event };
  }
}
