import { describe, expect, it } from 'vitest';
import type { ContainerStats } from '../../protocol/feeds.js';
import { describeFeedEvent, formatBinaryBytes, formatDecimalBytes, shortId, statsColumns } from './format.js';

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
      cpu: '101.46%',
      memory: '1.5MiB / 512MiB',
      memoryPercent: '0.29%',
      network: '1.23kB / 0B',
      block: '0B / 4.1kB',
      pids: '3',
    });
    expect(shortId(stats.containerId)).toBe('3f2a9c1e4b5d');
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
});
