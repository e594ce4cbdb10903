/**
 * The pure decoding of Docker's wire formats in agent/docker/feed-runtime.ts: multiplexed log
 * frames, timestamps, events and stats JSON. Inputs are byte-exact copies of what Docker 20.10
 * sends (captured from a real engine), so these tests pin the formats, not our own guesses.
 */
import { describe, expect, it } from 'vitest';
import { FEED_MAX_LOG_LINE_CHARS } from '../../src/protocol/feeds.js';
import {
  DockerLogDecoder,
  dockerCpuPercent,
  dockerMemoryUsage,
  dockerTimestampNanos,
  formatSince,
  JsonLineSplitter,
  parseDockerTimestamp,
  type RawLogLine,
  toContainerEvent,
  toContainerStats,
} from '../docker/feed-runtime.js';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

function decodeAll(tty: boolean, chunks: Buffer[], maxLineBytes?: number): RawLogLine[] {
  const lines: RawLogLine[] = [];
  const decoder = new DockerLogDecoder(tty, (line) => lines.push(line), maxLineBytes);
  for (const chunk of chunks) decoder.push(chunk);
  decoder.end();
  return lines;
}

describe('DockerLogDecoder', () => {
  const ts1 = '2026-11-25T15:10:39.030687202Z';
  const ts2 = '2026-11-25T15:10:39.134015533Z';

  it('demuxes stdout and stderr frames and parses the timestamps', () => {
    const lines = decodeAll(false, [Buffer.concat([frame(1, `${ts1} out 1\n`), frame(2, `${ts2} err 1\n`)])]);
    expect(lines).toEqual([
      { stream: 'stdout', ts: ts1, at: parseDockerTimestamp(ts1), text: 'out 1', truncated: false },
      { stream: 'stderr', ts: ts2, at: parseDockerTimestamp(ts2), text: 'err 1', truncated: false },
    ]);
  });

  it('reassembles frames whose header and payload are split across chunks at every offset', () => {
    const bytes = Buffer.concat([frame(1, `${ts1} hello world\n`), frame(2, `${ts2} bye\n`)]);
    for (let cut = 1; cut < bytes.length; cut++) {
      const lines = decodeAll(false, [bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(
        lines.map((l) => `${l.stream}:${l.text}`),
        `cut at ${cut}`,
      ).toEqual(['stdout:hello world', 'stderr:bye']);
    }
    // One byte at a time.
    const single = decodeAll(
      false,
      [...bytes].map((b) => Buffer.from([b])),
    );
    expect(single.map((l) => l.text)).toEqual(['hello world', 'bye']);
  });

  it('joins a line that Docker split over several frames, per stream', () => {
    const lines = decodeAll(false, [
      frame(1, `${ts1} first `),
      frame(2, `${ts2} other\n`),
      frame(1, 'half\n'),
    ]);
    expect(lines.map((l) => `${l.stream}:${l.text}`)).toEqual(['stderr:other', 'stdout:first half']);
  });

  it('reads a TTY container as raw stdout and drops the carriage return', () => {
    const lines = decodeAll(true, [Buffer.from(`${ts1} tty line\r\n${ts2} second\r\n`)]);
    expect(lines.map((l) => [l.stream, l.text])).toEqual([
      ['stdout', 'tty line'],
      ['stdout', 'second'],
    ]);
  });

  it('cuts an endless line and discards the rest up to its newline (bounded memory)', () => {
    const long = 'x'.repeat(10_000);
    const chunks = [frame(1, `${ts1} ${long}`), frame(1, long), frame(1, `${long}\n${ts2} next\n`)];
    const lines = decodeAll(false, chunks, 4096);
    expect(lines).toHaveLength(2);
    expect(lines[0]?.truncated).toBe(true);
    expect(lines[0]?.text.length).toBeLessThanOrEqual(4096);
    expect(lines[1]).toMatchObject({ text: 'next', truncated: false });
  });

  it('caps the text it forwards at FEED_MAX_LOG_LINE_CHARS', () => {
    const lines = decodeAll(false, [frame(1, `${ts1} ${'y'.repeat(FEED_MAX_LOG_LINE_CHARS + 100)}\n`)]);
    expect(lines[0]?.text.length).toBe(FEED_MAX_LOG_LINE_CHARS);
    expect(lines[0]?.truncated).toBe(true);
  });

  it('emits an unterminated last line at the end of the stream', () => {
    expect(decodeAll(false, [frame(1, `${ts1} no newline`)]).map((l) => l.text)).toEqual(['no newline']);
  });
});

describe('timestamps', () => {
  it('keeps sub-millisecond precision and exact nanoseconds', () => {
    expect(parseDockerTimestamp('2026-11-25T15:10:39.030687202Z')).toBeCloseTo(
      Date.UTC(2026, 10, 25, 15, 10, 39) + 30.687202,
      3,
    );
    expect(dockerTimestampNanos('2026-11-25T15:10:39.030687202Z')).toBe(
      BigInt(Date.UTC(2026, 10, 25, 15, 10, 39)) * 1_000_000n + 30_687_202n,
    );
    // Docker trims trailing zeros of the fraction (RFC3339Nano).
    expect(dockerTimestampNanos('2026-11-25T15:10:39.5Z')).toBe(
      BigInt(Date.UTC(2026, 10, 25, 15, 10, 39)) * 1_000_000n + 500_000_000n,
    );
    expect(dockerTimestampNanos('2026-11-25T15:10:39Z')).toBe(
      BigInt(Date.UTC(2026, 10, 25, 15, 10, 39)) * 1_000_000n,
    );
    expect(parseDockerTimestamp('2026-11-25T16:10:39+01:00')).toBe(Date.UTC(2026, 10, 25, 15, 10, 39));
    expect(parseDockerTimestamp('not a time')).toBeNaN();
    expect(dockerTimestampNanos('garbage')).toBeNull();
  });

  it('formats since as seconds.nanoseconds', () => {
    expect(formatSince(1714557600)).toBe('1714557600.000000000');
    expect(formatSince(1714557600.25)).toBe('1714557600.250000000');
  });
});

describe('JsonLineSplitter', () => {
  it('parses values split across chunks and skips garbage lines', () => {
    const values: unknown[] = [];
    const splitter = new JsonLineSplitter((v) => values.push(v));
    splitter.push('{"a":1}\n{"b"');
    splitter.push(':2}\nnot json\n\n{"c":3}\n');
    expect(values).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }]);
  });
});

describe('toContainerEvent', () => {
  const actor = (extra: Record<string, string> = {}) => ({
    ID: 'abc123',
    Attributes: {
      'dokkup.job.name': 'web',
      'dokkup.job.version': 'abc1234',
      image: 'img:1',
      name: 'web-1',
      ...extra,
    },
  });

  it('maps die with its exit code, and Docker nanosecond time to milliseconds', () => {
    const event = toContainerEvent({
      Type: 'container',
      Action: 'die',
      Actor: actor({ exitCode: '4' }),
      time: 1795619474,
      timeNano: 1795619474425000000,
    });
    expect(event).toEqual({
      type: 'container',
      action: 'die',
      containerId: 'abc123',
      containerName: 'web-1',
      job: 'web',
      version: 'abc1234',
      image: 'img:1',
      exitCode: 4,
      at: 1795619474425000000 / 1e6,
    });
  });

  it('carries the entry label of a job with named entries (and none without it)', () => {
    const event = toContainerEvent({
      Type: 'container',
      Action: 'start',
      Actor: actor({ 'dokkup.job.entry': 'side' }),
      time: 1,
    });
    expect(event?.entry).toBe('side');
    expect(
      toContainerEvent({ Type: 'container', Action: 'start', Actor: actor(), time: 1 }),
    ).not.toHaveProperty('entry');
  });

  it('splits health_status into action and health, keeps kill signals', () => {
    expect(
      toContainerEvent({ Type: 'container', Action: 'health_status: unhealthy', Actor: actor(), time: 1 }),
    ).toMatchObject({
      action: 'health_status',
      health: 'unhealthy',
      at: 1000,
    });
    expect(
      toContainerEvent({ Type: 'container', Action: 'kill', Actor: actor({ signal: '15' }), time: 1 }),
    ).toMatchObject({
      action: 'kill',
      signal: '15',
    });
  });

  it('ignores exec and attach events, other types, and containers without the job label', () => {
    expect(
      toContainerEvent({ Type: 'container', Action: 'exec_start: /bin/sh -c true', Actor: actor() }),
    ).toBeNull();
    expect(toContainerEvent({ Type: 'container', Action: 'attach', Actor: actor() })).toBeNull();
    expect(toContainerEvent({ Type: 'network', Action: 'connect', Actor: actor() })).toBeNull();
    expect(
      toContainerEvent({ Type: 'container', Action: 'start', Actor: { ID: 'x', Attributes: {} } }),
    ).toBeNull();
    expect(toContainerEvent('nonsense')).toBeNull();
  });
});

describe('stats, as docker stats computes them', () => {
  const container = { id: 'c1', name: 'web-1', job: 'web', version: 'abc1234', running: true };
  // A real Docker 20.10 sample (cgroup v1) of a container spinning one core on a 2-CPU host.
  const sample = {
    read: '2026-11-25T15:03:13.790544839Z',
    pids_stats: { current: 1 },
    blkio_stats: {
      io_service_bytes_recursive: [
        { major: 8, minor: 0, op: 'Read', value: 4096 },
        { major: 8, minor: 0, op: 'Write', value: 8192 },
        { major: 8, minor: 0, op: 'Sync', value: 100 },
      ],
    },
    cpu_stats: {
      cpu_usage: { total_usage: 1059656793, percpu_usage: [954569703, 105087090] },
      system_cpu_usage: 978260000000,
      online_cpus: 2,
    },
    precpu_stats: {
      cpu_usage: { total_usage: 59967655, percpu_usage: [11954125, 48013530] },
      system_cpu_usage: 976300000000,
      online_cpus: 2,
    },
    memory_stats: { usage: 561152, limit: 2097152, stats: { total_inactive_file: 61440, inactive_file: 0 } },
    networks: { eth0: { rx_bytes: 486, tx_bytes: 10 }, eth1: { rx_bytes: 14, tx_bytes: 5 } },
  };

  it('computes CPU % from the deltas times online CPUs', () => {
    // (1059656793 - 59967655) / (978260000000 - 976300000000) * 2 * 100
    const expected = ((1059656793 - 59967655) / (978260000000 - 976300000000)) * 2 * 100;
    expect(dockerCpuPercent(sample.cpu_stats, sample.precpu_stats)).toBeCloseTo(expected, 10);
    expect(expected).toBeCloseTo(102.0, 0);
  });

  it('has no CPU figure for a first reading, and 0 for an idle one', () => {
    expect(
      dockerCpuPercent(sample.cpu_stats, { cpu_usage: { total_usage: 0 }, system_cpu_usage: 0 }),
    ).toBeNull();
    expect(dockerCpuPercent(sample.cpu_stats, sample.cpu_stats)).toBe(0);
  });

  it('uses percpu_usage length when online_cpus is missing', () => {
    const { online_cpus: _a, ...cpu } = sample.cpu_stats;
    expect(dockerCpuPercent(cpu, sample.precpu_stats)).toBeCloseTo(
      dockerCpuPercent(sample.cpu_stats, sample.precpu_stats) as number,
      10,
    );
  });

  it('subtracts the page cache: total_inactive_file on cgroup v1, inactive_file on v2', () => {
    expect(dockerMemoryUsage({ usage: 1000, stats: { total_inactive_file: 300 } })).toBe(700);
    expect(dockerMemoryUsage({ usage: 1000, stats: { inactive_file: 200 } })).toBe(800);
    // A cache figure larger than usage is nonsense: keep usage.
    expect(dockerMemoryUsage({ usage: 100, stats: { inactive_file: 200 } })).toBe(100);
    expect(dockerMemoryUsage(undefined)).toBe(0);
  });

  it('sums networks and block I/O and fills the stats entry', () => {
    const stats = toContainerStats(sample, container);
    expect(stats).toMatchObject({
      containerId: 'c1',
      containerName: 'web-1',
      job: 'web',
      memoryUsage: 561152 - 61440,
      memoryLimit: 2097152,
      networkRx: 500,
      networkTx: 15,
      blockRead: 4096,
      blockWrite: 8192,
      pids: 1,
      readAt: parseDockerTimestamp(sample.read),
    });
    expect(stats?.memoryPercent).toBeCloseTo(((561152 - 61440) / 2097152) * 100, 10);
  });

  it("passes the container's entry on", () => {
    expect(toContainerStats(sample, { ...container, entry: 'side' })?.entry).toBe('side');
    expect(toContainerStats(sample, container)).not.toHaveProperty('entry');
  });

  it('ignores the zero-time sample of a stopped container', () => {
    expect(toContainerStats({ read: '0001-01-01T00:00:00Z' }, container)).toBeNull();
  });
});
