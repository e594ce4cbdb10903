/**
 * The CLI's tables and plan lines for a job with several containers (named entries), as exact
 * text. One-entry jobs keep the original dokkup's tables (tables.test.ts proves those).
 */
import { describe, expect, it } from 'vitest';
import { testEntry, testJob } from '../../core/spec.fixture.js';
import { diffSpecs } from '../../core/spec-diff.js';
import type { ContainerInfo, JobStatus } from '../../protocol/api.js';
import { describeDiff } from './diff.js';
import {
  jobSummaryOf,
  renderDeploymentSummary,
  renderHistory,
  renderShowJob,
  renderStopSummary,
} from './tables.js';

const text = (lines: string[]) => lines.join('\n');

const shop = (side = 'shipper:2') =>
  testJob(
    [
      testEntry({ name: 'web', image: 'shop:1.4', networks: ['shop'] }),
      testEntry({ name: 'log', image: side, restart: 'on-failure', networks: ['shop', 'logs'] }),
    ],
    { name: 'shop', count: 2, target: { kind: 'group', group: 'labs' } },
  );

describe('a job with named entries', () => {
  it('Deployment summary: an ENTRY column, one row per entry', () => {
    expect(text(renderDeploymentSummary(jobSummaryOf(shop())))).toBe(
      `Deployment summary:

NAME     ENTRY     IMAGE         RESTART        COUNT     GROUP     NETWORK
shop     web       shop:1.4      always         2         labs      shop
shop     log       shipper:2     on-failure     2         labs      shop,logs`,
    );
  });

  it('Stop job summary: one row per entry', () => {
    expect(text(renderStopSummary(jobSummaryOf(shop())))).toBe(
      `Stop job summary:

NAME     ENTRY     IMAGE         GROUP
shop     web       shop:1.4      labs
shop     log       shipper:2     labs`,
    );
  });

  it('plan diff lines name the entry that changed', () => {
    const next = testJob(
      [
        testEntry({ name: 'web', image: 'shop:1.4', networks: ['shop'] }),
        testEntry({
          name: 'log',
          image: 'shipper:3',
          restart: 'on-failure',
          networks: ['shop', 'logs'],
          environment: { LEVEL: 'debug' },
        }),
        testEntry({ name: 'cache', image: 'redis:7' }),
      ],
      { name: 'shop', count: 3 },
    );
    expect(describeDiff(diffSpecs(shop(), next))).toEqual([
      '~ count: 2 -> 3',
      '~ log: image: shipper:2 -> shipper:3',
      '+ log: environment: LEVEL',
      '+ cache: new container (redis:7)',
    ]);
    const fewer = testJob([testEntry({ name: 'web', image: 'shop:1.4', networks: ['shop'] })], {
      name: 'shop',
      count: 2,
    });
    expect(describeDiff(diffSpecs(shop(), fewer))).toEqual(['- log: removed (shipper:2)']);
  });

  it('show job: an ENTRY column and a row per entry; the containers table names each entry', () => {
    const c = (id: string, entry: string, replica: string): ContainerInfo => ({
      id,
      name: `shop-${entry}-${replica}`,
      job: 'shop',
      version: '5b92dfb',
      entry,
      replica,
      image: entry === 'web' ? 'shop:1.4' : 'shipper:2',
      imageId: 'sha256:abc',
      state: 'running',
      status: 'Up 2 minutes',
      health: 'none',
      ports: [],
      createdAt: 0,
    });
    const status: JobStatus = {
      name: 'shop',
      version: '5b92dfb',
      image: 'shop:1.4',
      desired: 2,
      running: 2,
      total: 2,
      containers: [c('aaaaaaaaaaaa1', 'web', 'r1'), c('bbbbbbbbbbbb1', 'log', 'r1')],
      entries: [
        { name: 'web', image: 'shop:1.4', desired: 1, running: 1, total: 1 },
        { name: 'log', image: 'shipper:2', desired: 1, running: 1, total: 1 },
      ],
    };
    expect(
      text(
        renderShowJob([{ name: 'lab1', location: '10.0.0.1:8080', label: 'ONLINE', job: 'shop', status }]),
      ),
    ).toBe(
      `NODE     LOCATION          STATUS     JOB      ENTRY     IMAGE         CONTAINERS     VERSION
lab1     10.0.0.1:8080     ONLINE     shop     web       shop:1.4      1/1            5b92dfb
lab1     10.0.0.1:8080     ONLINE     shop     log       shipper:2     1/1            5b92dfb

CONTAINER ID     ENTRY     NAME            STATUS           PORTS
aaaaaaaaaaaa     web       shop-web-r1     Up 2 minutes
bbbbbbbbbbbb     log       shop-log-r1     Up 2 minutes`,
    );
  });

  it('history: IMAGE lists entry=image', () => {
    const history = {
      job: 'shop',
      current: '5b92dfb',
      entries: [
        {
          version: '5b92dfb',
          image: 'shop:1.4',
          entries: [
            { name: 'web', image: 'shop:1.4' },
            { name: 'log', image: 'shipper:2' },
          ],
          count: 2,
          deployedAt: '2025-03-02T11:30:15.123Z',
          current: true,
        },
      ],
    };
    expect(text(renderHistory([{ name: 'lab1', label: 'ONLINE', history }]))).toBe(
      `NODE     STATUS     VERSION     IMAGE                           COUNT     DEPLOYED                 CURRENT
lab1     ONLINE     5b92dfb     web=shop:1.4, log=shipper:2     2         2025-03-02T11:30:15Z     true`,
    );
  });
});
