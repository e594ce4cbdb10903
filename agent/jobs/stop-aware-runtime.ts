/**
 * The job engine's view of the container runtime: the engine's own list, corrected for the
 * containers the agent just stopped.
 *
 * Why: Docker 26 answers `GET /containers/json` from an in-memory view it updates after the exit
 * is fully handled (the network torn down and so on), so right after `POST /containers/{id}/stop`
 * returned its list can still say `running` (every time on the default bridge, in our probes)
 * while an inspect of the same container already says `exited`; Docker 20.10's list is right at
 * once. A stop's summary, the job status just after, and the next operation's plan (a `run`
 * right after a `stop` must start the containers, not find them up to date) all read the list.
 *
 * The list stays the source of which containers exist. For a container whose stop the agent
 * made and the list still calls running, inspect (which reads the container itself, and is
 * authoritative) decides its state. It costs nothing while the list is right: a stopped container
 * the list reports as not running is forgotten without any inspect. Starts and removes are not
 * tracked: Docker updates the list's view before those calls return.
 */
import { DokkupError } from '../../src/core/errors.js';
import type { RegistryAuth } from '../../src/protocol/registry.js';
import type {
  ContainerInspect,
  ContainerRuntime,
  CreateContainerRequest,
  EngineInfo,
  PullProgress,
  RuntimeContainer,
} from '../docker/runtime.js';

/** Stops remembered at most (the oldest are forgotten past it: a bound, not a working size). */
const MAX_REMEMBERED = 4096;

export class StopAwareRuntime implements ContainerRuntime {
  /** Containers the agent stopped whose list entry has not yet been seen not running. */
  private readonly stopped = new Set<string>();

  /** As the engine has it (engines without the check leave it out). */
  readonly checkPull: ContainerRuntime['checkPull'];

  constructor(private readonly inner: ContainerRuntime) {
    this.checkPull = inner.checkPull?.bind(inner);
  }

  async listContainers(labels: Record<string, string | true>): Promise<RuntimeContainer[]> {
    const listed = await this.inner.listContainers(labels);
    if (this.stopped.size === 0) return listed;
    const settled = await Promise.all(listed.map((c) => this.settle(c)));
    return settled.filter((c): c is RuntimeContainer => c !== null);
  }

  /** A listed container as it is: null when it is gone by now. */
  private async settle(c: RuntimeContainer): Promise<RuntimeContainer | null> {
    if (!this.stopped.has(c.id)) return c;
    if (c.state !== 'running' && c.state !== 'restarting') {
      this.stopped.delete(c.id); // the list caught up
      return c;
    }
    let inspected: ContainerInspect;
    try {
      inspected = await this.inner.inspectContainer(c.id);
    } catch (err) {
      if (err instanceof DokkupError && err.code === 'not_found') {
        this.stopped.delete(c.id);
        return null;
      }
      throw err;
    }
    if (inspected.state === 'running' || inspected.state === 'restarting') {
      // Started again since (by hand, or by another engine client): the list is right.
      this.stopped.delete(c.id);
      return c;
    }
    return { ...c, state: inspected.state, health: 'none', status: statusOf(inspected) };
  }

  async stopContainer(id: string, timeoutSec: number): Promise<void> {
    try {
      await this.inner.stopContainer(id, timeoutSec);
    } finally {
      // Even a failed stop call may have stopped it (the engine's answer lost): inspect will say.
      this.stopped.delete(id);
      this.stopped.add(id);
      if (this.stopped.size > MAX_REMEMBERED) this.stopped.delete(this.stopped.values().next().value!);
    }
  }

  async startContainer(id: string): Promise<void> {
    await this.inner.startContainer(id);
    // Only once it started: a start that failed left it stopped, and the list may still lag.
    this.stopped.delete(id);
  }

  async removeContainer(id: string): Promise<void> {
    await this.inner.removeContainer(id);
    this.stopped.delete(id);
  }

  // Everything else as the engine says it.

  info(): Promise<EngineInfo> {
    return this.inner.info();
  }
  inspectContainer(id: string): Promise<ContainerInspect> {
    return this.inner.inspectContainer(id);
  }
  imageId(ref: string): Promise<string | null> {
    return this.inner.imageId(ref);
  }
  imageHasHealthcheck(ref: string): Promise<boolean> {
    return this.inner.imageHasHealthcheck(ref);
  }
  pullImage(ref: string, onProgress: (p: PullProgress) => void, auth?: RegistryAuth): Promise<void> {
    return this.inner.pullImage(ref, onProgress, auth);
  }
  networkDriver(nameOrId: string): Promise<string | null> {
    return this.inner.networkDriver(nameOrId);
  }
  volumeBindDevice(name: string): Promise<string | null> {
    return this.inner.volumeBindDevice(name);
  }
  createContainer(req: CreateContainerRequest): Promise<string> {
    return this.inner.createContainer(req);
  }
}

/** Docker's list wording for a container in this state (without the "… ago" it cannot know). */
function statusOf(c: ContainerInspect): string {
  if (c.state === 'exited') return `Exited (${c.exitCode ?? 0})`;
  return c.state.charAt(0).toUpperCase() + c.state.slice(1);
}
