/**
 * Plain values shaped like what the agents send (info, containers, job lists, stats samples,
 * log lines, operation results), for the TUI's unit tests and the TUI benchmark's simulated fleet. No behaviour is
 * faked here: these are data builders. They live under `test/` so the benchmark (which the build
 * compiles) can use them, while nothing in a product folder does.
 */
import type { NodeLogLine } from '../../src/client/feeds/merge.js';
import type { ContainerStats } from '../../src/protocol/feeds.js';
import type { AgentInfo, ContainerInfo, JobStatus, OperationResult } from '../../src/protocol/index.js';

/** A successful update's result (aaaaaaa → bbbbbbb, 2 of 2 running), with `overrides`. */
export function updateResult(overrides: Partial<OperationResult> = {}): OperationResult {
  return {
    ok: true,
    action: 'update',
    message: 'Update successful',
    versionFrom: 'aaaaaaa',
    versionTo: 'bbbbbbb',
    running: 2,
    total: 2,
    ...overrides,
  };
}

export function agentInfo(overrides: Partial<AgentInfo> = {}): AgentInfo {
  return {
    agentVersion: '0.3.0',
    dockerVersion: '28.2.2',
    dockerApiVersion: '1.50',
    hostname: 'host',
    os: 'linux',
    arch: 'x64',
    jobs: 1,
    containers: { running: 1, total: 1 },
    ...overrides,
  };
}

export function container(job: string, index: number, overrides: Partial<ContainerInfo> = {}): ContainerInfo {
  const id = `${job}${String(index).padStart(4, '0')}`.padEnd(64, 'a');
  return {
    id,
    name: `${job}-${String(index).padStart(8, '0')}-1111-2222-3333-444455556666`,
    job,
    version: 'aaaaaaa',
    image: `127.0.0.1:5000/${job}:v1`,
    imageId: 'sha256:abc',
    state: 'running',
    status: 'Up 2 minutes',
    health: 'none',
    ports: [{ privatePort: 8000, publicPort: 32768 + index, protocol: 'tcp', ip: '0.0.0.0' }],
    createdAt: 1_700_000_000,
    ...overrides,
  };
}

export function jobStatus(
  name: string,
  containers: ContainerInfo[],
  overrides: Partial<JobStatus> = {},
): JobStatus {
  return {
    name,
    version: containers[0]?.version ?? 'aaaaaaa',
    image: containers[0]?.image ?? `127.0.0.1:5000/${name}:v1`,
    desired: containers.length,
    running: containers.filter((c) => c.state === 'running').length,
    total: containers.length,
    containers,
    ...overrides,
  };
}

/** One container's stats sample as the agent's stats feed sends it. */
export function containerStats(containerId: string, overrides: Partial<ContainerStats> = {}): ContainerStats {
  return {
    containerId,
    containerName: `c-${containerId.slice(0, 8)}`,
    job: '',
    version: null,
    cpuPercent: 0,
    memoryUsage: 0,
    memoryLimit: 0,
    memoryPercent: 0,
    networkRx: 0,
    networkTx: 0,
    blockRead: 0,
    blockWrite: 0,
    pids: null,
    readAt: 0,
    ...overrides,
  };
}

/** A log line as the client's merger hands it over (with the node it came from). */
export function logLine(
  node: string,
  containerName: string,
  text: string,
  overrides: Partial<NodeLogLine> = {},
): NodeLogLine {
  const at = overrides.at ?? 1_700_000_000_000;
  return {
    node,
    containerId: `${containerName}`.padEnd(64, '0'),
    containerName,
    stream: 'stdout',
    ts: new Date(at).toISOString(),
    at,
    text,
    ...overrides,
  };
}
