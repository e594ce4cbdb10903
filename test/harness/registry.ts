/**
 * A loopback container registry (Debian's docker-registry, the CNCF distribution registry) so
 * that engines really pull, and a tag that was never pushed really fails to pull.
 * Engines trust 127.0.0.0/8 registries without TLS.
 */
import { spawn } from 'node:child_process';
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
  stop(): Promise<void>;
}

async function answers(host: string): Promise<boolean> {
  try {
    const res = await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(2000) });
    return res.status === 200;
  } catch {
    return false;
  }
}

async function startOnce(port: number): Promise<Registry> {
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
      '',
    ].join('\n'),
  );
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
  while (!(await answers(host))) {
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
  return { host, port, dir: run, stop };
}

/** Starts a registry on 127.0.0.1:<free port>, with its storage in a temp directory. */
export async function startRegistry(): Promise<Registry> {
  assertRoot();
  reapStaleOnce();
  // The port is free when picked but could be taken before the registry binds it: retry.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(await freePort());
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}
