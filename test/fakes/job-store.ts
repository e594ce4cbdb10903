/**
 * TEST DOUBLE: a `JobStateStore` that shares the fate of a `FakeRuntime`'s "process": once the
 * process died, every call throws `ProcessDeath` and changes nothing. It can also be the place the
 * process dies: at the next write, before or after the write takes effect (a kill -9 just before
 * or just after the history commit).
 */
import type { JobStateStore } from '../../agent/store/job-store.js';
import type { JobState } from '../../src/protocol/state.js';
import type { FakeRuntime } from './container-runtime.js';

export class MortalStore implements JobStateStore {
  private dieOnWrite: 'before' | 'after' | null = null;
  /** Every state written, in order (what the history went through). */
  readonly writes: JobState[] = [];

  constructor(
    private readonly inner: JobStateStore,
    private readonly runtime: FakeRuntime,
  ) {}

  /** The process dies at the next write: `before` it takes effect, or right `after`. */
  dieAtNextWrite(when: 'before' | 'after'): void {
    this.dieOnWrite = when;
  }

  /** Forgets a `dieAtNextWrite` that has not fired. */
  clearFault(): void {
    this.dieOnWrite = null;
  }

  async read(job: string): Promise<JobState | null> {
    this.runtime.assertAlive(`read ${job}`);
    return this.inner.read(job);
  }

  async write(state: JobState): Promise<void> {
    this.runtime.assertAlive(`write ${state.job}`);
    const when = this.dieOnWrite;
    this.dieOnWrite = null;
    if (when === 'before') this.runtime.kill();
    this.runtime.assertAlive(`write ${state.job}`);
    await this.inner.write(state);
    this.writes.push(state);
    if (when === 'after') {
      this.runtime.kill();
      this.runtime.assertAlive(`write ${state.job}`);
    }
  }

  async remove(job: string): Promise<void> {
    this.runtime.assertAlive(`remove ${job}`);
    return this.inner.remove(job);
  }

  async list(): Promise<string[]> {
    this.runtime.assertAlive('list');
    return this.inner.list();
  }
}
