import { describe, expect, it } from 'vitest';
import { parseJobText } from '../config/job.js';
import type { ContainerSpec, JobSpec } from '../protocol/job.js';
import { normalizeJob } from './spec.js';
import { shopJobFile03 } from './version.fixture.js';
import { canonicalJson, fullVersion, specVersion } from './version.js';

const base: JobSpec = normalizeJob({
  name: 'web',
  group: 'labs',
  count: 2,
  container: [
    {
      image: 'nginx:alpine',
      command: ['nginx', '-g', 'daemon off;'],
      entrypoint: ['/docker-entrypoint.sh'],
      ports: [{ in: 80 }, { in: '53/udp' }],
      restart: 'always',
      labels: ['a=1', 'b=2'],
      environment: ['X=1'],
      volumes: ['data:/data'],
      networks: ['front', 'back'],
      healthcheck: { test: 'true', interval: '5s', timeout: '2s', retries: 3, start_period: '1s' },
      resources: { cpus: 0.5, memory: '256m' },
    },
  ],
});

const SHOP_0_3 = shopJobFile03();

const withContainer = (patch: Partial<ContainerSpec>): JobSpec => ({
  ...base,
  container: [{ ...base.container[0]!, ...patch }],
});
const hc = base.container[0]!.healthcheck!;

describe('specVersion', () => {
  it('is 7 hex characters, the prefix of the full SHA-256', () => {
    expect(specVersion(base)).toMatch(/^[0-9a-f]{7}$/);
    expect(fullVersion(base)).toMatch(/^[0-9a-f]{64}$/);
    expect(fullVersion(base).startsWith(specVersion(base))).toBe(true);
  });

  it('is a fixed value for a fixed spec (same on every node, every run, every release)', () => {
    // If this changes, every deployed job would look out of date after an upgrade.
    const hello = parseJobText(
      'name: hello\ngroup: web\ncontainer:\n  - image: traefik/whoami:latest\n',
      'x.yaml',
    );
    expect(canonicalJson(hello.container[0])).toBe(
      '{"command":null,"entrypoint":null,"environment":{},"healthcheck":null,"image":"traefik/whoami:latest",' +
        '"labels":{},"networks":["bridge"],"ports":[],"pull":"missing","resources":{"memoryBytes":null,"nanoCpus":null},' +
        '"restart":"always","volumes":[]}',
    );
    expect(specVersion(hello)).toBe(specVersion(structuredClone(hello)));
    expect(fullVersion(hello)).toBe('b5f56bca9bbefa59940d8bcf7d7369f58d0b506c064f97e597dd50c01e2539ee');
  });

  it('keeps the exact version 0.3 gave a job file that uses every 0.3 field (upgrading never redeploys)', () => {
    // Computed with dokkup 0.3 (main before the stop fields existed). Never change these literals.
    const shop = parseJobText(SHOP_0_3, 'shop.yaml');
    expect(fullVersion(shop)).toBe('61c7e12aad8d065570a3b16c5b340e9e3630c3f76ab1626609536ad2aff19ca5');
    expect(specVersion(shop)).toBe('61c7e12');
    expect(Object.keys(shop.container[0]!)).toEqual([
      'image',
      'command',
      'entrypoint',
      'ports',
      'restart',
      'labels',
      'environment',
      'volumes',
      'networks',
      'healthcheck',
      'resources',
      'pull',
    ]);
  });

  it.each([
    ['stop_grace_period: 10s', { stopGracePeriodMs: 10_000 }],
    ['stop_grace_period: 30s', { stopGracePeriodMs: 30_000 }],
    ['stop_signal: SIGTERM', { stopSignal: 'SIGTERM' }],
    ['stop_signal: SIGQUIT', { stopSignal: 'SIGQUIT' }],
    ['init: true', { init: true }],
    ['init: false', { init: false }],
  ])('setting %s changes the version (it changes the container Docker creates)', (line, field) => {
    const set = parseJobText(
      SHOP_0_3.replace('    pull: always\n', `    pull: always\n    ${line}\n`),
      'x.yaml',
    );
    expect(set.container[0]).toMatchObject(field);
    expect(specVersion(set)).not.toBe('61c7e12');
  });

  it('each stop field spelling of one meaning gives one version', () => {
    const v = (line: string) =>
      specVersion(
        parseJobText(SHOP_0_3.replace('    pull: always\n', `    pull: always\n    ${line}\n`), 'x.yaml'),
      );
    expect(v('stop_signal: 15')).toBe(v('stop_signal: SIGTERM'));
    expect(v('stop_signal: term')).toBe(v('stop_signal: SIGTERM'));
    expect(v('stop_grace_period: 60')).toBe(v('stop_grace_period: 1m'));
  });

  it('ignores YAML key order, formatting, quoting and list-vs-map spellings', () => {
    const a = parseJobText(
      `name: web
group: labs
count: 2
container:
  - image: "nginx:alpine"
    labels:
      - b=2
      - "a=1"
    environment:
      - X=1
      - Y=two words
    ports:
      - in: 80
      - in: 53/udp
    volumes: [b:/b, a:/a]
    command: nginx -g "daemon off;"
    healthcheck:
      test: curl -f http://localhost/
      interval: 1m30s
    resources: {cpus: 0.5, memory: 256m}
`,
      'a.yaml',
    );
    const b = parseJobText(
      `# same job, written differently
container:
- resources:
    memory: 268435456
    cpus: "0.5"
  healthcheck: {interval: 90, test: ["CMD-SHELL", "curl -f http://localhost/"]}
  command: [nginx, -g, daemon off;]
  volumes:
  - a:/a
  - b:/b
  ports: [{in: "53/udp"}, {in: 80}]
  environment: {Y: two words, X: 1}
  labels: {a: "1", b: 2}
  image: nginx:alpine
  restart: always
  pull: missing
count: 2
name: web
group: labs
`,
      'b.yaml',
    );
    expect(b).toEqual(a);
    expect(specVersion(b)).toBe(specVersion(a));
  });

  it('does not change with count, name, targets, update policy or pull', () => {
    const v = fullVersion(base);
    expect(fullVersion({ ...base, count: 7 })).toBe(v);
    expect(fullVersion({ ...base, name: 'other' })).toBe(v);
    expect(fullVersion({ ...base, target: { kind: 'nodes', nodes: ['x'] } })).toBe(v);
    expect(fullVersion({ ...base, update: { healthyDeadlineMs: 1000, minHealthyMs: 0 } })).toBe(v);
    expect(fullVersion(withContainer({ pull: 'always' }))).toBe(v);
  });

  const changes: [string, Partial<ContainerSpec>][] = [
    ['image', { image: 'nginx:1.27-alpine' }],
    ['command', { command: ['nginx', '-g', 'daemon on;'] }],
    ['command removed', { command: null }],
    ['entrypoint', { entrypoint: ['/other.sh'] }],
    [
      'port in',
      {
        ports: [
          { in: 81, protocol: 'tcp', out: null },
          { in: 53, protocol: 'udp', out: null },
        ],
      },
    ],
    [
      'port protocol',
      {
        ports: [
          { in: 80, protocol: 'udp', out: null },
          { in: 53, protocol: 'udp', out: null },
        ],
      },
    ],
    [
      'port out',
      {
        ports: [
          { in: 80, protocol: 'tcp', out: 8080 },
          { in: 53, protocol: 'udp', out: null },
        ],
      },
    ],
    ['restart', { restart: 'unless-stopped' }],
    ['label value', { labels: { a: '1', b: '3' } }],
    ['label added', { labels: { a: '1', b: '2', c: '' } }],
    ['environment', { environment: { X: '2' } }],
    ['volumes', { volumes: ['data:/data:ro'] }],
    ['network order', { networks: ['back', 'front'] }],
    ['network added', { networks: ['front', 'back', 'bridge'] }],
    ['healthcheck test', { healthcheck: { ...hc, test: ['CMD-SHELL', 'false'] } }],
    ['healthcheck interval', { healthcheck: { ...hc, intervalMs: 6000 } }],
    ['healthcheck timeout', { healthcheck: { ...hc, timeoutMs: 3000 } }],
    ['healthcheck retries', { healthcheck: { ...hc, retries: 4 } }],
    ['healthcheck start period', { healthcheck: { ...hc, startPeriodMs: 2000 } }],
    ['healthcheck removed', { healthcheck: null }],
    ['cpus', { resources: { ...base.container[0]!.resources, nanoCpus: 1_000_000_000 } }],
    ['memory', { resources: { ...base.container[0]!.resources, memoryBytes: 512 * 1024 ** 2 } }],
  ];
  it.each(changes)('changes when %s changes', (_what, patch) => {
    expect(specVersion(withContainer(patch))).not.toBe(specVersion(base));
  });

  it('gives every variant above a distinct version', () => {
    const versions = new Set([fullVersion(base), ...changes.map(([, p]) => fullVersion(withContainer(p)))]);
    expect(versions.size).toBe(changes.length + 1);
  });
});

describe('specVersion of a job with several entries', () => {
  const TWO = `name: shop
group: web
count: 2
container:
  - name: web
    image: 127.0.0.1:5000/shop:1.4.2
    ports:
      - in: 8000
    networks: [shop]
  - name: log
    image: 127.0.0.1:5000/shipper:2
    command: ["sh", "-c", "while true; do wget -qO- http://web:8000/; sleep 1; done"]
    networks: [shop]
`;
  const two = () => parseJobText(TWO, 'shop.yaml');

  it('is a fixed value for a fixed two-entry file', () => {
    // Pinned like the 0.3 hash above: a later dokkup must keep it, or every such job redeploys.
    expect(fullVersion(two())).toBe('5b92dfb59f4c641321af340e4e8969324ce226f55b5a9b308ec325476f13703b');
  });

  it('does not depend on the order of the entries (they start together, in no order)', () => {
    const [web, log] = TWO.split('  - name: ').slice(1);
    const swapped = parseJobText(`${TWO.split('  - name: ')[0]}  - name: ${log}  - name: ${web}`, 's.yaml');
    expect(swapped.container.map((e) => e.name)).toEqual(['log', 'web']);
    expect(fullVersion(swapped)).toBe(fullVersion(two()));
  });

  it('changes when any entry changes, when an entry is renamed, added or removed', () => {
    const v = fullVersion(two());
    const edit = (from: string, to: string) => fullVersion(parseJobText(TWO.replace(from, to), 'x.yaml'));
    expect(edit('shipper:2', 'shipper:3')).not.toBe(v);
    expect(edit('sleep 1', 'sleep 2')).not.toBe(v);
    expect(edit('- name: log', '- name: logs')).not.toBe(v);
    expect(edit('      - in: 8000\n', '      - in: 8001\n')).not.toBe(v);
    const three = parseJobText(`${TWO}  - name: cache\n    image: redis:7\n`, 'x.yaml');
    expect(fullVersion(three)).not.toBe(v);
    expect(fullVersion({ ...two(), count: 9 })).toBe(v);
  });

  it('one entry keeps the 0.3 hash; giving it a name is a new version (its containers change)', () => {
    const unnamed = parseJobText(SHOP_0_3, 'shop.yaml');
    const named = parseJobText(SHOP_0_3.replace('  - image:', '  - name: web\n    image:'), 'shop.yaml');
    expect(specVersion(unnamed)).toBe('61c7e12');
    expect(named.container[0]!.name).toBe('web');
    expect(specVersion(named)).not.toBe('61c7e12');
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and keeps list order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1], c: null } })).toBe('{"a":{"c":null,"d":[3,1]},"b":1}');
    expect(canonicalJson({ a: undefined, b: 'x' })).toBe('{"b":"x"}');
  });
});
