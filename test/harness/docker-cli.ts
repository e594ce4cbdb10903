/**
 * The docker CLI pointed at one harness engine. Tests use it to check state independently of
 * the agent under test; the harness uses it to build and move images.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type RunOptions, type RunResult, run, runSync } from './proc.js';
import { HARNESS_BASE } from './resources.js';

/**
 * The PATH for the harness's dockerd and docker CLI. DOKKUP_TEST_DOCKERD_PATH (PATH syntax, unset
 * by default) is put before the machine's PATH, to run the Docker tests and benches on another
 * Docker than the machine's: e.g. a later Debian's docker.io, docker-cli and containerd unpacked
 * with `dpkg-deb -x` into /opt/docker26, `DOKKUP_TEST_DOCKERD_PATH=/opt/docker26/usr/sbin:/opt/docker26/usr/bin`.
 * dockerd then starts the containerd, shims, docker-proxy and docker-init it finds there first
 * (runc and anything missing there: the machine's), and the CLI is the one beside it.
 */
export function harnessPath(): string {
  const extra = process.env.DOKKUP_TEST_DOCKERD_PATH;
  const path = process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  return extra ? `${extra}:${path}` : path;
}

/** Environment for the docker CLI: the given engine, never the developer's own settings. */
export function dockerEnv(dockerHost: string): NodeJS.ProcessEnv {
  const configDir = join(HARNESS_BASE, 'docker-config');
  mkdirSync(configDir, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ['DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_TLS'])
    delete env[key];
  return {
    ...env,
    PATH: harnessPath(),
    DOCKER_HOST: dockerHost,
    // No ~/.docker of the developer's (credentials, contexts, plugins).
    DOCKER_CONFIG: configDir,
    // buildx is not installed; the classic builder is what `docker build` uses here.
    DOCKER_BUILDKIT: '0',
    DOCKER_CLI_HINTS: 'false',
  };
}

/** Runs `docker ARGS` against an engine. Throws CommandError on a non-zero exit. */
export function docker(
  dockerHost: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  return run('docker', args, { timeoutMs: 120_000, ...opts, env: dockerEnv(dockerHost) });
}

export function dockerSync(dockerHost: string, args: readonly string[], opts: RunOptions = {}): RunResult {
  return runSync('docker', args, { timeoutMs: 60_000, ...opts, env: dockerEnv(dockerHost) });
}

/** Non-empty output lines. */
export function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

/**
 * `docker service update` as the benches run Swarm's side: start-first, `parallelism` tasks at a
 * time, a 1 s update monitor, the image not re-resolved; `change` says what changes.
 */
export function swarmStartFirstUpdate(
  service: string,
  parallelism: number,
  change: readonly string[],
): string[] {
  return [
    'service',
    'update',
    '--quiet',
    '--no-resolve-image',
    '--update-order',
    'start-first',
    '--update-parallelism',
    String(parallelism),
    '--update-monitor',
    '1s',
    ...change,
    service,
  ];
}
