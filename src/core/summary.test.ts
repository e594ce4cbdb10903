import { describe, expect, it } from 'vitest';
import type { Plan } from '../protocol/api.js';
import { deploymentSummaryLines, nodeStatusLines, stopSummaryLines, summaryTable } from './summary.js';

function plan(overrides: Partial<Plan>): Plan {
  return {
    job: 'demo',
    operation: 'deploy',
    action: 'fresh',
    changes: true,
    fresh: false,
    versionFrom: null,
    versionTo: '55dab35',
    running: 0,
    total: 0,
    desired: 2,
    strategy: null,
    canRollback: false,
    rollbackTo: null,
    diff: null,
    warnings: [],
    ...overrides,
  };
}

const demo = {
  name: 'demo',
  image: 'crccheck/hello-world',
  restart: 'always',
  count: 2,
  group: 'labs',
  network: 'bridge',
};

describe('plan tables (the original README text)', () => {
  it('prints the deployment summary', () => {
    expect(deploymentSummaryLines(demo)).toEqual([
      'Deployment summary:',
      '',
      'NAME     IMAGE                    RESTART     COUNT     GROUP     NETWORK',
      'demo     crccheck/hello-world     always      2         labs      bridge',
    ]);
  });
  it('marks fresh nodes with * and shows 0 -> 2', () => {
    const fresh = plan({ fresh: true });
    expect(
      nodeStatusLines('run', [
        { name: 'lab1', label: 'ONLINE', plan: fresh },
        { name: 'lab2', label: 'ONLINE', plan: fresh },
      ]),
    ).toEqual([
      'Node statuses:',
      '',
      'NAME      STATUS     CONTAINERS     UPDATE     VERSION',
      'lab1*     ONLINE     0 -> 2         true       55dab35',
      'lab2*     ONLINE     0 -> 2         true       55dab35',
    ]);
  });
  it('shows version changes, scale counts and unreachable nodes', () => {
    expect(
      nodeStatusLines('run', [
        {
          name: 'lab1',
          label: 'ONLINE',
          plan: plan({ versionFrom: '55dab35', versionTo: '9470cdc', running: 2, total: 2 }),
        },
        {
          name: 'lab2',
          label: 'ONLINE',
          plan: plan({ versionFrom: '55dab35', running: 2, total: 2, desired: 5 }),
        },
        { name: 'lab3', label: 'OFFLINE' },
        { name: 'lab4', label: 'UNAUTHORIZED' },
      ]).slice(2),
    ).toEqual([
      'NAME     STATUS           CONTAINERS     UPDATE     VERSION',
      'lab1     ONLINE           2/2            true       55dab35 -> 9470cdc',
      'lab2     ONLINE           2 -> 5         true       55dab35',
      'lab3     OFFLINE          -              -          -',
      'lab4     UNAUTHORIZED     -              -          -',
    ]);
  });
  it('prints the stop summary with PURGE and the rollback table', () => {
    expect(stopSummaryLines(demo)).toEqual([
      'Stop job summary:',
      '',
      'NAME     IMAGE                    GROUP',
      'demo     crccheck/hello-world     labs',
    ]);
    const stop = plan({ operation: 'stop', running: 2, total: 2, desired: 0 });
    expect(
      nodeStatusLines('stop', [{ name: 'lab1', label: 'ONLINE', plan: stop }], { purge: true }).slice(2),
    ).toEqual(['NAME     STATUS     CONTAINERS     PURGE', 'lab1     ONLINE     2 -> 0         true']);
    const back = plan({
      operation: 'rollback',
      versionFrom: '9470cdc',
      versionTo: '55dab35',
      running: 2,
      total: 2,
    });
    expect(nodeStatusLines('rollback', [{ name: 'lab1', label: 'ONLINE', plan: back }]).slice(2)).toEqual([
      'NAME     STATUS     CONTAINERS     ROLLBACK     VERSION',
      'lab1     ONLINE     2/2            true         9470cdc -> 55dab35',
    ]);
  });
  it('pads by visible width when a styler adds colour codes', () => {
    const red = (_c: number, text: string) => `\x1b[31m${text}\x1b[39m`;
    const plain = summaryTable(['A', 'B'], [['xx', 'y']]);
    const styled = summaryTable(['A', 'B'], [['xx', 'y']], red).map((l) => l.replace(/\x1b\[\d+m/g, ''));
    expect(styled).toEqual(plain);
  });
});
