/**
 * What the global setup hands to every test file (through vitest's provide/inject): plain JSON.
 */
import type { PrivateRegistryInfo, PushedImage, TestImages } from './images.js';

export interface EngineInfo {
  name: string;
  /** `unix:///…/docker.sock`: give it to an agent as DOCKER_HOST, or to dockerode. */
  dockerHost: string;
  socketPath: string;
  bridge: string;
  subnet: string;
  /** Host ports the engine picks random published ports from (inclusive). */
  portRange: [number, number];
  logFile: string;
}

export interface HarnessInfo {
  /** False when the machine lacks root or the binaries, outside CI; Docker tests then skip. */
  dockerAvailable: boolean;
  /** Why Docker is unavailable. */
  reason?: string;
  /** node1, node2, node3. */
  engines: EngineInfo[];
  /** The loopback registry, `127.0.0.1:<port>`. */
  registry: string | null;
  /** A second loopback registry that wants credentials, with webV1/webV2 in it. */
  privateRegistry: PrivateRegistryInfo | null;
  images: TestImages | null;
  imageIds: Record<PushedImage, string> | null;
  /** `docker save` archive of all test images, for loadImages(). */
  imageArchive: string | null;
  /** How long the global setup took. */
  setupMs: number;
}

export const HARNESS_KEY = 'dokkupHarness';

declare module 'vitest' {
  export interface ProvidedContext {
    dokkupHarness: HarnessInfo;
  }
}
