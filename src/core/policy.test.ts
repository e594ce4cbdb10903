import { describe, expect, it } from 'vitest';
import type { JobSpec } from '../protocol/job.js';
import { DEFAULT_POLICY, hostPathOf, policyViolations } from './policy.js';
import { testEntry, testJob, testSpec } from './spec.fixture.js';

const spec = (volumes: string[]): JobSpec =>
  testSpec({ volumes }, { update: { healthyDeadlineMs: 1000, minHealthyMs: 0 } });

describe('agent policy', () => {
  it('tells binds from named volumes and normalises the host path', () => {
    expect(hostPathOf('data:/data')).toBeNull();
    expect(hostPathOf('/srv/app/:/app:ro')).toBe('/srv/app');
    expect(hostPathOf('/var/run/../run/docker.sock:/s')).toBe('/var/run/docker.sock');
    expect(hostPathOf('//:/host')).toBe('/');
  });

  it('refuses the Docker socket, its directories and the host root by default, naming the volume', () => {
    for (const v of [
      '/var/run/docker.sock:/var/run/docker.sock',
      '/run:/r',
      '/:/host:ro',
      '/var/run/:/x',
      '/etc:/e',
    ]) {
      const found = policyViolations(spec(['cache:/cache', v]), DEFAULT_POLICY);
      expect(found).toHaveLength(1);
      expect(found[0]!.field).toBe('container.0.volumes.1');
      expect(found[0]!.message).toContain(`"${v}"`);
      expect(found[0]!.message).toContain('--allow-host-binds');
    }
  });

  it('checks every entry of a job with several, naming the entry by its index', () => {
    const two = testJob([
      testEntry({ name: 'web', volumes: ['data:/data'] }),
      testEntry({ name: 'agent', volumes: ['/var/run/docker.sock:/var/run/docker.sock'] }),
    ]);
    expect(policyViolations(two, DEFAULT_POLICY).map((v) => v.field)).toEqual(['container.1.volumes.0']);
  });

  it('allows named volumes and ordinary host directories, and everything when the agent allows it', () => {
    expect(
      policyViolations(spec(['data:/data', '/srv/www:/www:ro', '/var/log/app:/logs']), DEFAULT_POLICY),
    ).toEqual([]);
    expect(policyViolations(spec(['/var/run/docker.sock:/s']), { allowHostBinds: true })).toEqual([]);
  });
});
