/**
 * An agent inside another process, for the TUI's "no inventory" mode: the local Docker engine
 * behind the same HTTPS API, reachable only from this machine (127.0.0.1, random port) and only
 * with a key that never leaves memory. Its certificate is made in memory at each start and its
 * fingerprint handed to the caller, which pins it like any other node's: even on loopback, the
 * key goes only to this agent.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createAgent, SHUTDOWN_GRACE_MS } from './app.js';
import { issueKey, KeyVerifier } from './auth/index.js';
import { createLogger, silentLogger } from './logger.js';
import { createSelfSignedCertificate, fingerprintOf } from './tls/certificate.js';

export interface EmbeddedAgentOptions {
  /** Default: `DOCKER_HOST`, else the local socket. */
  dockerHost?: string;
  /** Job history; default a temp directory removed on close. */
  dataDir?: string;
  /** Append JSON logs to this file; default: no logs. */
  logFile?: string;
  /** A logger of one's own (wins over `logFile`). */
  logger?: Logger;
  /** How long `close()` waits for a running operation. Default 30 s. */
  closeGraceMs?: number;
}

export interface EmbeddedAgent {
  /** `https://127.0.0.1:<port>` */
  baseUrl: string;
  /** The throwaway key this agent accepts. */
  key: string;
  /** `SHA256:<hex>` of its throwaway certificate: pin it. */
  fingerprint: string;
  /** Stops accepting requests, waits for running operations, frees the port (and the temp dir). */
  close(): Promise<void>;
}

export async function startEmbeddedAgent(options: EmbeddedAgentOptions = {}): Promise<EmbeddedAgent> {
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'dokkup-embedded-')));
  const logger =
    options.logger ??
    (options.logFile ? createLogger({ destination: options.logFile, format: 'json' }) : silentLogger());
  const key = issueKey();
  const verifier = KeyVerifier.forKey(key, { logger });
  const certificate = await createSelfSignedCertificate(['127.0.0.1', 'localhost']);
  const agent = createAgent({
    dataDir,
    dockerHost: options.dockerHost ?? process.env['DOCKER_HOST'],
    verifier,
    logger,
    tls: certificate,
  });
  let port: number;
  try {
    ({ port } = await agent.listen(0, '127.0.0.1'));
  } catch (error) {
    await agent.close(0);
    if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  logger.info({ port }, 'embedded agent listening');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await agent.close(options.closeGraceMs ?? SHUTDOWN_GRACE_MS);
      if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
    })();
    return closing;
  };
  return { baseUrl: `https://127.0.0.1:${port}`, key, fingerprint: fingerprintOf(certificate.cert), close };
}
