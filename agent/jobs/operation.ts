/**
 * The operation envelope: every deploy, rollback and stop runs inside it. It takes the job's lock
 * (refusing a second operation at once), publishes start / progress / done for the live feeds,
 * keeps a client that went away from aborting the work, and turns any failure into an
 * `ok: false` result that says what the failure left on the node.
 */
import type { Logger } from 'pino';
import { DokkupError } from '../../src/core/errors.js';
import type { OperationResult, Plan } from '../../src/protocol/api.js';
import type { ContainerRuntime } from '../docker/runtime.js';
import type { OperationMarks } from './executor.js';
import { JobLocks } from './lock.js';
import { containersOf } from './observe.js';
import type { OperationEvent, OperationHooks, OperationListener, ProgressSink } from './service.js';

export type OperationKind = 'deploy' | 'rollback' | 'stop';

/** What a failed operation left on the node (see `OperationResult.restored` / `committed`). */
export interface FailureState {
  /** The previous version was left (or put back) running. */
  restored: boolean;
  /** The new version was committed to the history (it is what runs); the failure came after. */
  committed?: boolean;
}

/** A failure whose effect on the node the executor knows (otherwise nothing was touched). */
export class OperationFailed extends DokkupError {
  constructor(
    override readonly cause: DokkupError,
    readonly state: FailureState,
    message: string = cause.message,
  ) {
    super(cause.code, message);
  }
}

/** The error as a DokkupError (anything else is an internal error). */
export function asDokkupError(err: unknown): DokkupError {
  return err instanceof DokkupError
    ? err
    : new DokkupError('internal', (err as Error)?.message ?? String(err));
}

export interface OperationEnvelopeOptions {
  runtime: ContainerRuntime;
  logger: Logger;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/**
 * The body of an operation: reports progress, names its plan once made, marks its milestones,
 * returns the result.
 */
export type OperationBody = (
  report: ProgressSink,
  planned: (plan: Plan) => void,
  marks: OperationMarks,
) => Promise<OperationResult>;

export class OperationEnvelope {
  private readonly locks: JobLocks;
  private readonly listeners = new Set<OperationListener>();
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly opts: OperationEnvelopeOptions) {
    this.locks = new JobLocks(opts.now);
  }

  onOperation(listener: OperationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when no operation is running (or after `timeoutMs`): for a graceful shutdown. */
  async drain(timeoutMs: number): Promise<boolean> {
    const { now, sleep } = this.opts;
    const deadline = now() + timeoutMs;
    while (this.inFlight.size > 0) {
      if (now() > deadline) return false;
      await Promise.race([sleep(100), ...this.inFlight]);
    }
    return true;
  }

  get busy(): number {
    return this.inFlight.size;
  }

  /**
   * Runs `fn` holding the job's lock (refused with `job_busy` while an operation runs): a short
   * change of the node's records (a promotion) that runs no containers and publishes no events.
   * It counts as running for a drain.
   */
  exclusive<T>(job: string, operation: string, fn: () => Promise<T>): Promise<T> {
    let release: () => void;
    try {
      release = this.locks.acquire(job, operation);
    } catch (err) {
      return Promise.reject(err);
    }
    const run = (async () => {
      try {
        return await fn();
      } finally {
        release();
      }
    })();
    const settled = run.then(
      () => {},
      () => {},
    );
    this.inFlight.add(settled);
    void settled.finally(() => this.inFlight.delete(settled));
    return run;
  }

  /**
   * Lock, publish start/progress/done, turn any failure into an `ok: false` result. A `precheck`
   * runs first, before the lock (it counts as running for a drain): when it throws, the
   * operation is refused as a whole — the promise rejects and nothing else happens.
   */
  run(
    job: string,
    operation: OperationKind,
    progress: ProgressSink,
    body: OperationBody,
    hooks: OperationHooks = {},
    precheck?: () => Promise<void>,
  ): Promise<OperationResult> {
    if (!precheck) return this.runLocked(job, operation, progress, body, hooks);
    const run = precheck().then(() => this.runLocked(job, operation, progress, body, hooks));
    const settled = run.then(
      () => {},
      () => {},
    );
    this.inFlight.add(settled);
    void settled.finally(() => this.inFlight.delete(settled));
    return run;
  }

  private runLocked(
    job: string,
    operation: OperationKind,
    progress: ProgressSink,
    body: OperationBody,
    hooks: OperationHooks,
  ): Promise<OperationResult> {
    const { logger: log, now } = this.opts;
    let release: () => void;
    try {
      release = this.locks.acquire(job, operation);
    } catch (err) {
      return Promise.resolve(this.failure(job, operation, asDokkupError(err), { restored: false }));
    }
    const report: ProgressSink = (line) => {
      try {
        progress(line);
      } catch {
        // A client that went away must not abort the operation.
      }
      this.publish({ type: 'operation-progress', job, line, at: now() });
    };
    this.publish({ type: 'operation-start', job, operation, at: now() });
    log.info({ job, operation }, 'operation started');
    let plan: Plan | null = null;
    const startedAt = now();
    let cutoverAt: number | undefined;
    const marks: OperationMarks = {
      cutover: () => {
        cutoverAt ??= now();
      },
    };
    const run = (async () => {
      let result: OperationResult;
      try {
        result = await body(
          report,
          (p) => {
            plan = p;
            try {
              hooks.onPlan?.(p);
            } catch {
              // An observer must not abort the operation.
            }
          },
          marks,
        );
      } catch (err) {
        if (!(err instanceof DokkupError)) log.error({ err, job, operation }, 'operation crashed');
        // Without word from the executor nothing was touched yet: the previous version runs.
        const state = err instanceof OperationFailed ? err.state : { restored: true };
        result = this.failure(job, operation, asDokkupError(err), state, plan);
        // What is on the node now, so the summary can say what is still serving.
        try {
          const after = await containersOf(this.opts.runtime, job);
          result.running = after.filter((c) => c.state === 'running').length;
          result.total = after.length;
        } catch {
          // Docker itself failing is already the error being reported.
        }
      } finally {
        release();
      }
      if (cutoverAt !== undefined) result.cutoverMs = Math.round(cutoverAt - startedAt);
      result.durationMs = Math.round(now() - startedAt);
      log[result.ok ? 'info' : 'warn']({ job, operation, result }, 'operation finished');
      this.publish({ type: 'operation-done', job, result, at: now() });
      return result;
    })();
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
    return run;
  }

  private publish(event: OperationEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        this.opts.logger.warn({ err }, 'operation listener failed');
      }
    }
  }

  private failure(
    job: string,
    operation: OperationKind,
    err: DokkupError,
    state: FailureState,
    plan: Plan | null = null,
  ): OperationResult {
    this.opts.logger.debug({ job, operation, code: err.code }, 'operation failed');
    const cause = err instanceof OperationFailed ? err.cause : err;
    return {
      ok: false,
      action: plan?.action ?? (operation === 'deploy' ? 'update' : operation),
      message: err.message,
      versionFrom: plan?.versionFrom ?? null,
      versionTo: plan?.versionTo ?? null,
      running: 0,
      total: 0,
      restored: state.restored,
      ...(state.committed ? { committed: true } : {}),
      error: { code: cause.code, message: cause.message, ...(cause.path ? { path: cause.path } : {}) },
    };
  }
}
