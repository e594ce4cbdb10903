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
import { agentProtectedPaths, PolicyConfigError, preparePolicy } from './bind-roots.js';
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
    const protectedPaths = agentProtectedPaths(join(root, 'agent-data'), 'unix:///run/docker.sock');
    expect(protectedPaths.map((p) => p.path)).toEqual([join(root, 'agent-data'), '/run/docker.sock']);
    await expect(
      preparePolicy({ bindRoots: [root], allowHostBinds: false, allowHostNetwork: false, protectedPaths }),
    ).rejects.toThrow(/contains .*agent-data \(the agent's own data/);
  });
});
