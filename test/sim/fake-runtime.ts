/**
 * SIMULATION ONLY: an in-memory `ContainerRuntime` for the fan-out simulator. Containers are
 * records in a map; pulls, creates and starts succeed at once and containers are running (and
 * healthy when the image "has" a health check) as soon as they start. It never talks to Docker
 * and proves nothing about Docker: it exists so that the real agent HTTP code and job engine
 * can be served for thousands of nodes from one process, to measure the CLI's fan-out.
 */
import { createHash, randomBytes } from 'node:crypto';
import type {
  ContainerInspect,
  ContainerRuntime,
  CreateContainerRequest,
  EngineInfo,
  PullProgress,
  RuntimeContainer,
} from '../../agent/docker/runtime.js';
import { DokkupError } from '../../src/core/errors.js';

export interface FakeRuntimeOptions {
  /** Images that report a HEALTHCHECK (containers of them are `healthy` once started). */
  healthcheckImages?: ReadonlySet<string>;
  /** Image references whose pull fails (like a tag that was never pushed). */
  unpullable?: ReadonlySet<string>;
  /** Clock in Unix seconds; default the real one. */
  nowSeconds?: () => number;
}

interface FakeContainer extends RuntimeContainer {
  startedAt: number | null;
}

let nextHostPort = 32768;

export class FakeRuntime implements ContainerRuntime {
  private readonly containers = new Map<string, FakeContainer>();
  private readonly images = new Map<string, string>();
  private readonly options: FakeRuntimeOptions;

  constructor(options: FakeRuntimeOptions = {}) {
    this.options = options;
  }

  private now(): number {
    return this.options.nowSeconds?.() ?? Math.floor(Date.now() / 1000);
  }

  async info(): Promise<EngineInfo> {
    return { version: '0.0.0-sim', apiVersion: '1.45', os: 'linux', arch: 'x64' };
  }

  async listContainers(labels: Record<string, string | true>): Promise<RuntimeContainer[]> {
    const wanted = Object.entries(labels);
    const out: RuntimeContainer[] = [];
    for (const c of this.containers.values()) {
      if (wanted.every(([k, v]) => (v === true ? k in c.labels : c.labels[k] === v))) out.push(this.view(c));
    }
    return out;
  }

  async inspectContainer(id: string): Promise<ContainerInspect> {
    const c = this.containers.get(id);
    if (!c) throw new DokkupError('not_found', `container ${id.slice(0, 12)} is gone`);
    return {
      id,
      state: c.state,
      health: c.health,
      exitCode: c.state === 'exited' ? 0 : null,
      restartCount: 0,
      healthLog: null,
    };
  }

  async imageId(ref: string): Promise<string | null> {
    return this.images.get(ref) ?? null;
  }

  async imageHasHealthcheck(ref: string): Promise<boolean> {
    return this.options.healthcheckImages?.has(ref) ?? false;
  }

  async pullImage(ref: string, onProgress: (p: PullProgress) => void): Promise<void> {
    if (this.options.unpullable?.has(ref))
      throw new DokkupError('pull_failed', `pulling ${ref}: manifest unknown`);
    onProgress({ message: `Pulling ${ref}: done` });
    this.images.set(ref, `sha256:${createHash('sha256').update(ref).digest('hex')}`);
  }

  async createContainer(req: CreateContainerRequest): Promise<string> {
    const id = randomBytes(32).toString('hex');
    const spec = req.spec;
    this.containers.set(id, {
      id,
      name: req.name,
      labels: { ...spec.labels, ...req.labels },
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
      createdAt: this.now(),
      startedAt: null,
    });
    return id;
  }

  async startContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (!c) throw new DokkupError('start_failed', `starting ${id.slice(0, 12)}: no such container`);
    c.state = 'running';
    c.startedAt = this.now();
    c.health = this.options.healthcheckImages?.has(c.image) ? 'healthy' : 'none';
  }

  async stopContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (!c) return;
    c.state = 'exited';
    c.health = 'none';
    c.startedAt = null;
    c.status = 'Exited (0) Less than a second ago';
  }

  async removeContainer(id: string): Promise<void> {
    this.containers.delete(id);
  }

  /** How many containers exist, and how many run (for tests). */
  counts(): { running: number; total: number } {
    let running = 0;
    for (const c of this.containers.values()) if (c.state === 'running') running++;
    return { running, total: this.containers.size };
  }

  private view(c: FakeContainer): RuntimeContainer {
    const { startedAt, ...container } = c;
    if (c.state === 'running' && startedAt !== null) {
      const up = Math.max(0, this.now() - startedAt);
      const health = c.health === 'none' ? '' : ` (${c.health})`;
      container.status = `Up ${up < 1 ? 'Less than a second' : `${up} seconds`}${health}`;
    }
    return { ...container, labels: { ...container.labels }, ports: container.ports.map((p) => ({ ...p })) };
  }
}
