import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CredentialsError, RegistryCredentials } from './registry-credentials.js';

const root = mkdtempSync(join(tmpdir(), 'dokkup-creds-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A DOCKER_CONFIG directory holding `config`, and a bin directory with the given helpers. */
function setup(config: unknown, helpers: Record<string, string> = {}) {
  const dir = join(root, `case${++n}`);
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  for (const [name, script] of Object.entries(helpers)) {
    writeFileSync(join(bin, `docker-credential-${name}`), `#!/bin/sh\n${script}\n`);
    chmodSync(join(bin, `docker-credential-${name}`), 0o755);
  }
  const env = { DOCKER_CONFIG: dir, PATH: `${bin}:/usr/bin:/bin`, HOME: dir };
  return { dir, env };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('RegistryCredentials: the Docker client configuration', () => {
  it('reads auths entries (base64 auth, username/password, identitytoken) for the image registry', async () => {
    const { env } = setup({
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hubuser:hub:pass') },
        'https://ghcr.io': { username: 'gh', password: 'ghp' },
        'registry.example.com:5000': { identitytoken: 'idt' },
      },
    });
    const creds = new RegistryCredentials({ env });
    expect(await creds.forImages(['nginx:alpine', 'docker.io/acme/app', 'registry-1.docker.io/x/y'])).toEqual(
      [{ server: 'docker.io', username: 'hubuser', password: 'hub:pass' }],
    );
    expect(
      await creds.forImages(['ghcr.io/acme/app:1', 'registry.example.com:5000/app', 'quay.io/x']),
    ).toEqual([
      { server: 'ghcr.io', username: 'gh', password: 'ghp' },
      { server: 'registry.example.com:5000', identitytoken: 'idt' },
    ]);
  });

  it('runs credHelpers / credsStore as docker-credential-<name> get, the server on stdin', async () => {
    const { dir, env } = setup(
      { credsStore: 'store', credHelpers: { 'ghcr.io': 'test' } },
      {
        test: `read server; echo "$server" > "${root}/asked-test"; printf '{"ServerURL":"%s","Username":"bot","Secret":"s3"}' "$server"`,
        store: `read server; echo "$server" >> "${root}/asked-store"; if [ "$server" = "https://index.docker.io/v1/" ]; then printf '{"Username":"<token>","Secret":"idtok"}'; else echo "credentials not found in native keychain"; exit 1; fi`,
      },
    );
    const creds = new RegistryCredentials({ env });
    expect(await creds.forImages(['ghcr.io/acme/app', 'nginx', '127.0.0.1:5001/private/web:v1'])).toEqual([
      { server: 'ghcr.io', username: 'bot', password: 's3' },
      { server: 'docker.io', identitytoken: 'idtok' },
    ]);
    expect(readFileSync(join(root, 'asked-test'), 'utf8')).toBe('ghcr.io\n');
    // Each registry asked once; the helpers run concurrently, so in either order.
    expect(readFileSync(join(root, 'asked-store'), 'utf8').split('\n').sort()).toEqual([
      '',
      '127.0.0.1:5001',
      'https://index.docker.io/v1/',
    ]);
    expect(dir).toBeTruthy();
  });

  it('asks each registry once per run', async () => {
    const { env } = setup(
      { credsStore: 'count' },
      { count: `read server; echo x >> "${root}/count-calls"; printf '{"Username":"u","Secret":"p"}'` },
    );
    const creds = new RegistryCredentials({ env });
    await Promise.all([creds.forImages(['ghcr.io/a']), creds.forImages(['ghcr.io/b', 'ghcr.io/c'])]);
    expect(readFileSync(join(root, 'count-calls'), 'utf8')).toBe('x\n');
  });

  it('a missing helper is a clear error naming it; a failing one never shows its output', async () => {
    const { env, dir } = setup({ credsStore: 'desktop' });
    const error = await new RegistryCredentials({ env }).forImages(['ghcr.io/a']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialsError);
    expect((error as Error).message).toBe(
      `credential helper docker-credential-desktop (credsStore in ${join(dir, 'config.json')}) is not installed: not found on PATH; install it, or give the credentials of ghcr.io under registries: in the inventory or the job file`,
    );
    const failing = setup(
      { credHelpers: { 'ghcr.io': 'broken' } },
      { broken: 'echo "token=SECRET-IN-OUTPUT"; exit 3' },
    );
    const failed = await new RegistryCredentials({ env: failing.env })
      .forImages(['ghcr.io/a'])
      .catch((e: unknown) => e);
    expect((failed as Error).message).toContain(
      'credential helper docker-credential-broken (credHelpers["ghcr.io"] in',
    );
    expect((failed as Error).message).toContain('failed (exit code 3)');
    expect((failed as Error).message).not.toContain('SECRET');
  });

  it('registries: entries win over the Docker configuration; no config file means no credentials', async () => {
    const { env } = setup({ auths: { 'ghcr.io': { auth: b64('from:config') } } });
    const creds = new RegistryCredentials({
      env,
      explicit: [{ server: 'ghcr.io', username: 'ci', password: 'from-env' }],
    });
    expect(await creds.forImages(['ghcr.io/a'])).toEqual([
      { server: 'ghcr.io', username: 'ci', password: 'from-env' },
    ]);
    const none = new RegistryCredentials({ env: { DOCKER_CONFIG: join(root, 'nowhere'), PATH: '/bin' } });
    expect(await none.forImages(['ghcr.io/a', 'nginx'])).toEqual([]);
  });

  it('a broken config file is an error naming the file; HOME/.docker is used without DOCKER_CONFIG', async () => {
    const { env, dir } = setup('{not json');
    await expect(new RegistryCredentials({ env }).forImages(['ghcr.io/a'])).rejects.toThrow(
      `${join(dir, 'config.json')}: not valid JSON`,
    );
    const home = join(root, 'home');
    mkdirSync(join(home, '.docker'), { recursive: true });
    writeFileSync(
      join(home, '.docker', 'config.json'),
      JSON.stringify({ auths: { 'ghcr.io': { auth: b64('h:p') } } }),
    );
    const creds = new RegistryCredentials({ env: { HOME: home, PATH: '/bin' } });
    expect(creds.configFile).toBe(join(home, '.docker', 'config.json'));
    expect(await creds.forImages(['ghcr.io/a'])).toEqual([
      { server: 'ghcr.io', username: 'h', password: 'p' },
    ]);
  });
});
