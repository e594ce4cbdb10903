import { describe, expect, it } from 'vitest';
import type { ContainerSpec, JobSpec } from '../protocol/job.js';
import { describeDiff } from './format.js';
import { testEntry, testJob, testRoute, testSpec } from './spec.fixture.js';
import { diffSpecs, imagesDiffGoesTo } from './spec-diff.js';

const two = (web: Partial<ContainerSpec> = {}, side: Partial<ContainerSpec> = {}, count = 2): JobSpec =>
  testJob(
    [
      testEntry({ name: 'web', image: 'web:v1', ...web }),
      testEntry({ name: 'side', image: 'side:v1', ...side }),
    ],
    { count },
  );
const none = { added: [], removed: [], changed: [] };

describe('diffSpecs with named entries', () => {
  it('names the entry that changed, with only its changes; unchanged entries are left out', () => {
    const d = diffSpecs(two(), two({}, { image: 'side:v2', environment: { TOKEN: 's3cret' } }));
    expect(d).toEqual({
      environment: none,
      labels: none,
      other: [],
      imageIdChanged: false,
      entries: [
        {
          name: 'side',
          change: 'changed',
          image: 'side:v2',
          diff: {
            image: { from: 'side:v1', to: 'side:v2' },
            environment: { added: ['TOKEN'], removed: [], changed: [] },
            labels: none,
            other: [],
          },
        },
      ],
    });
    expect(JSON.stringify(d)).not.toMatch(/s3cret/);
  });

  it('masks per entry: a command built from variables is named under its entry, never shown', () => {
    const masked = (command: string[]): Partial<ContainerSpec> => ({ command, maskedFields: ['command'] });
    const d = diffSpecs(
      two({ command: ['serve', 'a'] }, masked(['fetch', 'old-secret'])),
      two(
        { command: ['serve', 'b'] },
        { ...masked(['fetch', 'new-secret']), environment: { DB_PASSWORD: 'x' } },
      ),
    );
    const lines = describeDiff(d);
    expect(lines).toEqual([
      '~ web: command: serve a -> serve b',
      '+ side: environment: DB_PASSWORD',
      '~ side: command',
    ]);
    expect(JSON.stringify(d)).not.toMatch(/secret|DB_PASSWORD":/);
    // The entry that is not masked shows its values; an unchanged masked entry is not mentioned.
    const unchanged = diffSpecs(
      two({}, masked(['fetch', 's'])),
      two({ image: 'web:v2' }, masked(['fetch', 's'])),
    );
    expect(describeDiff(unchanged)).toEqual(['~ web: image: web:v1 -> web:v2']);
  });

  it('the images a diff goes to: added and changed entries (a rollback pulls them with its own credentials)', () => {
    const to = testJob([
      testEntry({ name: 'web', image: 'web:v0' }),
      testEntry({ name: 'cache', image: 'redis:7' }),
    ]);
    expect(imagesDiffGoesTo(diffSpecs(two(), to))).toEqual(['web:v0', 'redis:7']);
    expect(imagesDiffGoesTo(diffSpecs(testSpec({ image: 'a' }), testSpec({ image: 'b' })))).toEqual(['b']);
    expect(imagesDiffGoesTo(diffSpecs(two(), two()))).toEqual([]);
    expect(imagesDiffGoesTo(null)).toEqual([]);
  });

  it('an added and a removed entry; a count change stays at the top', () => {
    const from = two();
    const to = testJob(
      [testEntry({ name: 'web', image: 'web:v1' }), testEntry({ name: 'cache', image: 'redis:7' })],
      { count: 3 },
    );
    const d = diffSpecs(from, to);
    expect(d.count).toEqual({ from: 2, to: 3 });
    expect(d.entries).toEqual([
      { name: 'cache', change: 'added', image: 'redis:7' },
      { name: 'side', change: 'removed', image: 'side:v1' },
    ]);
  });

  it('a first deploy lists every entry as added', () => {
    expect(diffSpecs(null, two()).entries).toEqual([
      { name: 'web', change: 'added', image: 'web:v1' },
      { name: 'side', change: 'added', image: 'side:v1' },
    ]);
  });

  it('naming a one-entry job, and adding a sidecar to it: the first entry is the same container, renamed', () => {
    const single = testSpec({ image: 'web:v1' }, { count: 2 });
    const d = diffSpecs(single, two());
    expect(d.entries).toEqual([
      {
        name: 'web',
        change: 'changed',
        image: 'web:v1',
        diff: { name: { from: null, to: 'web' }, environment: none, labels: none, other: [] },
      },
      { name: 'side', change: 'added', image: 'side:v1' },
    ]);
  });

  it('one unnamed entry on both sides keeps the 0.3 shape, key order included', () => {
    const d = diffSpecs(null, testSpec({ image: 'b' }));
    expect(Object.keys(d)).toEqual([
      'environment',
      'labels',
      'other',
      'imageIdChanged',
      'image',
      'count',
      'ports',
    ]);
    expect(d).not.toHaveProperty('entries');
  });
});

describe('diffSpecs with a route on the node proxy', () => {
  const route = testRoute();

  it('names the route when it changes (added, moved, tuned, removed), and nothing without one', () => {
    const plain = testSpec();
    const routed = testSpec({}, { proxy: route });
    const described = ':80 shop.example.com → 8000 (health /up every 1s, drain 30s)';
    expect(diffSpecs(plain, routed).route).toEqual({ from: null, to: described });
    expect(diffSpecs(routed, testSpec({}, { proxy: { ...route, host: 'b.example.com' } })).route).toEqual({
      from: described,
      to: ':80 b.example.com → 8000 (health /up every 1s, drain 30s)',
    });
    expect(
      diffSpecs(routed, testSpec({}, { proxy: { ...route, health: null, drainMs: 5000 } })).route?.to,
    ).toBe(':80 shop.example.com → 8000 (no health check, drain 5s)');
    expect(diffSpecs(routed, plain).route).toEqual({ from: described, to: null });
    expect(diffSpecs(routed, routed)).not.toHaveProperty('route');
    expect(diffSpecs(plain, testSpec({ image: 'web:v2' }))).not.toHaveProperty('route');
  });
});
