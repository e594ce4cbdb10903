import { describe, expect, it } from 'vitest';
import { parseJobText } from '../config/job.js';
import { type JobSpec, JobSpecSchema, type ProxySpec } from '../protocol/job.js';
import { InputErrors } from './errors.js';
import {
  caddyConfig,
  normalizeProxy,
  PROBE_HEADER,
  type Route,
  routeConflict,
  routeLabel,
  routeOrder,
  switchSteps,
  withRoute,
} from './proxy.js';
import { testEntry, testJob, testSpec } from './spec.fixture.js';
import { specVersion } from './version.js';

const proxy = (p: Partial<ProxySpec> = {}): ProxySpec => ({
  port: 80,
  host: null,
  path: null,
  entry: null,
  targetPort: 8000,
  health: null,
  drainMs: 30_000,
  ...p,
});

const paths = { adminSocket: '/data/admin.sock', probeSocket: '/data/probe.sock' };

function errorsOf(text: string): string[] {
  try {
    parseJobText(text, 'job.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(InputErrors);
    return (err as InputErrors).errors.map((e) => e.format());
  }
  throw new Error('expected the job to be rejected');
}

const shop = (block: string, containers = '  - image: web:v1\n') =>
  `name: shop\nnode: n1\ncontainer:\n${containers}proxy:\n${block}`;

describe('the proxy: block', () => {
  it('normalises the spelling of the issue, with defaults for what it leaves out', () => {
    const spec = parseJobText(
      shop(
        '  port: 80\n  host: Shop.Example.com\n  target: 8000\n  health: { path: /up, interval: 1s }\n  drain: 30s\n',
      ),
      'shop.yaml',
    );
    expect(spec.proxy).toEqual({
      port: 80,
      host: 'shop.example.com',
      path: null,
      entry: null,
      targetPort: 8000,
      health: { path: '/up', intervalMs: 1000 },
      drainMs: 30_000,
    });
    const bare = parseJobText(shop('  port: 8080\n  target: 3000\n  path: /api/\n'), 'shop.yaml');
    expect(bare.proxy).toEqual(
      proxy({ port: 8080, path: '/api', targetPort: 3000, drainMs: 30_000, health: null }),
    );
    expect(routeLabel(spec.proxy!)).toBe(':80 shop.example.com → 8000');
    expect(routeLabel(bare.proxy!)).toBe(':8080 /api → 3000');
  });

  it('is absent from the spec of a file without it: a 0.3 file keeps its version', () => {
    const spec = parseJobText('name: shop\nnode: n1\ncontainer:\n  - image: web:v1\n', 'shop.yaml');
    expect('proxy' in spec).toBe(false);
    expect(specVersion(spec)).toBe(specVersion(testSpec({}, { name: 'shop' })));
  });

  it('is part of the version when present: a route change is a new version', () => {
    const plain = testSpec();
    const routed = testSpec({}, { proxy: proxy() });
    const otherHost = testSpec({}, { proxy: proxy({ host: 'b.example.com' }) });
    expect(new Set([specVersion(plain), specVersion(routed), specVersion(otherHost)]).size).toBe(3);
    // Pinned, so that a change to how routes hash is a decision, not an accident.
    expect(specVersion(routed)).toBe(specVersion(testSpec({}, { proxy: proxy() })));
  });

  it('names the entry with several entries (target: web:8000), and its name with one', () => {
    const two = '  - name: web\n    image: web:v1\n  - name: side\n    image: side:v1\n';
    expect(parseJobText(shop('  port: 80\n  target: web:8000\n', two), 'j.yaml').proxy?.entry).toBe('web');
    expect(
      parseJobText(shop('  port: 80\n  target: 8000\n', '  - name: api\n    image: a:1\n'), 'j.yaml').proxy
        ?.entry,
    ).toBe('api');
    expect(errorsOf(shop('  port: 80\n  target: 8000\n', two))).toEqual([
      'job.yaml:10:11 proxy.target: must name the entry the proxy sends requests to, like web:8000 (the job has 2 containers)',
    ]);
    expect(errorsOf(shop('  port: 80\n  target: cache:8000\n', two))).toEqual([
      'job.yaml:10:11 proxy.target: names no entry of the job: "cache" is not one of web, side',
    ]);
  });

  it('refuses bad values at their line, and a container binding the proxy port itself', () => {
    expect(errorsOf(shop('  port: 80\n  target: 8000\n  drain: 11m\n'))).toEqual([
      'job.yaml:8:10 proxy.drain: must be between 0s and 10m',
    ]);
    expect(errorsOf(shop('  port: 80\n  target: 8000\n  host: "not a host"\n'))[0]).toMatch(
      /^job\.yaml:8:9 proxy\.host: must be a host name/,
    );
    expect(errorsOf(shop('  port: 80\n  target: "web:"\n'))[0]).toMatch(
      /proxy\.target: must be a container port/,
    );
    expect(errorsOf(shop('  port: 80\n  target: 8000\n  extra: 1\n'))[0]).toMatch(
      /^job\.yaml:8:3 proxy\.extra: unknown key/,
    );
    expect(
      errorsOf(
        shop(
          '  port: 80\n  target: 8000\n',
          '  - image: web:v1\n    ports:\n      - { in: 8000, out: 80 }\n',
        ),
      ),
    ).toEqual([
      `job.yaml:8:9 proxy.port: port 80 is the proxy's; container[0] cannot bind it too (remove its "out: 80")`,
    ]);
    expect(
      normalizeProxy({ port: 80, target: 8000, health: { path: '/up', interval: '10ms' } }, [testEntry()])
        .issues,
    ).toEqual([{ path: ['health', 'interval'], message: 'must be between 100ms and 1h' }]);
  });

  it('the agent refuses a route to an entry the job does not have (same rule as the CLI)', () => {
    const spec = testJob([testEntry({ name: 'web' }), testEntry({ name: 'side' })], {
      proxy: proxy({ entry: 'cache' }),
    });
    const issues = JobSpecSchema.safeParse(spec).error?.issues.map(
      (i) => `${i.path.join('.')}: ${i.message}`,
    );
    expect(issues).toEqual(['proxy.entry: names no entry of the job: "cache" is not one of web, side']);
    expect(JobSpecSchema.safeParse({ ...spec, proxy: proxy({ entry: 'web' }) }).success).toBe(true);
    expect(JobSpecSchema.safeParse(testSpec({}, { proxy: proxy() })).success).toBe(true);
    const binder = testSpec({ ports: [{ in: 8000, protocol: 'tcp', out: 80 }] }, { proxy: proxy() });
    expect(
      JobSpecSchema.safeParse(binder).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
    ).toEqual([`proxy.port: port 80 is the proxy's; container[0] cannot bind it too (remove its "out: 80")`]);
  });
});

describe('routeConflict: only one job per port, host and path; only the proxy binds routed ports', () => {
  const other = (job: string, spec: Partial<JobSpec>) => ({ job, spec: { ...testSpec(), ...spec } });

  it('names the owner of the same route', () => {
    const mine = testSpec({}, { proxy: proxy({ host: 'a.example.com' }) });
    expect(routeConflict('b', mine, [other('a', { proxy: proxy({ host: 'a.example.com' }) })])).toEqual({
      field: 'proxy.port',
      message:
        'port 80 host a.example.com is already routed to job "a" on this node (give this job another host, path or port)',
    });
    // Another host, another path, another port, or the job itself: no conflict.
    for (const theirs of [
      proxy({ host: 'b.example.com' }),
      proxy({ host: 'a.example.com', path: '/api' }),
      proxy({ host: 'a.example.com', port: 81 }),
    ])
      expect(routeConflict('b', mine, [other('a', { proxy: theirs })])).toBeNull();
    expect(routeConflict('a', mine, [other('a', { proxy: mine.proxy! })])).toBeNull();
  });

  it('a fixed host port against a routed port, both ways', () => {
    const binder = testSpec({ ports: [{ in: 8000, protocol: 'tcp', out: 80 }] });
    const routed = testSpec({}, { proxy: proxy() });
    expect(routeConflict('web', routed, [{ job: 'old', spec: binder }])?.message).toBe(
      'port 80 is bound by job "old" (its ports: out: 80); only the proxy may serve it',
    );
    expect(routeConflict('old', binder, [{ job: 'web', spec: routed }])).toEqual({
      field: 'container.0.ports',
      message:
        'host port 80 is served by the node\'s proxy for job "web"; a job cannot bind it (use a proxy: block)',
    });
    // UDP on the same number is another port.
    const udp = testSpec({ ports: [{ in: 53, protocol: 'udp', out: 80 }] });
    expect(routeConflict('dns', udp, [{ job: 'web', spec: routed }])).toBeNull();
  });
});

describe('caddyConfig', () => {
  const routes: Route[] = [
    { job: 'catchall', proxy: proxy(), upstreams: ['catchall-1'] },
    { job: 'api', proxy: proxy({ host: 'shop.example.com', path: '/api' }), upstreams: ['api-1', 'api-2'] },
    {
      job: 'shop',
      proxy: proxy({ host: 'shop.example.com', health: { path: '/up', intervalMs: 1000 }, drainMs: 45_000 }),
      upstreams: ['shop-1'],
    },
    { job: 'admin', proxy: proxy({ port: 8080, targetPort: 9000 }), upstreams: [] },
  ];

  it('one server per port, the most specific route first, then 404', () => {
    const config = caddyConfig(routes, paths) as {
      admin: unknown;
      apps: {
        http: { grace_period: string; servers: Record<string, { listen: string[]; routes: unknown[] }> };
      };
    };
    expect(config.admin).toEqual({ listen: 'unix//data/admin.sock', origins: ['dokkup-proxy'] });
    expect(config.apps.http.grace_period).toBe('45000ms');
    expect(Object.keys(config.apps.http.servers)).toEqual(['port-80', 'port-8080', 'probe']);
    const on80 = config.apps.http.servers['port-80']!;
    expect(on80.listen).toEqual([':80']);
    expect(on80.routes).toEqual([
      {
        match: [{ host: ['shop.example.com'], path: ['/api', '/api/*'] }],
        handle: [
          {
            handler: 'reverse_proxy',
            upstreams: [{ dial: 'api-1:8000' }, { dial: 'api-2:8000' }],
            load_balancing: {
              selection_policy: { policy: 'round_robin' },
              try_duration: '5s',
              try_interval: '100ms',
            },
          },
        ],
        terminal: true,
      },
      {
        match: [{ host: ['shop.example.com'] }],
        handle: [
          expect.objectContaining({
            upstreams: [{ dial: 'shop-1:8000' }],
            health_checks: { active: { uri: '/up', interval: '1000ms', timeout: '1000ms' } },
          }),
        ],
        terminal: true,
      },
      { handle: [expect.objectContaining({ upstreams: [{ dial: 'catchall-1:8000' }] })], terminal: true },
      { handle: [expect.objectContaining({ handler: 'static_response', status_code: 404 })] },
    ]);
    // A route without a running container answers 503, not another job's containers.
    expect(config.apps.http.servers['port-8080']!.routes[0]).toEqual({
      handle: [expect.objectContaining({ handler: 'static_response', status_code: 503 })],
      terminal: true,
    });
  });

  it('the probe listener reaches every upstream and every probe-only container on its health path', () => {
    const probes: Route[] = [{ job: 'shop', proxy: routes[2]!.proxy, upstreams: ['shop-2'] }];
    const config = caddyConfig(routes, paths, probes) as {
      apps: {
        http: {
          servers: Record<string, { listen: string[]; routes: { match: unknown; handle: unknown[] }[] }>;
        };
      };
    };
    const probe = config.apps.http.servers['probe']!;
    expect(probe.listen).toEqual(['unix//data/probe.sock']);
    expect(probe.routes.map((r) => r.match)).toEqual(
      ['api-1', 'api-2', 'catchall-1', 'shop-1', 'shop-2'].map((n) => [{ header: { [PROBE_HEADER]: [n] } }]),
    );
    expect(probe.routes[4]!.handle).toEqual([
      { handler: 'rewrite', uri: '/up' },
      { handler: 'reverse_proxy', upstreams: [{ dial: 'shop-2:8000' }] },
    ]);
    // Probe-only containers get no traffic on the ports.
    expect(JSON.stringify(config.apps.http.servers['port-80'])).not.toContain('shop-2');
  });

  it('serves published ports without routes (404 rather than a reset) and is stable for one table', () => {
    const config = caddyConfig([], paths, [], [443, 80]) as {
      apps: { http: { servers: Record<string, unknown> } };
    };
    expect(Object.keys(config.apps.http.servers)).toEqual(['port-80', 'port-443', 'probe']);
    expect(caddyConfig([...routes].reverse(), paths)).toEqual(caddyConfig(routes, paths));
    expect([...routes].sort(routeOrder).map((r) => r.job)).toEqual(['api', 'shop', 'admin', 'catchall']);
  });
});

describe('the switch', () => {
  it('adds the new, keeps the kept, drains the removed', () => {
    expect(switchSteps(['a', 'b'], ['b', 'c', 'd'])).toEqual({ add: ['c', 'd'], keep: ['b'], drain: ['a'] });
    expect(switchSteps([], ['a'])).toEqual({ add: ['a'], keep: [], drain: [] });
    expect(switchSteps(['a'], [])).toEqual({ add: [], keep: [], drain: ['a'] });
  });

  it('replaces one job’s route and leaves the others', () => {
    const a: Route = { job: 'a', proxy: proxy(), upstreams: ['a-1'] };
    const b: Route = { job: 'b', proxy: proxy({ port: 81 }), upstreams: ['b-1'] };
    const b2: Route = { ...b, upstreams: ['b-2'] };
    expect(withRoute([b, a], 'b', b2)).toEqual([a, b2]);
    expect(withRoute([a, b], 'a', null)).toEqual([b]);
  });
});
