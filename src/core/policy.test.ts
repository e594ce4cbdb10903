import { describe, expect, it } from 'vitest';
import type { JobSpec } from '../protocol/job.js';
import {
  type AgentPolicy,
  bindRootProblem,
  DEFAULT_POLICY,
  type HostFacts,
  hostPathOf,
  isUnder,
  normalizeHostPath,
  policyViolations,
  type ResolvedHostPath,
} from './policy.js';
import { testSpec } from './spec.fixture.js';

const spec = (volumes: string[], networks = ['bridge']): JobSpec =>
  testSpec({ volumes, networks }, { update: { healthyDeadlineMs: 1000, minHealthyMs: 0 } });

const ROOTED: AgentPolicy = {
  ...DEFAULT_POLICY,
  bindRoots: ['/srv/dokkup'],
  protectedPaths: [{ path: '/srv/agent-data', what: "the agent's own data" }],
};

function facts(
  binds: Record<number, ResolvedHostPath>,
  networks: Record<string, string | null> = {},
): HostFacts {
  return {
    binds: new Map(Object.entries(binds).map(([i, r]) => [Number(i), r])),
    networkDrivers: new Map(Object.entries(networks)),
  };
}

describe('host paths', () => {
  it('normalises //, ., .., a trailing / and tells binds from named volumes', () => {
    expect(hostPathOf('data:/data')).toBeNull();
    expect(hostPathOf('/data')).toBeNull();
    expect(hostPathOf('/srv/app/:/app:ro')).toBe('/srv/app');
    expect(hostPathOf('/var/run/../run/docker.sock:/s')).toBe('/var/run/docker.sock');
    expect(hostPathOf('//:/host')).toBe('/');
    expect(normalizeHostPath('//srv//./a/../b/')).toBe('/srv/b');
    expect(normalizeHostPath('/../..')).toBe('/');
    expect(normalizeHostPath('srv/a')).toBeNull();
  });

  it('decides "under" by whole path components', () => {
    expect(isUnder('/srv/dokkup', '/srv/dokkup')).toBe(true);
    expect(isUnder('/srv/dokkup/a', '/srv/dokkup')).toBe(true);
    expect(isUnder('/srv/dokkupx', '/srv/dokkup')).toBe(false);
    expect(isUnder('/srv', '/srv/dokkup')).toBe(false);
    expect(isUnder('/SRV/Dokkup/a', '/srv/dokkup')).toBe(false);
    expect(isUnder('/SRV/Dokkup/a', '/srv/dokkup', true)).toBe(true);
  });
});

describe('the bind policy over many spellings (bind root /srv/dokkup)', () => {
  const refused: [volume: string, why: RegExp][] = [
    ['/:/host', /whole filesystem/],
    ['//:/host', /whole filesystem/],
    ['/./:/host', /whole filesystem/],
    ['/srv/dokkup/../..:/x', /whole filesystem/],
    ['/srv/dokkup/..:/x', /agent's own data/],
    ['/srv/dokkup/../../etc:/e', /configuration/],
    ['/etc:/e', /configuration/],
    ['/etc/:/e', /configuration/],
    ['/etc/cron.d:/c', /configuration/],
    ['//etc//cron.d/:/c', /configuration/],
    ['/etc/./cron.d:/c', /configuration/],
    ['/ETC/cron.d:/c', /configuration/],
    ['/root:/r', /root's home/],
    ['/root/.ssh:/k', /root's home/],
    ['/home:/h', /ssh keys/],
    ['/home/alice:/h', /ssh keys/],
    ['/home/alice/.ssh:/k:ro', /ssh keys/],
    ['/home/alice/.ssh/authorized_keys:/k', /ssh keys/],
    ['/usr:/u', /programs/],
    ['/usr/bin:/b', /programs/],
    ['/bin:/b', /programs/],
    ['/sbin/init:/i', /programs/],
    ['/lib/modules:/m', /libraries/],
    ['/lib64:/l', /libraries/],
    ['/boot:/boot', /kernel and boot/],
    ['/proc:/p', /processes/],
    ['/proc/1/root:/host', /processes/],
    ['/proc/self/root/:/host', /processes/],
    ['/proc/sys/kernel:/k', /processes/],
    ['/sys:/s', /kernel interfaces/],
    ['/sys/fs/cgroup:/cg', /kernel interfaces/],
    ['/dev:/dev', /devices/],
    ['/dev/sda:/disk', /devices/],
    ['/dev/mem:/m', /devices/],
    ['/run:/r', /runtime sockets/],
    ['/run/containerd/containerd.sock:/c.sock', /runtime sockets/],
    ['/run/docker.sock:/d.sock', /runtime sockets/],
    ['/var/run/docker.sock:/var/run/docker.sock', /runtime sockets/],
    ['/var/run/docker.sock:/s:ro', /runtime sockets/],
    ['/var/run/../run/docker.sock:/s', /runtime sockets/],
    ['/var/lib/docker:/d', /Docker's data/],
    ['/var/lib/docker/volumes:/v', /Docker's data/],
    ['/var/lib/docker/volumes/x/_data:/v', /Docker's data/],
    ['/var/lib/containerd:/c', /containerd's data/],
    ['/var:/v', /runtime sockets|Docker's data/],
    ['/var/lib:/l', /Docker's data|containerd/],
    ['/srv/agent-data:/d', /agent's own data/],
    ['/srv/agent-data/jobs:/d', /agent's own data/],
    ['/srv:/s', /agent's own data/],
    ['/srv/other:/s', /outside the bind roots/],
    ['/srv/dokkupx:/s', /outside the bind roots/],
    ['/srv/dokkup2/app:/a', /outside the bind roots/],
    ['/srv/dokkup/../dokkup-evil:/x', /outside the bind roots/],
    ['/tmp:/t', /outside the bind roots/],
    ['/opt/app:/a', /outside the bind roots/],
    ['/srv/Dokkup/app:/a', /outside the bind roots/],
  ];

  it.each(refused)('refuses %s, naming the field', (volume, why) => {
    const found = policyViolations(spec(['cache:/cache', volume]), ROOTED);
    expect(found).toHaveLength(1);
    expect(found[0]!.field).toBe('container.volumes.1');
    expect(found[0]!.message).toContain(`"${volume}"`);
    expect(found[0]!.message).toMatch(why);
  });

  const allowed = [
    '/srv/dokkup:/data',
    '/srv/dokkup/:/data',
    '/srv/dokkup/app:/app',
    '/srv/dokkup/app/:/app:ro',
    '//srv//dokkup/app:/app',
    '/srv/./dokkup/app:/app',
    '/srv/dokkup/a/../b:/b',
    '/srv/dokkup/app:/app:ro,Z',
    '/srv/dokkup/.ssh:/k',
    '/srv/dokkup/etc:/etc',
    '/srv/dokkup/var/run:/var/run',
    'data:/data',
    'cache:/cache:nocopy',
    '/anonymous',
  ];

  it.each(allowed)('allows %s', (volume) => {
    expect(policyViolations(spec([volume]), ROOTED)).toEqual([]);
  });

  it('compares case-insensitively under the roots only where the filesystem folds case', () => {
    expect(policyViolations(spec(['/srv/Dokkup/app:/a']), { ...ROOTED, foldCase: true })).toEqual([]);
    // System paths stay refused in every spelling.
    expect(policyViolations(spec(['/Etc:/e']), { ...ROOTED, bindRoots: ['/'], foldCase: true })).toHaveLength(
      1,
    );
  });

  it('refuses every bind by default, saying how to allow some', () => {
    const [found] = policyViolations(spec(['/srv/www:/www:ro']), DEFAULT_POLICY);
    expect(found?.message).toMatch(/allows no host binds.*--bind-root/);
    expect(policyViolations(spec(['data:/data']), DEFAULT_POLICY)).toEqual([]);
  });

  it('allows anything with --allow-host-binds (0.3 behaviour, on request)', () => {
    const volumes = ['/var/run/docker.sock:/s', '/:/host', '/etc:/e'];
    expect(policyViolations(spec(volumes), { ...DEFAULT_POLICY, allowHostBinds: true })).toEqual([]);
  });

  it('reports every offending volume, not just the first', () => {
    const found = policyViolations(spec(['/etc:/e', '/srv/dokkup/ok:/ok', '/proc:/p']), ROOTED);
    expect(found.map((f) => f.field)).toEqual(['container.volumes.0', 'container.volumes.2']);
  });
});

describe('the bind policy with what the host resolved', () => {
  const at = (path: string, kind: ResolvedHostPath['kind'] = 'directory') => ({ path, kind });

  it('refuses a path under a root that leads out of it through a symlink', () => {
    const [found] = policyViolations(spec(['/srv/dokkup/link:/x']), ROOTED, facts({ 0: at('/etc') }));
    expect(found?.message).toMatch(/configuration.*resolves to \/etc/);
    const [outside] = policyViolations(spec(['/srv/dokkup/link:/x']), ROOTED, facts({ 0: at('/opt/data') }));
    expect(outside?.message).toMatch(/resolves to \/opt\/data.*symbolic link, outside the bind roots/);
  });

  it('allows a symlink that stays under the roots, refuses one that leads in from outside', () => {
    expect(
      policyViolations(spec(['/srv/dokkup/link:/x']), ROOTED, facts({ 0: at('/srv/dokkup/real') })),
    ).toEqual([]);
    expect(
      policyViolations(spec(['/opt/link:/x']), ROOTED, facts({ 0: at('/srv/dokkup/real') })),
    ).toHaveLength(1);
  });

  it('refuses sockets and device nodes under a root, and paths whose symlinks point nowhere', () => {
    for (const [kind, why] of [
      ['socket', /binds a socket/],
      ['device', /binds a device node/],
      ['dangling', /points nowhere/],
    ] as const) {
      const [found] = policyViolations(
        spec(['/srv/dokkup/x:/x']),
        ROOTED,
        facts({ 0: at('/srv/dokkup/x', kind) }),
      );
      expect(found?.message, kind).toMatch(why);
    }
    expect(
      policyViolations(spec(['/srv/dokkup/new:/x']), ROOTED, facts({ 0: at('/srv/dokkup/new', 'missing') })),
    ).toEqual([]);
  });
});

describe('the namespace policy', () => {
  it.each([
    ['host', /host's network namespace/],
    ['container:db', /another container's network namespace/],
    ['service:web', /another service's network namespace/],
  ])('refuses network %s by default, naming the field and the flag', (network, why) => {
    const [found] = policyViolations(spec([], ['bridge', network]), DEFAULT_POLICY);
    expect(found?.field).toBe('container.networks.1');
    expect(found?.message).toMatch(why);
    expect(found?.message).toContain('--allow-host-network');
  });

  it('refuses a name that Docker resolves to the host network (an ID or ID prefix)', () => {
    const [found] = policyViolations(spec([], ['3f2a9c']), DEFAULT_POLICY, facts({}, { '3f2a9c': 'host' }));
    expect(found?.message).toMatch(/host's network namespace/);
  });

  it('allows bridges, none and user networks; host modes with --allow-host-network', () => {
    expect(
      policyViolations(spec([], ['bridge', 'none', 'front']), DEFAULT_POLICY, facts({}, { front: null })),
    ).toEqual([]);
    expect(
      policyViolations(spec([], ['host', 'container:db']), { ...DEFAULT_POLICY, allowHostNetwork: true }),
    ).toEqual([]);
  });
});

describe('bind roots', () => {
  it.each([
    ['/', /is \/ /],
    ['/var', /contains \/run|contains \/var\/run/],
    ['/var/lib', /contains \/var\/lib\/docker/],
    ['/home', /contains \/home\/\*\/\.ssh/],
    ['/home/alice', /contains \/home\/\*\/\.ssh/],
    ['/etc/app', /lies in \/etc/],
    ['/var/lib/docker/volumes', /lies in \/var\/lib\/docker/],
    ['/proc/1/root', /lies in \/proc/],
    ['relative/dir', /not an absolute path/],
  ])('refuses %s as a bind root', (root, why) => {
    expect(bindRootProblem(root)).toMatch(why);
  });

  it('accepts ordinary directories, and refuses the agent data directory given as protected', () => {
    for (const root of ['/srv', '/srv/dokkup', '/opt/apps', '/data', '/tmp/x', '/home/alice/projects']) {
      expect(bindRootProblem(root), root).toBeNull();
    }
    expect(bindRootProblem('/srv', [{ path: '/srv/agent', what: 'agent data' }])).toMatch(
      /contains \/srv\/agent/,
    );
  });
});
