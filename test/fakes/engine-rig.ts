/**
 * TEST RIG: a real `JobEngine` (real JobLocks, the real file store on a temp directory) on the
 * fake runtime and a fake clock, for the engine's unit tests. The agent "process" can die
 * (see FakeRuntime.dieAt / MortalStore.dieAtNextWrite) and `restart()` starts a fresh engine on
 * the same runtime and store, like a restarted agent on the same Docker engine and data dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { JobEngine } from '../../agent/jobs/engine.js';
import type { OperationOptions } from '../../agent/jobs/service.js';
import { silentLogger } from '../../agent/logger.js';
import { ProxyManager } from '../../agent/proxy/manager.js';
import { FileJobStateStore, MemoryJobStateStore } from '../../agent/store/job-store.js';
import { LABEL_ENTRY, LABEL_REPLICA, LABEL_VERSION } from '../../src/core/labels.js';
import type { AgentPolicy } from '../../src/core/policy.js';
import type { OperationResult, ProgressLine } from '../../src/protocol/api.js';
import type { JobSpec } from '../../src/protocol/job.js';
import { FakeClock, FakeRuntime, type FakeRuntimeOptions } from './container-runtime.js';
import { MortalStore } from './job-store.js';
import { FakeProxy } from './proxy.js';

export interface RigOptions {
  runtime?: Omit<FakeRuntimeOptions, 'now' | 'sleep'>;
  policy?: AgentPolicy;
  pollMs?: number;
  concurrency?: number;
  /** Keep the history in memory instead of files on a temp dir (for many short runs). */
  memoryStore?: boolean;
  /** Give the engine a node proxy (a real ProxyManager over the in-memory FakeProxy). */
  proxy?: boolean;
}

export interface Ran {
  result: OperationResult;
  lines: ProgressLine[];
  /** Fake time at which each progress line was reported. */
  at: number[];
}

export interface RigContainer {
  id: string;
  name: string;
  version: string | null;
  entry: string | null;
  replica: string | null;
  state: string;
}

export class EngineRig {
  readonly dir: string;
  readonly clock = new FakeClock();
  readonly runtime: FakeRuntime;
  readonly store: MortalStore;
  engine: JobEngine;
  /** The node proxy (with `proxy: true`). */
  readonly proxy: FakeProxy | null;
  private proxyDir = '';

  constructor(private readonly options: RigOptions = {}) {
    this.dir = options.memoryStore ? '' : mkdtempSync(join(tmpdir(), 'dokkup-engine-'));
    this.runtime = new FakeRuntime({ ...options.runtime, now: this.clock.now, sleep: this.clock.sleep });
    this.proxy = options.proxy ? new FakeProxy(this.runtime) : null;
    if (this.proxy) this.proxyDir = mkdtempSync(join(tmpdir(), 'dokkup-proxy-'));
    this.store = new MortalStore(
      options.memoryStore ? new MemoryJobStateStore() : new FileJobStateStore(this.dir),
      this.runtime,
    );
    this.engine = this.makeEngine(options.policy);
  }

  private makeEngine(policy = this.options.policy): JobEngine {
    return new JobEngine({
      runtime: this.runtime,
      store: this.store,
      logger: silentLogger(),
      agentVersion: '0.0.0-test',
      hostname: 'n1',
      now: this.clock.now,
      sleep: this.clock.sleep,
      pollMs: this.options.pollMs ?? 250,
      ...(this.options.concurrency ? { concurrency: this.options.concurrency } : {}),
      ...(policy ? { policy } : {}),
      ...(this.proxy
        ? {
            proxy: new ProxyManager({
              host: this.proxy,
              admin: this.proxy,
              stateDir: this.proxyDir,
              image: 'caddy:test',
              logger: silentLogger(),
              now: this.clock.now,
              sleep: this.clock.sleep,
            }),
          }
        : {}),
    });
  }

  /** A new agent process on the same engine and data directory (optionally with another policy). */
  restart(policy?: AgentPolicy): JobEngine {
    this.runtime.revive();
    this.runtime.clearFaults();
    this.engine = this.makeEngine(policy ?? this.options.policy);
    return this.engine;
  }

  private collect(op: (progress: (l: ProgressLine) => void) => Promise<OperationResult>): Promise<Ran> {
    const lines: ProgressLine[] = [];
    const at: number[] = [];
    return op((l) => {
      lines.push(l);
      at.push(this.clock.now());
    }).then((result) => ({ result, lines, at }));
  }

  deploy(spec: JobSpec, options?: OperationOptions): Promise<Ran> {
    return this.collect((p) => this.engine.deploy(spec, p, options));
  }

  rollback(job: string, to?: string, options?: OperationOptions): Promise<Ran> {
    return this.collect((p) => this.engine.rollback(job, to, p, options));
  }

  stop(job: string, purge = false): Promise<Ran> {
    return this.collect((p) => this.engine.stop(job, purge, p));
  }

  /** The job's containers now: id, version, state, and (jobs with named entries) entry and replica. */
  containers(): RigContainer[] {
    return this.runtime.all().map((c) => ({
      id: c.id,
      name: c.name,
      version: c.labels[LABEL_VERSION] ?? null,
      entry: c.labels[LABEL_ENTRY] ?? null,
      replica: c.labels[LABEL_REPLICA] ?? null,
      state: c.state,
    }));
  }

  /** The containers grouped by replica label (a container without one is a replica of its own). */
  replicas(): RigContainer[][] {
    const by = new Map<string, RigContainer[]>();
    for (const c of this.containers()) {
      const key = c.replica ?? c.id;
      by.set(key, [...(by.get(key) ?? []), c]);
    }
    return [...by.values()];
  }

  ids(filter: { version?: string; state?: string } = {}): string[] {
    return this.containers()
      .filter(
        (c) =>
          (filter.version === undefined || c.version === filter.version) &&
          (filter.state === undefined || c.state === filter.state),
      )
      .map((c) => c.id)
      .sort();
  }

  cleanup(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    if (this.proxyDir) rmSync(this.proxyDir, { recursive: true, force: true });
  }
}

/**
 * A test file's rigs: the returned function makes one, and every rig made during a test is
 * cleaned up after it.
 */
export function engineRigs(): (...args: ConstructorParameters<typeof EngineRig>) => EngineRig {
  const rigs: EngineRig[] = [];
  afterEach(() => {
    for (const r of rigs.splice(0)) r.cleanup();
  });
  return (...args) => {
    const r = new EngineRig(...args);
    rigs.push(r);
    return r;
  };
}
