/**
 * What the agent needs from a container engine. `docker.ts` implements it with dockerode (the
 * only place that imports it); test/fakes/container-runtime.ts implements it in memory for the
 * engine's unit tests and the fan-out simulator.
 */
import type { ContainerState, Health, PublishedPort } from '../../src/protocol/api.js';
import type { ContainerSpec } from '../../src/protocol/job.js';
import type { RegistryAuth } from '../../src/protocol/registry.js';

export interface EngineInfo {
  version: string;
  apiVersion: string;
  os: string;
  arch: string;
}

export interface RuntimeContainer {
  id: string;
  /** Without Docker's leading slash. */
  name: string;
  labels: Record<string, string>;
  image: string;
  imageId: string;
  state: ContainerState;
  status: string;
  health: Health;
  ports: PublishedPort[];
  /** Unix seconds. */
  createdAt: number;
}

export interface ContainerInspect {
  id: string;
  state: ContainerState;
  health: Health;
  exitCode: number | null;
  restartCount: number;
  /** Docker's last health-check output, if any, for error messages. */
  healthLog: string | null;
}

export interface PullProgress {
  message: string;
  current?: number;
  total?: number;
}

export interface CreateContainerRequest {
  name: string;
  spec: ContainerSpec;
  labels: Record<string, string>;
}

export interface ContainerRuntime {
  info(): Promise<EngineInfo>;
  /** Containers carrying all the given labels (value `true`: any value). */
  listContainers(labels: Record<string, string | true>): Promise<RuntimeContainer[]>;
  inspectContainer(id: string): Promise<ContainerInspect>;
  /** The local image ID for a reference, or null when the image is not present. */
  imageId(ref: string): Promise<string | null>;
  /** True when the local image defines a HEALTHCHECK (other than NONE). */
  imageHasHealthcheck(ref: string): Promise<boolean>;
  /**
   * Pulls `ref`, with `auth` (the operator's credentials for its registry, from the request) when
   * given. A registry refusing gives a `pull_failed` naming the registry and "unauthorized".
   */
  pullImage(ref: string, onProgress: (p: PullProgress) => void, auth?: RegistryAuth): Promise<void>;
  /**
   * Asks the registry, without pulling, whether `ref` could be pulled with `auth`: null when it
   * could, else why not (unauthorized, not found, unreachable). Engines without the check leave it out.
   */
  checkPull?(ref: string, auth?: RegistryAuth): Promise<string | null>;
  /**
   * The driver of the network Docker resolves `nameOrId` to (`bridge`, `host`, `overlay`, …),
   * or null when there is none (dokkup creates it as a bridge). Docker resolves IDs and ID
   * prefixes too, so a name is no proof of what a job would join.
   */
  networkDriver(nameOrId: string): Promise<string | null>;
  /**
   * The host path a named volume binds, when Docker has it as one (the local driver with
   * `o=bind` and a `device`), else null (an ordinary volume, or none yet).
   */
  volumeBindDevice(name: string): Promise<string | null>;
  /** Creates (does not start) a container and returns its ID. */
  createContainer(req: CreateContainerRequest): Promise<string>;
  startContainer(id: string): Promise<void>;
  stopContainer(id: string, timeoutSec: number): Promise<void>;
  /** Removes a container (forcefully); a container that is already gone is not an error. */
  removeContainer(id: string): Promise<void>;
}
