import { describe, expect, it } from 'vitest';
import { formatBinaryBytes, formatElapsed } from '../../src/core/format.js';
import { formatPorts, sparkline } from './format.js';

describe('format', () => {
  it('draws sparklines scaled to the largest value, padded to the width', () => {
    expect(sparkline([0, 50, 100], 3)).toBe('▁▅█');
    expect(sparkline([100], 4)).toBe('   █');
    expect(sparkline([1, 2, 3, 4, 5, 6], 3)).toBe('▆▇█');
    // Idle stays flat instead of scaling noise up to full bars.
    expect(sparkline([0.1, 0.2], 2)).toBe('▂▂');
  });
  it('formats sizes and durations as the CLI does, and ports', () => {
    expect(formatBinaryBytes(512)).toBe('512B');
    expect(formatBinaryBytes(1536)).toBe('1.5KiB');
    expect(formatBinaryBytes(340 * 1024 * 1024)).toBe('340MiB');
    expect(formatElapsed(42_000)).toBe('42s');
    expect(formatElapsed(3 * 3600_000 + 12 * 60_000)).toBe('3h12m');
    expect(formatElapsed(2 * 86400_000)).toBe('2d');
    expect(
      formatPorts([
        { privatePort: 8000, publicPort: 32768, protocol: 'tcp', ip: '0.0.0.0' },
        { privatePort: 8000, publicPort: 32768, protocol: 'tcp', ip: '::' },
        { privatePort: 53, publicPort: null, protocol: 'udp', ip: null },
      ]),
    ).toBe('32768->8000/tcp,53/udp');
  });
});
