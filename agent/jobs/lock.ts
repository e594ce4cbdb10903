import { JobBusyError } from '../../src/core/errors.js';

/**
 * One operation per job at a time on a node. A second deploy of the same job is refused at once
 * (clearly, with what is running and since when) rather than queued: an operator who started it
 * twice by mistake should find out, not get a surprise second rollout later.
 */
export class JobLocks {
  private readonly held = new Map<string, { operation: string; since: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Takes the lock synchronously (no await before it), so two requests cannot both win. */
  acquire(job: string, operation: string): () => void {
    const holder = this.held.get(job);
    if (holder) throw new JobBusyError(job, holder.operation, this.now() - holder.since);
    const entry = { operation, since: this.now() };
    this.held.set(job, entry);
    return () => {
      if (this.held.get(job) === entry) this.held.delete(job);
    };
  }

  get size(): number {
    return this.held.size;
  }
}
