/**
 * What the feeds need from the container engine: Docker events, stats and logs of
 * dokkup-managed containers, as streams that can be closed. `feeds-docker.ts` implements it with
 * dockerode; this file also holds the pure decoding of Docker's wire formats (multiplexed log
 * framing, timestamps, stats JSON, events JSON) so it can be tested without an engine.
 */
import { LABEL_ENTRY, LABEL_JOB, LABEL_VERSION } from '../../src/core/labels.js';
import type { ContainerAction, ContainerEvent, ContainerStats, LogStream } from '../../src/protocol/feeds.js';
import { ContainerActionSchema, FEED_MAX_LOG_LINE_CHARS } from '../../src/protocol/feeds.js';

/** A dokkup-managed container as the feeds see it. */
export interface FeedContainer {
  id: string;
  /** Without Docker's leading slash. */
  name: string;
  job: string;
  version: string | null;
  /** Its job entry (`dokkup.job.entry`), when the job names its entries. */
  entry?: string;
  running: boolean;
}

/** A stats reading; `cpuPercent` is null when Docker's sample has no previous reading yet. */
export type StatsSample = Omit<ContainerStats, 'cpuPercent'> & { cpuPercent: number | null };

export interface Closer {
  close(): void;
}

export interface LogStreamControl extends Closer {
  /** Stop reading from Docker (backpressure); Docker then stops sending. */
  pause(): void;
  resume(): void;
}

export interface RawLogLine {
  stream: LogStream;
  /** Docker's RFC 3339 timestamp, as written. */
  ts: string;
  at: number;
  text: string;
  truncated: boolean;
}

export interface LogRequest {
  tail?: number | undefined;
  /** Unix seconds. */
  since?: number | undefined;
  follow: boolean;
}

export interface FeedRuntime {
  /** dokkup containers (label `dokkup.job.name`), optionally of one job / running only. */
  listContainers(filter: { job?: string | undefined; runningOnly: boolean }): Promise<FeedContainer[]>;
  /**
   * Any container by ID, unique ID prefix or name (`job` is '' for one dokkup does not manage:
   * the TUI lists those too, and their logs are one key away); null when absent.
   */
  findContainer(ref: string): Promise<FeedContainer | null>;
  /** Docker events of dokkup containers. Resolves once the stream is open; `onEnd` when it breaks. */
  watchEvents(handlers: {
    onEvent(event: ContainerEvent): void;
    onEnd(error?: Error): void;
  }): Promise<Closer>;
  /** Docker's stats stream of one container (about one sample per second). */
  watchStats(
    container: FeedContainer,
    handlers: { onSample(sample: StatsSample): void; onEnd(error?: Error): void },
  ): Promise<Closer>;
  /** A container's logs, demuxed, with timestamps. `onEnd` once, when the stream is over. */
  streamLogs(
    container: FeedContainer,
    request: LogRequest,
    handlers: { onLine(line: RawLogLine): void; onEnd(error?: Error): void },
  ): Promise<LogStreamControl>;
}

// ---------------------------------------------------------------------------------------------
// Timestamps

const RFC3339 = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

/** Docker's RFC 3339 (nanosecond) timestamp → Unix milliseconds with the fraction kept; NaN if invalid. */
export function parseDockerTimestamp(ts: string): number {
  const m = RFC3339.exec(ts);
  if (!m) return Number.NaN;
  const whole = Date.parse(`${m[1]}${m[3]}`);
  const fraction = m[2] ? Number(`0.${m[2]}`) * 1000 : 0;
  return whole + fraction;
}

/** The same timestamp as exact nanoseconds since the epoch (for de-duplicating resumed logs). */
export function dockerTimestampNanos(ts: string): bigint | null {
  const m = RFC3339.exec(ts);
  if (!m) return null;
  const whole = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(whole)) return null;
  const nanos = (m[2] ?? '').padEnd(9, '0');
  return BigInt(whole) * 1_000_000n + BigInt(nanos);
}

/** Unix seconds as Docker's `since` query wants them: `seconds.nanoseconds`. */
export function formatSince(unixSeconds: number): string {
  const whole = Math.floor(unixSeconds);
  const nanos = Math.round((unixSeconds - whole) * 1e9);
  return `${whole}.${String(Math.min(nanos, 999_999_999)).padStart(9, '0')}`;
}

// ---------------------------------------------------------------------------------------------
// Logs: Docker's multiplexed framing and line splitting

const HEADER_BYTES = 8;

/**
 * Decodes Docker's log stream. Without a TTY each frame is an 8-byte header (stream type, three
 * zero bytes, big-endian payload length) followed by the payload; with a TTY the bytes are raw
 * stdout. Lines are split per stream, each starts with Docker's timestamp (we ask for
 * `timestamps: true`). A line longer than the limit is cut; the rest up to its newline is
 * discarded, so a container printing without newlines cannot grow the agent's memory.
 */
export class DockerLogDecoder {
  private header = Buffer.alloc(0);
  private frameRemaining = 0;
  private frameStream: LogStream = 'stdout';
  private readonly partial: Record<LogStream, { chunks: Buffer[]; bytes: number; overflow: boolean }> = {
    stdout: { chunks: [], bytes: 0, overflow: false },
    stderr: { chunks: [], bytes: 0, overflow: false },
  };

  constructor(
    private readonly tty: boolean,
    private readonly onLine: (line: RawLogLine) => void,
    private readonly maxLineBytes = FEED_MAX_LOG_LINE_CHARS * 4,
  ) {}

  push(chunk: Buffer): void {
    if (this.tty) {
      this.pushPayload('stdout', chunk);
      return;
    }
    let offset = 0;
    while (offset < chunk.length) {
      if (this.frameRemaining === 0) {
        const need = HEADER_BYTES - this.header.length;
        const take = chunk.subarray(offset, offset + need);
        this.header = this.header.length === 0 ? Buffer.from(take) : Buffer.concat([this.header, take]);
        offset += take.length;
        if (this.header.length < HEADER_BYTES) return;
        // 1 = stdout, 2 = stderr; 0 (stdin) never carries output.
        this.frameStream = this.header[0] === 2 ? 'stderr' : 'stdout';
        this.frameRemaining = this.header.readUInt32BE(4);
        this.header = Buffer.alloc(0);
        continue;
      }
      const take = chunk.subarray(offset, offset + this.frameRemaining);
      offset += take.length;
      this.frameRemaining -= take.length;
      this.pushPayload(this.frameStream, take);
    }
  }

  /** Emits what is left of unterminated lines (the stream ended). */
  end(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const p = this.partial[stream];
      if (p.bytes > 0 || p.overflow) this.emit(stream, Buffer.concat(p.chunks), p.overflow);
      p.chunks = [];
      p.bytes = 0;
      p.overflow = false;
    }
  }

  private pushPayload(stream: LogStream, payload: Buffer): void {
    const p = this.partial[stream];
    let start = 0;
    for (;;) {
      const nl = payload.indexOf(0x0a, start);
      const piece = payload.subarray(start, nl === -1 ? payload.length : nl);
      if (!p.overflow) {
        const room = this.maxLineBytes - p.bytes;
        if (piece.length > room) {
          if (room > 0) p.chunks.push(Buffer.from(piece.subarray(0, room)));
          p.bytes += Math.max(room, 0);
          p.overflow = true;
        } else if (piece.length > 0) {
          p.chunks.push(Buffer.from(piece));
          p.bytes += piece.length;
        }
      }
      if (nl === -1) return;
      this.emit(stream, Buffer.concat(p.chunks), p.overflow);
      p.chunks = [];
      p.bytes = 0;
      p.overflow = false;
      start = nl + 1;
    }
  }

  private emit(stream: LogStream, raw: Buffer, overflow: boolean): void {
    let text = raw.toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    const space = text.indexOf(' ');
    const ts = space === -1 ? text : text.slice(0, space);
    let at = parseDockerTimestamp(ts);
    let body: string;
    let stamp: string;
    if (Number.isNaN(at)) {
      // Not a timestamped line (should not happen with timestamps: true); keep it whole.
      at = 0;
      stamp = '';
      body = text;
    } else {
      stamp = ts;
      body = space === -1 ? '' : text.slice(space + 1);
    }
    let truncated = overflow;
    if (body.length > FEED_MAX_LOG_LINE_CHARS) {
      body = body.slice(0, FEED_MAX_LOG_LINE_CHARS);
      truncated = true;
    }
    this.onLine({ stream, ts: stamp, at, text: body, truncated });
  }
}

/** Splits a byte stream of newline-delimited JSON (Docker's events and stats streams). */
export class JsonLineSplitter {
  private rest = '';
  constructor(
    private readonly onValue: (value: unknown) => void,
    private readonly maxLineChars = 1024 * 1024,
  ) {}

  push(chunk: Buffer | string): void {
    const text = this.rest + (typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    if (this.rest.length > this.maxLineChars) this.rest = '';
    for (const line of lines) {
      const trimmed = line.trim();
      if (!trimmed) continue;
      try {
        this.onValue(JSON.parse(trimmed));
      } catch {
        // A garbled line from the engine is skipped; the next one is independent.
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Events

interface DockerEventJson {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
  timeNano?: number;
}

const HEALTH_VALUES = new Set(['healthy', 'unhealthy', 'starting']);

/** One Docker event JSON → our event, or null for events we do not forward (exec_*, attach, …). */
export function toContainerEvent(raw: unknown): ContainerEvent | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const e = raw as DockerEventJson;
  if (e.Type !== undefined && e.Type !== 'container') return null;
  const fullAction = e.Action ?? e.status ?? '';
  const colon = fullAction.indexOf(':');
  const actionName = colon === -1 ? fullAction : fullAction.slice(0, colon);
  const action = ContainerActionSchema.safeParse(actionName);
  if (!action.success) return null;
  const attrs = e.Actor?.Attributes ?? {};
  const job = attrs[LABEL_JOB];
  const id = e.Actor?.ID ?? e.id;
  if (job === undefined || !id) return null;
  const at =
    typeof e.timeNano === 'number'
      ? e.timeNano / 1e6
      : typeof e.time === 'number'
        ? e.time * 1000
        : Date.now();
  const event: ContainerEvent = {
    type: 'container',
    action: action.data as ContainerAction,
    containerId: id,
    containerName: (attrs['name'] ?? '').replace(/^\//, ''),
    job,
    version: attrs[LABEL_VERSION] ?? null,
    ...(attrs[LABEL_ENTRY] !== undefined ? { entry: attrs[LABEL_ENTRY] } : {}),
    image: attrs['image'] ?? null,
    at,
  };
  if (action.data === 'die' && attrs['exitCode'] !== undefined) {
    const code = Number(attrs['exitCode']);
    if (Number.isInteger(code)) event.exitCode = code;
  }
  if (action.data === 'kill' && attrs['signal']) event.signal = attrs['signal'];
  if (action.data === 'health_status') {
    const health = fullAction.slice(colon + 1).trim();
    if (HEALTH_VALUES.has(health)) event.health = health as 'healthy' | 'unhealthy' | 'starting';
  }
  return event;
}

// ---------------------------------------------------------------------------------------------
// Stats

interface DockerCpuStats {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[] | null };
  system_cpu_usage?: number;
  online_cpus?: number;
}
interface DockerStatsJson {
  read?: string;
  cpu_stats?: DockerCpuStats;
  precpu_stats?: DockerCpuStats;
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
  blkio_stats?: { io_service_bytes_recursive?: { op?: string; value?: number }[] | null };
  pids_stats?: { current?: number };
}

/**
 * CPU % exactly as the Docker CLI computes it (`calculateCPUPercentUnix`): the container's CPU
 * time delta over the host's CPU time delta between the two readings in one sample, times the
 * number of online CPUs. Null when the sample carries no previous reading (the first one).
 */
export function dockerCpuPercent(
  cpu: DockerCpuStats | undefined,
  precpu: DockerCpuStats | undefined,
): number | null {
  const prevSystem = precpu?.system_cpu_usage ?? 0;
  if (!cpu || prevSystem === 0) return null;
  const cpuDelta = (cpu.cpu_usage?.total_usage ?? 0) - (precpu?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (cpu.system_cpu_usage ?? 0) - prevSystem;
  const online = cpu.online_cpus || cpu.cpu_usage?.percpu_usage?.length || 1;
  if (systemDelta <= 0 || cpuDelta <= 0) return 0;
  return (cpuDelta / systemDelta) * online * 100;
}

/** Memory in use without the page cache, as the Docker CLI shows it (cgroup v1 and v2). */
export function dockerMemoryUsage(mem: DockerStatsJson['memory_stats']): number {
  const usage = mem?.usage ?? 0;
  const stats = mem?.stats ?? {};
  const v1 = stats['total_inactive_file'];
  if (v1 !== undefined && v1 < usage) return usage - v1;
  const v2 = stats['inactive_file'];
  if (v2 !== undefined && v2 < usage) return usage - v2;
  return usage;
}

/**
 * One Docker stats sample → our per-container figures. `cpuPercent` is null when the sample
 * cannot give one yet (Docker's first sample of a stream has no previous reading).
 */
export function toContainerStats(raw: unknown, container: FeedContainer): StatsSample | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const s = raw as DockerStatsJson;
  const readAt = s.read ? parseDockerTimestamp(s.read) : Number.NaN;
  // A stopped container reports the zero time; it has nothing to say.
  if (Number.isNaN(readAt) || readAt <= 0) return null;
  const memoryUsage = dockerMemoryUsage(s.memory_stats);
  const memoryLimit = s.memory_stats?.limit ?? 0;
  let networkRx = 0;
  let networkTx = 0;
  for (const net of Object.values(s.networks ?? {})) {
    networkRx += net.rx_bytes ?? 0;
    networkTx += net.tx_bytes ?? 0;
  }
  let blockRead = 0;
  let blockWrite = 0;
  for (const entry of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = (entry.op ?? '').toLowerCase();
    if (op === 'read') blockRead += entry.value ?? 0;
    else if (op === 'write') blockWrite += entry.value ?? 0;
  }
  return {
    containerId: container.id,
    containerName: container.name,
    job: container.job,
    version: container.version,
    ...(container.entry !== undefined ? { entry: container.entry } : {}),
    cpuPercent: dockerCpuPercent(s.cpu_stats, s.precpu_stats),
    memoryUsage,
    memoryLimit,
    memoryPercent: memoryLimit > 0 ? (memoryUsage / memoryLimit) * 100 : 0,
    networkRx,
    networkTx,
    blockRead,
    blockWrite,
    pids: typeof s.pids_stats?.current === 'number' ? s.pids_stats.current : null,
    readAt,
  };
}
