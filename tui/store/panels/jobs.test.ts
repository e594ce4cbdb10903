import { describe, expect, it } from 'vitest';
import { headerSummary } from '../select/header.js';
import { apply, container, fleet, jobStatus, probed } from '../store.fixture.js';
import { driftText, jobRows, versionText } from './jobs.js';

describe('jobs panel', () => {
  it('sums running/desired across nodes and shows drift per node', () => {
    const web = jobRows(fleet()).find((j) => j.job === 'web')!;
    expect(web.running).toBe(3);
    expect(web.desired).toBe(4);
    expect(web.drift).toBe('-1 lab2');
    expect(web.healthy).toBe(false);
    const api = jobRows(fleet()).find((j) => j.job === 'api')!;
    expect(api.drift).toBe('in sync');
    expect(api.healthy).toBe(true);
    expect(headerSummary(fleet())).toMatchObject({ jobsHealthy: 1, jobsTotal: 2 });
  });
  it('shows the version per node where nodes disagree', () => {
    expect(
      versionText([
        { node: 'a', version: 'aaaaaaa', running: 1, desired: 1, online: true },
        { node: 'b', version: 'aaaaaaa', running: 1, desired: 1, online: true },
        { node: 'c', version: 'ccccccc', running: 1, desired: 1, online: true },
      ]),
    ).toBe('aaaaaaa ccccccc@c');
    const s = apply(
      fleet(),
      probed('lab2', [
        jobStatus('web', [container('web', 3, { version: 'ccccccc' })], { version: 'ccccccc', desired: 1 }),
      ]),
    );
    const web = jobRows(s).find((j) => j.job === 'web')!;
    expect(web.version).toBe('aaaaaaa ccccccc@lab2');
    // In sync on counts, but two versions is not healthy.
    expect(web.drift).toBe('in sync');
    expect(web.healthy).toBe(false);
  });
  it('reports extra containers and unknown (offline) nodes in drift', () => {
    expect(
      driftText([
        { node: 'a', version: 'x', running: 3, desired: 2, online: true },
        { node: 'b', version: 'x', running: 0, desired: 2, online: false },
      ]),
    ).toBe('+1 a ? b');
  });
});
