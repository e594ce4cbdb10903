/**
 * TEST DOUBLE: an in-memory `ContainerRuntime` for unit tests of the job engine and for the
 * fan-out simulator (test/sim). Containers are records in a map; nothing talks to Docker and
 * nothing here proves anything about Docker (the Docker-backed tests under test/ do that).
 *
 * What it offers beyond "everything runs at once":
 * - an injected clock (milliseconds): containers' scripted behaviour (exit, crash-and-restart,
 *   turn unhealthy, stay `starting`) happens after N ms of that clock, read lazily;
 * - per-call fault injection: the k-th call of an operation (or the calls a predicate picks)
 *   fails like Docker would, or the "process dies" there (`ProcessDeath`: from then on every call
 *   throws and changes nothing, until `revive()` — a new agent process on the same engine);
 * - a hook after every call, so a test can check what was running at each step;
 * - fixed host ports are exclusive, as on a real engine: a second running container cannot bind one;
 * - a list that lags behind stops (`lagListAfterStop`), like Docker 26's: inspect is right at once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describePullFailure } from '../../agent/docker/docker.js';
import type {
  ContainerInspect,
  ContainerRuntime,
  CreateContainerRequest,
  EngineInfo,
  PullProgress,
  RuntimeContainer,
} from '../../agent/docker/runtime.js';
import { DokkupError } from '../../src/core/errors.js';
import type { ErrorCode, Health } from '../../src/protocol/api.js';
import type { RegistryAuth } from '../../src/protocol/registry.js';

/** What a started container does over time (default: runs; healthy at once if it has a check). */
export type ContainerScript =
  | { kind: 'runs' }
  /** Exits with `code` `afterMs` after it started. */
  | { kind: 'exits'; afterMs: number; code: number }
  /** Crashes `afterMs` after it started and Docker restarts it (restart count 1, running again). */
  | { kind: 'restarts'; afterMs: number }
  /** Health check: `starting`, then `unhealthy` from `afterMs` on. */
  | { kind: 'unhealthy'; afterMs: number }
  /** Health check: `starting`, then `healthy` from `afterMs` on (Infinity: never). */
  | { kind: 'healthy'; afterMs: number };

export type RuntimeOp =
  | 'info'
  | 'list'
  | 'inspect'
  | 'imageId'
  | 'imageHasHealthcheck'
  | 'pull'
  | 'create'
  | 'start'
  | 'stop'
  | 'remove';

/** A container as the fault rules and hooks see it. */
export interface FakeContainerView {
  id: string;
  image: string;
  labels: Record<string, string>;
  /** 1-based order of creation on this runtime. */
  ordinal: number;
}

export interface RuntimeCall {
  /** 1-based, over every call of this runtime. */
  seq: number;
  op: RuntimeOp;
  id?: string;
  /** The container the call is about (for create: the one about to be created, without id). */
  container?: FakeContainerView;
  image?: string;
}

export interface FaultRule {
  op: RuntimeOp;
  /** Fire at the nth call (1-based) of `op` that `when` accepts, counted from when the rule was added. */
  nth?: number;
  when?: (call: RuntimeCall) => boolean;
  /** `fail`: the call throws Docker's usual error for it and has no effect; `die`: ProcessDeath. */
  effect?: 'fail' | 'die';
  /** How many matching calls fire from the nth on (default 1). */
  times?: number;
}

/** Thrown where the test kills the agent process: nothing after it may take effect. */
export class ProcessDeath extends Error {
  override readonly name = 'ProcessDeath';
  constructor(call: RuntimeCall) {
    super(`process died at call ${call.seq} (${call.op}${call.id ? ` ${call.id.slice(0, 12)}` : ''})`);
  }
}

export interface FakeRuntimeOptions {
  /** Images that report a HEALTHCHECK. */
  healthcheckImages?: ReadonlySet<string>;
  /** Image references whose pull fails (like a tag that was never pushed). */
  unpullable?: ReadonlySet<string>;
  /** Images in a registry that wants these credentials (a pull without them is unauthorized). */
  privateImages?: ReadonlyMap<string, { username: string; password: string }>;
  /** Clock in milliseconds; default the real one. */
  now?: () => number;
  /**
   * Waits on that clock. With it, a stop takes time: a container that ignores its stop signal
   * (`ignoreStopSignal`) holds its stop call for the whole grace period, like Docker does before
   * it sends SIGKILL; others stop after `stopMs` (default 0, still a separate turn).
   */
  sleep?: (ms: number) => Promise<void>;
  stopMs?: number;
}

/** One stop call as the fake saw it (times on the injected clock). */
export interface StopRecord {
  id: string;
  image: string;
  timeoutSec: number;
  startedAt: number;
  endedAt: number;
}

interface FakeContainer extends RuntimeContainer {
  ordinal: number;
  /** The network aliases it was created with. */
  aliases: string[];
  /** ms of the fake clock, while running. */
  startedAt: number | null;
  exitCode: number | null;
  restartCount: number;
  hasHealthcheck: boolean;
  script: ContainerScript;
}

interface ActiveFault extends FaultRule {
  seen: number;
  fired: number;
}

let nextHostPort = 32768;

const FAIL_CODE: Partial<Record<RuntimeOp, ErrorCode>> = {
  create: 'create_failed',
  start: 'start_failed',
  pull: 'pull_failed',
};

export class FakeRuntime implements ContainerRuntime {
  private readonly containers = new Map<string, FakeContainer>();
  private readonly images = new Map<string, string>();
  private readonly options: FakeRuntimeOptions;
  private readonly faults: ActiveFault[] = [];
  private readonly imageScripts = new Map<string, ContainerScript>();
  private readonly createScripts = new Map<number, ContainerScript>();
  private seq = 0;
  private created = 0;
  private deadAt: RuntimeCall | null = null;
  private readonly signalIgnoring = new Set<string>();
  private inFlight: Partial<Record<RuntimeOp, number>> = {};
  private listLagsStops = false;
  /** Containers stopped while the list lags: what the list still reports for each. */
  private readonly staleListed = new Map<string, RuntimeContainer>();
  /** The most calls of each operation that were in flight at once (for concurrency tests). */
  readonly maxInFlight: Partial<Record<RuntimeOp, number>> = {};
  /** Every finished stop, in the order they finished. */
  readonly stops: StopRecord[] = [];
  /** Called after every call that got through (not after a failed or dead one). */
  afterCall: ((call: RuntimeCall) => void) | null = null;

  constructor(options: FakeRuntimeOptions = {}) {
    this.options = options;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  // -------------------------------------------------------------------------------------------
  // Scripting and faults

  /** Every container of `image` created from now on follows `script`. */
  scriptImage(image: string, script: ContainerScript): void {
    this.imageScripts.set(image, script);
  }

  /** The nth container created from now on (1-based) follows `script` (before any image script). */
  scriptCreate(nth: number, script: ContainerScript): void {
    this.createScripts.set(this.created + nth, script);
  }

  /** Containers of `image` ignore their stop signal (a server as PID 1): a stop waits out the grace period. */
  ignoreStopSignal(image: string): void {
    this.signalIgnoring.add(image);
  }

  fault(rule: FaultRule): void {
    this.faults.push({ ...rule, seen: 0, fired: 0 });
  }

  /** The k-th create from now on fails. */
  failCreate(k: number): void {
    this.fault({ op: 'create', nth: k });
  }

  /** Starting the k-th container created from now on fails. */
  failStartOfCreated(k: number): void {
    const ordinal = this.created + k;
    this.fault({ op: 'start', when: (c) => c.container?.ordinal === ordinal });
  }

  /** The process dies at the nth call of `op` (that `when` accepts), before it takes effect. */
  dieAt(op: RuntimeOp, nth = 1, when?: (call: RuntimeCall) => boolean): void {
    this.fault({ op, nth, effect: 'die', ...(when ? { when } : {}) });
  }

  /**
   * From now on the list lags behind stops, like Docker 26's (its list is a view updated after the
   * exit was handled): a container stopped while running is listed as it was before its stop
   * (running, its old status) until `catchUpList()`, its start or its removal; inspect is right
   * at once.
   */
  lagListAfterStop(): void {
    this.listLagsStops = true;
  }

  /** The list shows every container as it is again, and lags no more. */
  catchUpList(): void {
    this.listLagsStops = false;
    this.staleListed.clear();
  }

  /** Forgets faults and per-create scripts that have not fired yet. */
  clearFaults(): void {
    this.faults.length = 0;
    this.createScripts.clear();
  }

  /**
   * Containers keep what their script did so far and behave from now on (a step's faults end
   * with the step: a container that passed the gate does not crash later on its own).
   */
  settleScripts(): void {
    for (const c of this.containers.values()) {
      this.advance(c);
      c.script = { kind: 'runs' };
      this.advance(c);
    }
  }

  /** The call at which the process died, or null. */
  get died(): RuntimeCall | null {
    return this.deadAt;
  }

  /** A new agent process on the same engine: calls work again (faults already fired stay spent). */
  revive(): void {
    this.deadAt = null;
  }

  /** Throws ProcessDeath when the process is dead (for test stores that share its fate). */
  assertAlive(what: string): void {
    if (this.deadAt) throw new ProcessDeath({ seq: this.seq, op: 'info', id: what });
  }

  /** Marks the process dead at a point outside the runtime (e.g. a store write). */
  kill(): void {
    this.deadAt ??= { seq: this.seq, op: 'info' };
  }

  private enter(op: RuntimeOp, details: Omit<RuntimeCall, 'seq' | 'op'> = {}): RuntimeCall {
    const call: RuntimeCall = { seq: ++this.seq, op, ...details };
    if (this.deadAt) throw new ProcessDeath(call);
    for (const f of this.faults) {
      if (f.op !== op || (f.when && !f.when(call))) continue;
      f.seen++;
      const nth = f.nth ?? 1;
      if (f.seen < nth || f.fired >= (f.times ?? 1)) continue;
      f.fired++;
      if (f.effect === 'die') {
        this.deadAt = call;
        throw new ProcessDeath(call);
      }
      const code = FAIL_CODE[op] ?? 'internal';
      throw new DokkupError(code, `${op}${call.id ? ` ${call.id.slice(0, 12)}` : ''}: injected fault`);
    }
    return call;
  }

  private leave(call: RuntimeCall): void {
    this.afterCall?.(call);
  }

  private viewOf(c: FakeContainer): FakeContainerView {
    return { id: c.id, image: c.image, labels: c.labels, ordinal: c.ordinal };
  }

  // -------------------------------------------------------------------------------------------
  // ContainerRuntime

  async info(): Promise<EngineInfo> {
    this.leave(this.enter('info'));
    return { version: '0.0.0-sim', apiVersion: '1.45', os: 'linux', arch: 'x64' };
  }

  async listContainers(labels: Record<string, string | true>): Promise<RuntimeContainer[]> {
    const call = this.enter('list');
    const wanted = Object.entries(labels);
    const out: RuntimeContainer[] = [];
    for (const c of this.containers.values()) {
      if (!wanted.every(([k, v]) => (v === true ? k in c.labels : c.labels[k] === v))) continue;
      const stale = this.staleListed.get(c.id);
      out.push(
        stale
          ? { ...stale, labels: { ...stale.labels }, ports: stale.ports.map((p) => ({ ...p })) }
          : this.view(c),
      );
    }
    this.leave(call);
    return out;
  }

  async inspectContainer(id: string): Promise<ContainerInspect> {
    const c = this.containers.get(id);
    const call = this.enter('inspect', { id, ...(c ? { container: this.viewOf(c) } : {}) });
    if (!c) throw new DokkupError('not_found', `container ${id.slice(0, 12)} is gone`);
    this.advance(c);
    this.leave(call);
    return {
      id,
      state: c.state,
      health: c.health,
      exitCode: c.state === 'running' ? null : c.exitCode,
      restartCount: c.restartCount,
      healthLog: c.health === 'unhealthy' ? 'injected: health check failed' : null,
    };
  }

  async imageId(ref: string): Promise<string | null> {
    this.leave(this.enter('imageId', { image: ref }));
    return this.images.get(ref) ?? null;
  }

  async imageHasHealthcheck(ref: string): Promise<boolean> {
    this.leave(this.enter('imageHasHealthcheck', { image: ref }));
    return this.options.healthcheckImages?.has(ref) ?? false;
  }

  /** The image is gone from the engine (`docker image rm`, a prune). */
  forgetImage(ref: string): void {
    this.images.delete(ref);
  }

  /** Networks beyond Docker's built-in three, by name or ID → driver (tests add their own). */
  readonly networks = new Map<string, string>([
    ['bridge', 'bridge'],
    ['host', 'host'],
    ['none', 'null'],
  ]);

  /** Not a counted call: policy look-ups must not shift the fault and kill points of the engine tests. */
  async networkDriver(nameOrId: string): Promise<string | null> {
    return this.networks.get(nameOrId) ?? null;
  }

  /** Named volumes that bind a host path (name → device); tests add their own. */
  readonly bindVolumes = new Map<string, string>();

  /** Not a counted call, like `networkDriver`. */
  async volumeBindDevice(name: string): Promise<string | null> {
    return this.bindVolumes.get(name) ?? null;
  }

  /** Every pull, with the credentials it was given. */
  readonly pulls: { image: string; auth: RegistryAuth | undefined }[] = [];

  async pullImage(ref: string, onProgress: (p: PullProgress) => void, auth?: RegistryAuth): Promise<void> {
    const call = this.enter('pull', { image: ref });
    this.pulls.push({ image: ref, auth });
    if (this.options.unpullable?.has(ref))
      throw new DokkupError('pull_failed', `pulling ${ref}: manifest unknown`);
    const refused = this.refusal(ref, auth);
    if (refused) throw new DokkupError('pull_failed', describePullFailure(ref, refused, auth));
    onProgress({ message: `Pulling ${ref}: done` });
    this.images.set(ref, `sha256:${createHash('sha256').update(ref).digest('hex')}`);
    this.leave(call);
  }

  async checkPull(ref: string, auth?: RegistryAuth): Promise<string | null> {
    if (this.options.unpullable?.has(ref)) return `cannot pull ${ref}: manifest unknown`;
    const refused = this.refusal(ref, auth);
    return refused ? describePullFailure(ref, refused, auth, 'cannot pull') : null;
  }

  /** What the registry of a private image says to `auth`, or null when it serves the image. */
  private refusal(ref: string, auth: RegistryAuth | undefined): string | null {
    const wanted = this.options.privateImages?.get(ref);
    if (!wanted) return null;
    if (!auth) return 'no basic auth credentials';
    if (auth.username !== wanted.username || auth.password !== wanted.password)
      return 'unauthorized: authentication required';
    return null;
  }

  async createContainer(req: CreateContainerRequest): Promise<string> {
    const spec = req.spec;
    const labels = { ...spec.labels, ...req.labels };
    const ordinal = this.created + 1;
    const call = this.enter('create', {
      image: spec.image,
      container: { id: '', image: spec.image, labels, ordinal },
    });
    this.created = ordinal;
    const id = randomBytes(32).toString('hex');
    const test = spec.healthcheck?.test;
    const hasHealthcheck = test
      ? test[0] !== 'NONE'
      : (this.options.healthcheckImages?.has(spec.image) ?? false);
    this.containers.set(id, {
      id,
      name: req.name,
      labels,
      image: spec.image,
      imageId:
        this.images.get(spec.image) ?? `sha256:${createHash('sha256').update(spec.image).digest('hex')}`,
      state: 'created',
      status: 'Created',
      health: 'none',
      ports: spec.ports.map((p) => ({
        privatePort: p.in,
        publicPort: p.out ?? nextHostPort++,
        protocol: p.protocol,
        ip: '0.0.0.0',
      })),
      createdAt: Math.floor(this.now() / 1000),
      ordinal,
      aliases: [...(req.aliases ?? [])],
      startedAt: null,
      exitCode: null,
      restartCount: 0,
      hasHealthcheck,
      script: this.createScripts.get(ordinal) ?? this.imageScripts.get(spec.image) ?? { kind: 'runs' },
    });
    this.leave({ ...call, id });
    return id;
  }

  async startContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    const call = this.enter('start', { id, ...(c ? { container: this.viewOf(c) } : {}) });
    if (!c) throw new DokkupError('start_failed', `starting ${id.slice(0, 12)}: no such container`);
    this.advance(c);
    if (c.state === 'running') return this.leave(call);
    for (const p of c.ports) {
      const taken = [...this.containers.values()].some(
        (o) => o !== c && o.state === 'running' && o.ports.some((q) => q.publicPort === p.publicPort),
      );
      if (taken)
        throw new DokkupError(
          'start_failed',
          `starting ${id.slice(0, 12)}: Bind for 0.0.0.0:${p.publicPort} failed: port is already allocated`,
        );
    }
    this.staleListed.delete(id);
    c.state = 'running';
    c.startedAt = this.now();
    c.exitCode = null;
    c.health = c.hasHealthcheck ? 'starting' : 'none';
    this.advance(c);
    this.leave(call);
  }

  async stopContainer(id: string, timeoutSec: number): Promise<void> {
    const c = this.containers.get(id);
    const call = this.enter('stop', { id, ...(c ? { container: this.viewOf(c) } : {}) });
    const startedAt = this.now();
    if (this.options.sleep && c?.state === 'running') {
      this.inFlight.stop = (this.inFlight.stop ?? 0) + 1;
      this.maxInFlight.stop = Math.max(this.maxInFlight.stop ?? 0, this.inFlight.stop);
      try {
        const ignores = this.signalIgnoring.has(c.image);
        await this.options.sleep(ignores ? timeoutSec * 1000 : (this.options.stopMs ?? 0));
      } finally {
        this.inFlight.stop--;
      }
      if (this.deadAt) throw new ProcessDeath(call);
    }
    if (c) this.stops.push({ id, image: c.image, timeoutSec, startedAt, endedAt: this.now() });
    const listed = c && this.listLagsStops ? this.view(c) : null;
    if (listed?.state === 'running') this.staleListed.set(id, listed);
    if (c) {
      c.state = 'exited';
      c.health = 'none';
      c.startedAt = null;
      c.exitCode = 0;
      c.status = 'Exited (0) Less than a second ago';
    }
    this.leave(call);
  }

  async removeContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    const call = this.enter('remove', { id, ...(c ? { container: this.viewOf(c) } : {}) });
    if (this.options.sleep) {
      // A separate turn (no fake time): enough to see how many removals run at once.
      this.inFlight.remove = (this.inFlight.remove ?? 0) + 1;
      this.maxInFlight.remove = Math.max(this.maxInFlight.remove ?? 0, this.inFlight.remove);
      try {
        await this.options.sleep(0);
      } finally {
        this.inFlight.remove--;
      }
      if (this.deadAt) throw new ProcessDeath(call);
    }
    this.containers.delete(id);
    this.staleListed.delete(id);
    this.leave(call);
  }

  // -------------------------------------------------------------------------------------------
  // For tests

  /** How many containers exist, and how many run. */
  counts(): { running: number; total: number } {
    let running = 0;
    for (const c of this.all()) if (c.state === 'running') running++;
    return { running, total: this.containers.size };
  }

  /** Every container as it is now (scripts applied), oldest first; does not count as a call. */
  all(): (RuntimeContainer & { ordinal: number; restartCount: number; aliases: string[] })[] {
    return [...this.containers.values()]
      .map((c) => {
        this.advance(c);
        return { ...this.view(c), ordinal: c.ordinal, restartCount: c.restartCount, aliases: [...c.aliases] };
      })
      .sort((a, b) => a.ordinal - b.ordinal);
  }

  /** Applies the container's script up to now. */
  private advance(c: FakeContainer): void {
    if (c.state !== 'running' || c.startedAt === null) return;
    const up = this.now() - c.startedAt;
    const s = c.script;
    if (s.kind === 'exits' && up >= s.afterMs) {
      c.state = 'exited';
      c.exitCode = s.code;
      c.health = 'none';
      c.startedAt = null;
      c.status = `Exited (${s.code}) Less than a second ago`;
      return;
    }
    if (s.kind === 'restarts' && up >= s.afterMs && c.restartCount === 0) {
      c.restartCount = 1;
      c.startedAt = c.startedAt + s.afterMs;
    }
    if (!c.hasHealthcheck) return;
    let health: Health = 'healthy';
    if (s.kind === 'unhealthy') health = up >= s.afterMs ? 'unhealthy' : 'starting';
    if (s.kind === 'healthy') health = up >= s.afterMs ? 'healthy' : 'starting';
    c.health = health;
  }

  private view(c: FakeContainer): RuntimeContainer {
    this.advance(c);
    const { startedAt, ordinal, exitCode, restartCount, hasHealthcheck, script, aliases, ...container } = c;
    if (c.state === 'running' && startedAt !== null) {
      const up = Math.max(0, Math.floor((this.now() - startedAt) / 1000));
      const health = c.health === 'none' ? '' : ` (${c.health})`;
      container.status = `Up ${up < 1 ? 'Less than a second' : `${up} seconds`}${health}`;
    }
    return { ...container, labels: { ...container.labels }, ports: container.ports.map((p) => ({ ...p })) };
  }
}

/**
 * A clock for tests: virtual time, no real timer. `sleep(ms)` sets a wake-up at now + ms; once
 * pending work has had its turn (setImmediate), the earliest wake-up fires and time jumps to it.
 * So one sleep advances time by its length, and sleeps that overlap overlap in time too (twenty
 * concurrent 10 s waits take 10 s of this clock, not 200 s).
 */
export class FakeClock {
  private timers: { at: number; seq: number; wake: () => void }[] = [];
  private seq = 0;
  private pumping = false;

  constructor(private t = Date.UTC(2026, 0, 1)) {}
  /** Every sleep asked for, in order. */
  readonly slept: number[] = [];
  readonly now = (): number => this.t;
  readonly sleep = (ms: number): Promise<void> => {
    this.slept.push(ms);
    return new Promise<void>((wake) => {
      this.timers.push({ at: this.t + ms, seq: this.seq++, wake });
      this.schedule();
    });
  };
  advance(ms: number): void {
    this.t += ms;
  }

  private schedule(): void {
    if (this.pumping) return;
    this.pumping = true;
    setImmediate(() => this.fire());
  }

  private fire(): void {
    this.pumping = false;
    if (this.timers.length === 0) return;
    this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const next = this.timers.shift()!;
    this.t = Math.max(this.t, next.at);
    next.wake();
    if (this.timers.length > 0) this.schedule();
  }
}
