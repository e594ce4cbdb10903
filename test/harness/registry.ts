/**
 * A loopback container registry (Debian's docker-registry, the CNCF distribution registry) so
 * that engines really pull, and a tag that was never pushed really fails to pull.
 * Engines trust 127.0.0.0/8 registries without TLS. With `auth`, the registry wants those
 * credentials (an htpasswd file made by `htpasswd -Bbn`, bcrypt as the registry requires):
 * a private registry, for the registry-credential tests.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertRoot, reapStaleOnce, trackLiveDir, untrackLiveDir } from './engines.js';
import { freePort, sleep } from './proc.js';
import { createOwnedDir, destroyDirSync } from './resources.js';

export interface Registry {
  /** `127.0.0.1:<port>`: the prefix of image references in this registry. */
  host: string;
  port: number;
  dir: string;
  /** The credentials it wants, when started with `auth`. */
  auth?: RegistryCredentials;
  stop(): Promise<void>;
}

export interface RegistryCredentials {
  username: string;
  password: string;
}

/** `/v2/` answers 200 (open) or 401 (wants credentials): either way, it is serving. */
async function answers(host: string, auth: boolean): Promise<boolean> {
  try {
    const res = await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(2000) });
    return res.status === (auth ? 401 : 200);
  } catch {
    return false;
  }
}

async function startOnce(port: number, auth?: RegistryCredentials): Promise<Registry> {
  const owned = createOwnedDir('registries');
  trackLiveDir(owned.dir);
  const run = owned.runDir;
  const host = `127.0.0.1:${port}`;
  const configFile = join(run, 'config.yml');
  const logFile = join(run, 'registry.log');
  writeFileSync(
    configFile,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(run, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: ${host}`,
      ...(auth
        ? ['auth:', '  htpasswd:', '    realm: dokkup-test', `    path: ${join(run, 'htpasswd')}`]
        : []),
      '',
    ].join('\n'),
  );
  if (auth) {
    const line = execFileSync('htpasswd', ['-Bbn', auth.username, auth.password], { encoding: 'utf8' });
    writeFileSync(join(run, 'htpasswd'), line);
  }
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    destroyDirSync(owned.dir);
    untrackLiveDir(owned.dir);
  };
  const logFd = openSync(logFile, 'a');
  const child = spawn('docker-registry', ['serve', configFile], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  child.unref();
  let exited: string | undefined;
  child.on('error', (e) => {
    exited = `could not start docker-registry: ${e.message}`;
  });
  child.on('exit', (code, sig) => {
    exited = `docker-registry exited (${sig ?? code})`;
  });
  const deadline = Date.now() + 30_000;
  while (!(await answers(host, auth !== undefined))) {
    if (exited || Date.now() > deadline) {
      await stop();
      let log = '';
      try {
        log = readFileSync(logFile, 'utf8').trim().split('\n').slice(-10).join('\n');
      } catch {}
      throw new Error(`registry on ${host}: ${exited ?? 'did not answer in time'}\n${log}`);
    }
    await sleep(50);
  }
  return { host, port, dir: run, ...(auth ? { auth } : {}), stop };
}

/**
 * Starts a registry on 127.0.0.1:<free port>, with its storage in a temp directory; with `auth`,
 * one that wants those credentials.
 */
export async function startRegistry(auth?: RegistryCredentials): Promise<Registry> {
  assertRoot();
  reapStaleOnce();
  // The port is free when picked but could be taken before the registry binds it: retry.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(await freePort(), auth);
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}
