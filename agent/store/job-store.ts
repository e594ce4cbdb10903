/**
 * Where the agent keeps each job's history of deployed specs (`<dataDir>/jobs/<job>.json`).
 * The file is a boundary like any request: validated on read, and a damaged one is set aside
 * rather than crashing the agent or being silently overwritten.
 */
import { readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DokkupError } from '../../src/core/errors.js';
import { JOB_NAME_PATTERN } from '../../src/protocol/job.js';
import { parseJson, parseValue } from '../../src/protocol/parse.js';
import { type JobState, JobStateSchema } from '../../src/protocol/state.js';
import {
  ensurePrivateDirectory,
  removeStaleTempFiles,
  syncDirectory,
  writeFileAtomic,
} from './atomic-file.js';

export interface JobStateStore {
  /** The job's state, or null when there is none (never written, removed, or found corrupt). */
  read(job: string): Promise<JobState | null>;
  /** Replaces the job's state atomically. */
  write(state: JobState): Promise<void>;
  /** Forgets the job (a no-op when there is nothing stored). */
  remove(job: string): Promise<void>;
  /** Names of the jobs with stored state, sorted. */
  list(): Promise<string[]>;
}

/** Just what the store logs; a pino logger fits. */
export interface StoreLogger {
  warn(details: object, message: string): void;
}

/** Job names become file names: anything outside the pattern could escape the directory. */
export function assertJobName(job: string): void {
  if (typeof job !== 'string' || !JOB_NAME_PATTERN.test(job)) {
    throw new DokkupError('invalid_request', `invalid job name ${JSON.stringify(job)}`, 'name');
  }
}

function validateState(state: JobState): JobState {
  assertJobName(state.job);
  const parsed = parseValue(state, JobStateSchema);
  if (!parsed.ok) {
    const { path, message } = parsed.problem;
    throw new DokkupError(
      'internal',
      `refusing to store an invalid state for job ${state.job}: ${path}: ${message}`,
    );
  }
  return parsed.value;
}

export class FileJobStateStore implements JobStateStore {
  readonly jobsDir: string;
  private ready: Promise<void> | undefined;

  /** `dataDir` is the agent's data directory; job files live in its `jobs/` folder. */
  constructor(
    dataDir: string,
    private readonly logger?: StoreLogger,
    private readonly now: () => number = Date.now,
  ) {
    this.jobsDir = join(dataDir, 'jobs');
  }

  private ensureReady(): Promise<void> {
    this.ready ??= (async () => {
      await ensurePrivateDirectory(this.jobsDir);
      // One agent per data directory: any temp file present now belongs to a write that died.
      const removed = await removeStaleTempFiles(this.jobsDir);
      if (removed.length > 0) {
        this.logger?.warn({ files: removed }, 'removed temp files left by an interrupted write');
      }
    })().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  private fileOf(job: string): string {
    assertJobName(job);
    return join(this.jobsDir, `${job}.json`);
  }

  async read(job: string): Promise<JobState | null> {
    const file = this.fileOf(job);
    await this.ensureReady();
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const checked = this.check(job, text);
    if ('state' in checked) return checked.state;
    const aside = `${file}.corrupt-${this.now()}`;
    await rename(file, aside);
    await syncDirectory(this.jobsDir);
    this.logger?.warn(
      { job, file, movedTo: aside, problem: checked.problem },
      'job state file is corrupt; moved it aside',
    );
    return null;
  }

  private check(job: string, text: string): { state: JobState } | { problem: string } {
    const parsed = parseJson(text, JobStateSchema);
    if (!parsed.ok) {
      const { kind, path, message } = parsed.problem;
      return { problem: kind === 'syntax' ? `not JSON: ${message}` : `${path || '(root)'}: ${message}` };
    }
    if (parsed.value.job !== job)
      return { problem: `holds job ${JSON.stringify(parsed.value.job)}, not ${job}` };
    return { state: parsed.value };
  }

  async write(state: JobState): Promise<void> {
    const valid = validateState(state);
    const file = this.fileOf(valid.job);
    await this.ensureReady();
    await writeFileAtomic(file, `${JSON.stringify(valid, null, 2)}\n`, 0o600);
  }

  async remove(job: string): Promise<void> {
    const file = this.fileOf(job);
    await this.ensureReady();
    await rm(file, { force: true });
    await syncDirectory(this.jobsDir);
  }

  async list(): Promise<string[]> {
    await this.ensureReady();
    const jobs: string[] = [];
    for (const name of await readdir(this.jobsDir)) {
      if (!name.endsWith('.json')) continue;
      const job = name.slice(0, -'.json'.length);
      if (JOB_NAME_PATTERN.test(job)) jobs.push(job);
    }
    return jobs.sort();
  }
}

/** In-memory store for the fan-out simulator and unit tests. Same validation as the file store. */
export class MemoryJobStateStore implements JobStateStore {
  private readonly states = new Map<string, JobState>();

  async read(job: string): Promise<JobState | null> {
    assertJobName(job);
    const state = this.states.get(job);
    return state ? structuredClone(state) : null;
  }

  async write(state: JobState): Promise<void> {
    const valid = validateState(state);
    this.states.set(valid.job, structuredClone(valid));
  }

  async remove(job: string): Promise<void> {
    assertJobName(job);
    this.states.delete(job);
  }

  async list(): Promise<string[]> {
    return [...this.states.keys()].sort();
  }
}
