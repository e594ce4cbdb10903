/**
 * `summary`: what a fleet view needs of this node, at a low rate, so that a control center over
 * ten thousand nodes never has to ask each one over HTTP: the agent's info, its job list, the
 * containers dokkup does not manage, and the usage of its dokkup containers summed.
 *
 * The first summary carries everything. After that one goes out every `intervalMs` with the
 * usage, carrying info / jobs / others only when they changed; a change of the job list (a
 * container event, an operation done) brings the next one forward (at most one a second), so a
 * client sees a deploy without polling (a client that follows the events itself may ask for
 * container events to wait for the interval: `containerEvents: 'at-interval'`). Nothing changed
 * at all: nothing is sent. A summary not yet sent when the next one is ready is merged into it
 * (the parts it carried are kept).
 */
import type { AgentInfo, ContainerInfo, JobStatus } from '../../src/protocol/api.js';
import type { AgentFrame, NodeSummary, NodeUsage } from '../../src/protocol/feeds.js';
import { SUMMARY_DEFAULT_INTERVAL_MS } from '../../src/protocol/feeds.js';
import { Subscription, type SubscriptionContext } from './subscription.js';

/** Where the info and the lists come from: the job engine (the same answers as the HTTP routes). */
export interface SummarySource {
  info(): Promise<AgentInfo>;
  listJobs(): Promise<{ jobs: JobStatus[] }>;
  listContainers(): Promise<{ containers: ContainerInfo[] }>;
  /**
   * Changes of the job list that come with no container event or operation (a lease taken or
   * given back, a canary promoted): the listener brings the next summary forward.
   */
  onJobsChanged?(listener: () => void): () => void;
}

/** A change of the job list is sent this long after it was seen (changes meanwhile join it). */
export const SUMMARY_CHANGE_DELAY_MS = 1_000;
/** The lists are read again every this many intervals even without a change seen (missed events). */
const RESYNC_EVERY = 10;

type Params = { intervalMs?: number | undefined; containerEvents?: 'soon' | 'at-interval' | undefined };

export class SummarySubscription extends Subscription<never, Params> {
  readonly topic = 'summary';
  private timer: NodeJS.Timeout | null = null;
  private soon: NodeJS.Timeout | null = null;
  private pending: NodeSummary | null = null;
  /** What was last sent, as JSON, to send only what changed. */
  private readonly last = { info: '', jobs: '', others: '', usage: '' };
  /** The lists must be read again (something changed, or nothing was read yet). */
  private dirty = true;
  private ticks = 0;
  private building: Promise<void> | null = null;
  private again = false;

  constructor(
    id: string,
    ctx: SubscriptionContext,
    private readonly source: SummarySource,
    params: Params,
  ) {
    super(id, ctx, params);
  }

  protected queueLimits() {
    // Only control frames go through the queue; summaries use the single `pending` slot.
    return { maxItems: 0, maxBytes: 0 };
  }

  async start(): Promise<void> {
    const hub = this.ctx.hub;
    this.hold(hub.acquireStats());
    this.hold(
      hub.onContainerEvent((event) => {
        // Stats come and go with these; a health change or a restart changes the job list too.
        if (event.action === 'update') return;
        if (this.params.containerEvents === 'at-interval') this.dirty = true;
        else this.changed();
      }),
    );
    this.hold(
      hub.onOperationEvent((event) => {
        if (event.type === 'operation-done') this.changed();
      }),
    );
    const unlisten = this.source.onJobsChanged?.(() => this.changed());
    if (unlisten) this.hold(unlisten);
    await this.whenDockerEventsReady();
    await hub.whenStatsReady();
    if (this.stopped) return;
    this.ack();
    await this.build();
    if (this.stopped) return;
    this.timer = setInterval(() => {
      if (++this.ticks % RESYNC_EVERY === 0) this.dirty = true;
      void this.build();
    }, this.params.intervalMs ?? SUMMARY_DEFAULT_INTERVAL_MS);
  }

  private changed(): void {
    this.dirty = true;
    if (this.soon || this.stopped) return;
    this.soon = setTimeout(() => {
      this.soon = null;
      void this.build();
    }, SUMMARY_CHANGE_DELAY_MS);
  }

  /** Makes the next summary (one at a time: a request while one is built makes one more after it). */
  private build(): Promise<void> {
    if (this.building) {
      this.again = true;
      return this.building;
    }
    this.building = this.make().finally(() => {
      this.building = null;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.build();
      }
    });
    return this.building;
  }

  private async make(): Promise<void> {
    if (this.stopped) return;
    const summary: NodeSummary = { at: Date.now(), usage: this.usage() };
    if (this.dirty) {
      this.dirty = false;
      try {
        const [info, jobs, containers] = await Promise.all([
          this.source.info(),
          this.source.listJobs(),
          this.source.listContainers(),
        ]);
        if (this.stopped) return;
        const others = containers.containers.filter((c) => c.job === '');
        if (this.differs('info', info)) summary.info = info;
        if (this.differs('jobs', jobs.jobs)) summary.jobs = jobs.jobs;
        if (this.differs('others', others)) summary.others = others;
      } catch (error) {
        // Docker not answering: the usage still goes out; the lists are read again next time.
        this.dirty = true;
        this.ctx.logger.debug({ error: String(error) }, 'summary: listing failed');
      }
      summary.at = Date.now();
    }
    const usageChanged = this.differs('usage', summary.usage);
    if (!usageChanged && !summary.info && !summary.jobs && !summary.others) return;
    this.offer(summary);
  }

  /** Whether `value` differs from what was last sent as `part` (and remembers it). */
  private differs(part: keyof SummarySubscription['last'], value: unknown): boolean {
    const json = JSON.stringify(value);
    if (json === this.last[part]) return false;
    this.last[part] = json;
    return true;
  }

  /** The dokkup containers' readings summed; null while Docker has not reported on them yet. */
  private usage(): NodeUsage | null {
    const snapshot = this.ctx.hub.statsSnapshot();
    if (snapshot.containers.length === 0 && !snapshot.complete) return null;
    let cpuPercent = 0;
    let memoryUsage = 0;
    for (const c of snapshot.containers) {
      cpuPercent += c.cpuPercent;
      memoryUsage += c.memoryUsage;
    }
    // At the resolution a view shows them, so that noise is not a change.
    return {
      cpuPercent: Math.round(cpuPercent * 10) / 10,
      memoryUsage: Math.round(memoryUsage / 65_536) * 65_536,
      containers: snapshot.containers.length,
    };
  }

  private offer(summary: NodeSummary): void {
    if (this.stopped) return;
    // Not sent yet: the new one takes its place, keeping the parts only the old one carried.
    this.pending = this.pending ? { ...this.pending, ...summary } : summary;
    this.ctx.wake();
  }

  override nextFrame(): AgentFrame | null {
    const control = super.nextFrame();
    if (control) return control;
    if (!this.pending) return null;
    const summary = this.pending;
    this.pending = null;
    return { type: 'summary', id: this.id, summary };
  }

  protected override release(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    this.timer = null;
    this.soon = null;
    this.pending = null;
  }

  protected itemFrame(value: never): AgentFrame {
    return value;
  }
}
