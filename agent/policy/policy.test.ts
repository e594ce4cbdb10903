/**
 * The host side of the job policy, on the real filesystem: where bind sources lead (symlinks,
 * sockets, device nodes, missing tails, links to nowhere) and which bind roots an agent accepts.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { policyViolations } from '../../src/core/policy.js';
import { testSpec } from '../../src/core/spec.fixture.js';
import { FakeRuntime } from '../../test/fakes/container-runtime.js';
import { agentProtectedPaths, PolicyConfigError, preparePolicy, sshDirsOf } from './bind-roots.js';
import { hostFacts, resolveHostPath } from './host-facts.js';

let dir: string;
let root: string;
let server: Server | null = null;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dokkup-policy-'));
  root = join(dir, 'root');
  await mkdir(join(root, 'app'), { recursive: true });
  await writeFile(join(root, 'app', 'file.txt'), 'x');
});
afterEach(async () => {
  if (server) await new Promise((resolve) => server!.close(resolve));
  server = null;
  await rm(dir, { recursive: true, force: true });
});

describe('resolveHostPath', () => {
  it('follows symlinks as the kernel does, before the .. after them', async () => {
    await symlink('/etc', join(root, 'etc-link'));
    await symlink(join(root, 'app'), join(root, 'app-link'));
    expect(await resolveHostPath(join(root, 'etc-link'))).toEqual({ path: '/etc', kind: 'directory' });
    expect(await resolveHostPath(`${root}/etc-link/passwd`)).toEqual({ path: '/etc/passwd', kind: 'file' });
    expect(await resolveHostPath(`${root}/app-link/file.txt`)).toEqual({
      path: `${root}/app/file.txt`,
      kind: 'file',
    });
    // The kernel resolves etc-link first, then `..`: the parent of /etc, not of the link.
    expect((await resolveHostPath(`${root}/etc-link/../root`)).path).toBe('/root');
  });

  it('resolves a path that does not exist yet through its deepest existing directory', async () => {
    await symlink('/etc', join(root, 'etc-link'));
    expect(await resolveHostPath(`${root}/app/new/deeper`)).toEqual({
      path: `${root}/app/new/deeper`,
      kind: 'missing',
    });
    expect(await resolveHostPath(`${root}/etc-link/new-dir`)).toEqual({
      path: '/etc/new-dir',
      kind: 'missing',
    });
  });

  it('tells sockets, device nodes and symlinks to nowhere (or loops) apart', async () => {
    server = createServer();
    const sock = join(root, 'control.sock');
    await new Promise<void>((resolve) => server!.listen(sock, resolve));
    expect((await resolveHostPath(sock)).kind).toBe('socket');
    expect(await resolveHostPath('/dev/null')).toEqual({ path: '/dev/null', kind: 'device' });
    await symlink(join(dir, 'nowhere'), join(root, 'dangling'));
    expect((await resolveHostPath(`${root}/dangling/x`)).kind).toBe('dangling');
    await symlink(join(root, 'loop-b'), join(root, 'loop-a'));
    await symlink(join(root, 'loop-a'), join(root, 'loop-b'));
    expect((await resolveHostPath(join(root, 'loop-a'))).kind).toBe('dangling');
  });
});

describe('hostFacts and the decision together', () => {
  it('refuses a bind under the root that a symlink leads out of, and a network that is the host one', async () => {
    await symlink('/etc', join(root, 'etc-link'));
    const runtime = new FakeRuntime();
    runtime.networks.set('5e1f00d', 'host');
    const spec = testSpec({
      volumes: [`${root}/app:/a`, `${root}/etc-link/cron.d:/c`, 'data:/d'],
      networks: ['front', '5e1f00d'],
    });
    const policy = await preparePolicy({ bindRoots: [root], allowHostBinds: false, allowHostNetwork: false });
    const facts = await hostFacts(spec, runtime);
    expect(facts.networkDrivers).toEqual(
      new Map([
        ['front', null],
        ['5e1f00d', 'host'],
      ]),
    );
    expect(policyViolations(spec, policy, facts).map((v) => v.field)).toEqual([
      'container.volumes.1',
      'container.networks.1',
    ]);
  });
});

describe("the host's users' ssh keys", () => {
  const passwd = [
    'root:x:0:0:root:/root:/bin/bash',
    'www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin',
    'git:x:998:998::/srv/git:/usr/bin/git-shell',
    'backup:x:34:34:backup:/var/backups:/bin/false',
    'deploy:x:1001:1001::/opt/deploy/:/bin/sh',
    '# a comment',
  ].join('\n');

  it('are those of the users who can log in, wherever their home is', () => {
    expect(sshDirsOf(passwd).map((p) => [p.path, p.what])).toEqual([
      ['/root/.ssh', "root's ssh keys"],
      ['/srv/git/.ssh', "git's ssh keys"],
      ['/opt/deploy/.ssh', "deploy's ssh keys"],
    ]);
  });

  it('cannot be bound, and a bind root may not hold them', async () => {
    const protectedPaths = agentProtectedPaths('/var/lib/dokkup', undefined, passwd);
    const policy = {
      bindRoots: ['/srv', '/opt'],
      allowHostBinds: false,
      allowHostNetwork: false,
      protectedPaths,
    };
    const found = policyViolations(
      testSpec({ volumes: ['/srv/git/.ssh:/k', '/srv/git:/g', '/srv/git/repos:/r'] }),
      policy,
    );
    expect(found.map((v) => [v.field, /git's ssh keys/.test(v.message)])).toEqual([
      ['container.volumes.0', true],
      ['container.volumes.1', true],
    ]);
    await expect(
      preparePolicy({
        bindRoots: [dir],
        allowHostBinds: false,
        allowHostNetwork: false,
        protectedPaths: sshDirsOf(`me:x:1:1::${dir}/home:/bin/sh`),
      }),
    ).rejects.toThrow(/contains .*home\/\.ssh \(me's ssh keys\)/);
  });
});

describe('a named volume that Docker has as a bind', () => {
  it('is judged as the bind it is', async () => {
    const runtime = new FakeRuntime();
    runtime.bindVolumes.set('innocent', '/etc');
    runtime.bindVolumes.set('fine', `${root}/app`);
    const spec = testSpec({ volumes: ['innocent:/data', 'fine:/app', 'plain:/p'] });
    const policy = await preparePolicy({ bindRoots: [root], allowHostBinds: false, allowHostNetwork: false });
    const found = policyViolations(spec, policy, await hostFacts(spec, runtime));
    expect(found).toHaveLength(1);
    expect(found[0]!.field).toBe('container.volumes.0');
    expect(found[0]!.message).toMatch(/configuration.*names a Docker volume that binds \/etc/);
  });
});

describe('preparePolicy', () => {
  it('keeps each root as given and as resolved, and knows when the filesystem does not fold case', async () => {
    await symlink(join(root, 'app'), join(dir, 'alias'));
    const policy = await preparePolicy({
      bindRoots: [`${dir}/alias/`],
      allowHostBinds: false,
      allowHostNetwork: false,
    });
    expect(policy.bindRoots).toEqual([join(dir, 'alias'), join(root, 'app')]);
    expect(policy.foldCase).toBeUndefined();
  });

  it.each([
    [
      'a root that does not exist',
      () => join(dir, 'missing'),
      /no such directory.*mount it there at the same path/,
    ],
    ['a file', () => join(root, 'app', 'file.txt'), /not a directory/],
    ['a relative path', () => 'srv/dokkup', /must be an absolute path/],
    ['/', () => '/', /is \/ /],
    ['/var/lib', () => '/var/lib', /contains \/var\/lib\/docker/],
  ])('refuses %s', async (_what, root, message) => {
    const options = { bindRoots: [root()], allowHostBinds: false, allowHostNetwork: false };
    await expect(preparePolicy(options)).rejects.toBeInstanceOf(PolicyConfigError);
    await expect(preparePolicy(options)).rejects.toThrow(message);
  });

  it('refuses a root that is a symlink to a system directory, and one holding the agent data', async () => {
    await symlink('/etc', join(dir, 'innocent'));
    await expect(
      preparePolicy({ bindRoots: [join(dir, 'innocent')], allowHostBinds: false, allowHostNetwork: false }),
    ).rejects.toThrow(/resolves to \/etc: \/etc is \/etc/);
    const protectedPaths = agentProtectedPaths(join(root, 'agent-data'), 'unix:///run/docker.sock', '');
    expect(protectedPaths.map((p) => p.path)).toEqual([join(root, 'agent-data'), '/run/docker.sock']);
    await expect(
      preparePolicy({ bindRoots: [root], allowHostBinds: false, allowHostNetwork: false, protectedPaths }),
    ).rejects.toThrow(/contains .*agent-data \(the agent's own data/);
  });
});
