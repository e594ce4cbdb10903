/**
 * `events`: Docker events of dokkup containers and the agent's own operation events, one frame
 * per event, optionally for one job.
 */
import { DokkupError } from '../../src/core/errors.js';
import type { AgentFrame, EventsParams, FeedEvent } from '../../src/protocol/feeds.js';
import { approximateBytes, Subscription, type SubscriptionContext } from './subscription.js';

export class EventsSubscription extends Subscription<FeedEvent> {
  private unsubscribers: (() => void)[] = [];

  constructor(
    id: string,
    ctx: SubscriptionContext,
    private readonly params: EventsParams,
  ) {
    super(id, 'events', ctx, ctx.limits.eventQueue);
  }

  async start(): Promise<void> {
    const job = this.params.job;
    const deliver = (event: FeedEvent) => {
      if (this.stopped || (job !== undefined && event.job !== job)) return;
      this.queue.push(event, approximateBytes(event));
      this.ctx.wake();
    };
    this.unsubscribers.push(this.ctx.hub.onContainerEvent(deliver));
    this.unsubscribers.push(this.ctx.hub.onOperationEvent(deliver));
    try {
      // Acknowledge only once Docker's stream is open: whatever happens after the ack is seen.
      await this.ctx.hub.whenEventsReady(this.ctx.limits.dockerReadyTimeoutMs);
    } catch (error) {
      throw new DokkupError('docker_unavailable', (error as Error).message);
    }
    this.ack();
  }

  protected release(): void {
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
  }

  protected itemFrame(event: FeedEvent): AgentFrame {
    return { type: 'event', id: this.id, event };
  }
}
