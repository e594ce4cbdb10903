import { describe, expect, it } from 'vitest';
import type { ContainerStats } from '../protocol/feeds.js';
import {
  describeContainerEvent,
  describeFeedEvent,
  feedEventLevel,
  formatBinaryBytes,
  formatDecimalBytes,
  formatElapsed,
  formatLatency,
  formatPercent,
  shortId,
  statsColumns,
} from './format.js';

describe('sizes as docker stats prints them', () => {
  it('uses three significant digits and decimal units for I/O', () => {
    expect(formatDecimalBytes(0)).toBe('0B');
    expect(formatDecimalBytes(486)).toBe('486B');
    expect(formatDecimalBytes(1234)).toBe('1.23kB');
    expect(formatDecimalBytes(12_345_678)).toBe('12.3MB');
    expect(formatDecimalBytes(123_456_789)).toBe('123MB');
  });

  it('uses binary units for memory', () => {
    expect(formatBinaryBytes(1024 * 1024 * 1.5)).toBe('1.5MiB');
    expect(formatBinaryBytes(25276502016)).toBe('23.5GiB');
    expect(formatBinaryBytes(512)).toBe('512B');
    expect(formatBinaryBytes(1536)).toBe('1.5KiB');
    expect(formatBinaryBytes(340 * 1024 * 1024)).toBe('340MiB');
    expect(formatBinaryBytes(1.234 * 1024 ** 3)).toBe('1.23GiB');
  });

  it('says - for a figure it does not have', () => {
    for (const format of [
      formatBinaryBytes,
      formatDecimalBytes,
      formatPercent,
      formatElapsed,
      formatLatency,
    ]) {
      expect(format(null)).toBe('-');
      expect(format(undefined)).toBe('-');
      expect(format(Number.NaN)).toBe('-');
    }
    expect(formatBinaryBytes(-1)).toBe('-');
  });
});

describe('percentages, elapsed times and latencies', () => {
  it('one decimal below 100 %, whole numbers from 100 % (several cores)', () => {
    expect(formatPercent(0)).toBe('0.0%');
    expect(formatPercent(0.29296875)).toBe('0.3%');
    expect(formatPercent(42.46)).toBe('42.5%');
    expect(formatPercent(99.04)).toBe('99.0%');
    expect(formatPercent(101.456)).toBe('101%');
    expect(formatPercent(250)).toBe('250%');
  });

  it('elapsed time in its two largest units', () => {
    expect(formatElapsed(42_000)).toBe('42s');
    expect(formatElapsed(5 * 60_000 + 59_000)).toBe('5m');
    expect(formatElapsed(3 * 3600_000 + 12 * 60_000)).toBe('3h12m');
    expect(formatElapsed(2 * 86400_000)).toBe('2d');
    expect(formatElapsed(4 * 86400_000 + 2 * 3600_000)).toBe('4d2h');
  });

  it('latency with a decimal only where it matters', () => {
    expect(formatLatency(3.3)).toBe('3.3ms');
    expect(formatLatency(3)).toBe('3.0ms');
    expect(formatLatency(12.4)).toBe('12ms');
    expect(formatLatency(1234)).toBe('1.2s');
  });
});

describe('statsColumns', () => {
  it('renders a container row', () => {
    const stats: ContainerStats = {
      containerId: '3f2a9c1e4b5d6e7f',
      containerName: 'web-1',
      job: 'web',
      version: null,
      cpuPercent: 101.456,
      memoryUsage: 1.5 * 1024 * 1024,
      memoryLimit: 512 * 1024 * 1024,
      memoryPercent: 0.29296875,
      networkRx: 1234,
      networkTx: 0,
      blockRead: 0,
      blockWrite: 4096,
      pids: 3,
      readAt: 0,
    };
    expect(statsColumns(stats)).toEqual({
      cpu: '101%',
      memory: '1.5MiB / 512MiB',
      memoryPercent: '0.3%',
      network: '1.23kB / 0B',
      block: '0B / 4.1kB',
      pids: '3',
    });
    expect(shortId(stats.containerId)).toBe('3f2a9c1e4b5d');
    expect(shortId('sha256:3f2a9c1e4b5d6e7f')).toBe('3f2a9c1e4b5d');
  });
});

describe('describeFeedEvent', () => {
  it('says what happened to a container, with exit code and version', () => {
    expect(
      describeFeedEvent({
        type: 'container',
        action: 'die',
        containerId: '3f2a9c1e4b5d6e7f',
        containerName: 'web-1',
        job: 'web',
        version: 'abc1234',
        image: null,
        exitCode: 137,
        at: 0,
      }),
    ).toBe('die web-1 (3f2a9c1e4b5d): exit code 137, version abc1234');
  });

  it('summarises an operation result', () => {
    expect(
      describeFeedEvent({
        type: 'operation-done',
        job: 'web',
        at: 0,
        result: {
          ok: false,
          action: 'update',
          message: 'Update failed',
          versionFrom: 'aaaaaaa',
          versionTo: 'bbbbbbb',
          running: 2,
          total: 2,
          restored: true,
          error: { code: 'unhealthy', message: 'container never became healthy' },
        },
      }),
    ).toBe('failed: Update failed: container never became healthy (aaaaaaa -> bbbbbbb, 2/2 running)');
  });

  it('prefixes the job for lists without a job column, and rates the event', () => {
    const done = {
      type: 'operation-done' as const,
      job: 'web',
      at: 0,
      result: {
        ok: true,
        action: 'update' as const,
        message: 'Update successful',
        versionFrom: 'aaaaaaa',
        versionTo: 'bbbbbbb',
        running: 2,
        total: 2,
      },
    };
    expect(describeFeedEvent(done, { job: true })).toBe(
      'web: done: Update successful (aaaaaaa -> bbbbbbb, 2/2 running)',
    );
    expect(feedEventLevel(done)).toBe('ok');
    expect(feedEventLevel({ ...done, result: { ...done.result, ok: false } })).toBe('error');
    expect(
      describeFeedEvent({ type: 'operation-start', job: 'web', operation: 'deploy', at: 0 }, { job: true }),
    ).toBe('web: deploy started');
  });

  it('describes a container event from its facts alone', () => {
    expect(
      describeContainerEvent({
        action: 'die',
        containerName: 'web-1',
        containerId: 'abcdef0123456789',
        exitCode: 137,
      }),
    ).toBe('die web-1 (abcdef012345): exit code 137');
    const event = {
      type: 'container' as const,
      containerId: 'abcdef0123456789',
      containerName: 'web-1',
      job: 'web',
      version: null,
      image: null,
      at: 0,
    };
    expect(feedEventLevel({ ...event, action: 'die', exitCode: 137 })).toBe('warn');
    expect(feedEventLevel({ ...event, action: 'die', exitCode: 0 })).toBe('info');
    expect(feedEventLevel({ ...event, action: 'oom' })).toBe('error');
    expect(feedEventLevel({ ...event, action: 'health_status', health: 'unhealthy' })).toBe('warn');
    expect(feedEventLevel({ ...event, action: 'start' })).toBe('info');
  });
});
