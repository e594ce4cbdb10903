import { describe, expect, it } from 'vitest';
import { fitColumns } from '../columns.js';
import { headerSummary } from '../select/header.js';
import { apply, container, fleet, jobStatus, probed } from '../store.fixture.js';
import { driftText, jobRows, jobsPanel, versionText } from './jobs.js';

/** A two-entry job `shop` (web + log) on a node: one replica running, one with its log stopped. */
function shopOn(node: string, ...others: ReturnType<typeof jobStatus>[]) {
  return shopWithLogs(node, 1, ...others);
}

function shopWithLogs(node: string, logsRunning: number, ...others: ReturnType<typeof jobStatus>[]) {
  const web = [1, 2].map((i) =>
    container('shop', i, { name: `shop-web-${i}`, entry: 'web', replica: `r${i}` }),
  );
  const log = [1, 2].map((i) =>
    container('shop', 10 + i, {
      name: `shop-log-${i}`,
      entry: 'log',
      replica: `r${i}`,
      image: '127.0.0.1:5000/shipper:2',
      state: i <= logsRunning ? 'running' : 'exited',
    }),
  );
  return probed(node, [
    jobStatus('shop', [...web, ...log], {
      desired: 4,
      entries: [
        { name: 'web', image: '127.0.0.1:5000/shop:v1', desired: 2, running: 2, total: 2 },
        { name: 'log', image: '127.0.0.1:5000/shipper:2', desired: 2, running: logsRunning, total: 2 },
      ],
    }),
    ...others,
  ]);
}

describe('jobs panel', () => {
  it('a job with named entries: the ENTRY column lists them, the info pane sums each over the nodes', () => {
    const s = apply(fleet(), shopOn('lab1'), shopOn('lab2', jobStatus('api', [container('api', 1)])));
    const shop = jobRows(s).find((j) => j.job === 'shop')!;
    expect(shop.entries).toEqual([
      { name: 'web', image: '127.0.0.1:5000/shop:v1', running: 4, desired: 4 },
      { name: 'log', image: '127.0.0.1:5000/shipper:2', running: 2, desired: 4 },
    ]);
    expect(shop).toMatchObject({ running: 6, desired: 8, drift: '-2 lab1,lab2' });
    const columns = fitColumns(jobsPanel.columns, 120);
    const cells = jobsPanel.cells(shop, columns, s);
    expect(cells[columns.findIndex((c) => c.id === 'entry')]).toEqual({ text: 'web,log' });
    expect(jobsPanel.info(shop, s)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Entry {7}log {12}127\.0\.0\.1:5000\/shipper:2 +2\/4$/),
      ]),
    );
    // A one-entry job shows a dimmed dash.
    const web = jobRows(s).find((j) => j.job === 'api')!;
    expect(web.entries).toEqual([]);
    expect(jobsPanel.cells(web, columns, s)[columns.findIndex((c) => c.id === 'entry')]).toEqual({
      text: '-',
      tone: 'dim',
    });
    expect(shop.search).toContain('log');
  });

  it('a job served through the node proxies: the ROUTE column and the info pane show its route', () => {
    const route = (node: string, n: number) => ({
      route: ':80 shop.example.com → 8000',
      port: 80,
      host: 'shop.example.com',
      path: null,
      entry: null,
      targetPort: 8000,
      upstreams: Array.from({ length: n }, (_, i) => ({
        container: `web-${node}-${i}`,
        address: `web-${node}-${i}:8000`,
        healthy: null,
      })),
    });
    const on = (node: string, n: number) =>
      probed(node, [
        jobStatus('web', [container('web', 1), container('web', 2)], { route: route(node, n) }),
        jobStatus('api', [container('api', 1)]),
      ]);
    const s = apply(fleet(), on('lab1', 2), on('lab2', 1));
    const web = jobRows(s).find((j) => j.job === 'web')!;
    expect(web).toMatchObject({ route: ':80 shop.example.com → 8000', upstreams: 3 });
    const columns = fitColumns(jobsPanel.columns, 160);
    const at = columns.findIndex((c) => c.id === 'route');
    expect(columns[at]?.title).toBe('ROUTE');
    expect(jobsPanel.cells(web, columns, s)[at]).toEqual({ text: ':80 shop.example.com → 8000' });
    expect(jobsPanel.info(web, s)).toContain(
      'Route       :80 shop.example.com → 8000 (3 containers behind the proxies)',
    );
    const api = jobRows(s).find((j) => j.job === 'api')!;
    expect(jobsPanel.cells(api, columns, s)[at]).toEqual({ text: '-', tone: 'dim' });
    // The least important column: the first to go on a narrow terminal.
    const narrow = fitColumns(jobsPanel.columns, 72).map((c) => c.id);
    expect(narrow).not.toContain('route');
    expect(narrow).toContain('image');
  });

  it('keeps the entries up to date node by node (the table is rebuilt only for the nodes that changed)', () => {
    const s = apply(fleet(), shopOn('lab1'), shopOn('lab2'));
    const before = jobRows(s).find((j) => j.job === 'shop')!;
    expect(before.entries.map((e) => `${e.name} ${e.running}/${e.desired}`)).toEqual(['web 4/4', 'log 2/4']);
    const healed = apply(s, shopWithLogs('lab1', 2));
    const after = jobRows(healed).find((j) => j.job === 'shop')!;
    expect(after.entries.map((e) => `${e.name} ${e.running}/${e.desired}`)).toEqual(['web 4/4', 'log 3/4']);
    const gone = apply(healed, probed('lab2', []));
    expect(
      jobRows(gone)
        .find((j) => j.job === 'shop')!
        .entries.map((e) => `${e.name} ${e.running}`),
    ).toEqual(['web 2', 'log 2']);
  });

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
