/**
 * `dokkup agent`'s process: loads (or issues) the key, builds the agent (app.ts), listens, and
 * on SIGTERM/SIGINT runs the one shutdown sequence; a second signal exits at once. Turns every
 * way of failing to start into a message and an exit code. Options are parsed by the CLI's
 * `agent` command (src/cli/commands/agent.ts), which loads this file only when it runs.
 */
import { accessSync, constants, statSync, unwatchFile, watchFile } from 'node:fs';
import { homedir, hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import type { DestinationStream, Logger } from 'pino';
import { type AgentServer, createAgent, SHUTDOWN_GRACE_MS } from './app.js';
import { AuditLog } from './audit/audit-log.js';
import { KeyFileError, type KeyVerifier, loadOrCreateKey, rotateKey } from './auth/index.js';
import { createLogger } from './logger.js';
import { agentProtectedPaths, PolicyConfigError, preparePolicy } from './policy/bind-roots.js';
import { checkDataDirectory, DataDirectoryError } from './store/private-file.js';
import { certificateNames, namesInCertificate } from './tls/certificate.js';
import {
  CertificateFileError,
  type CertificateFiles,
  type LoadedCertificate,
  loadCertificateFiles,
  loadOrCreateOwnCertificate,
  storeNewCertificate,
} from './tls/files.js';

export { SHUTDOWN_GRACE_MS };

/** Exit code for bad options or environment. */
export const EXIT_USAGE = 2;

/** As parsed by the CLI's `agent` command. */
export interface AgentOptions {
  port: number;
  host: string;
  /** Default: `defaultDataDir()`. */
  dataDir?: string;
  rotateKey: boolean;
  /** Host directories jobs may bind (`--bind-root`, repeatable); none by default. */
  bindRoots?: string[];
  allowHostBinds: boolean;
  /** `network: host` and `container:NAME` network modes. */
  allowHostNetwork?: boolean;
  /** Print the certificate's fingerprint and exit. */
  fingerprint?: boolean;
  /** Make a new self-signed certificate, print its fingerprint and exit. */
  rotateCert?: boolean;
  /** Serve plain HTTP: no certificate at all. */
  insecureHttp?: boolean;
  /** Extra names of the self-signed certificate (besides the host name, 127.0.0.1 and ::1). */
  tlsSans?: string[];
  /** A certificate and key of the operator's own (both or neither). */
  tlsCert?: string;
  tlsKey?: string;
}

/** How often the served certificate's files are checked for a change (a renewal, --rotate-cert). */
export const CERTIFICATE_POLL_MS = 2_000;

/** The line that tells an operator what to pin; printed on first start and by --fingerprint. */
export function fingerprintLine(fingerprint: string): string {
  return `Certificate fingerprint: ${fingerprint}\n`;
}

/** The data directory when none is given: `/config` (the image's volume) if usable, else per user. */
export function defaultDataDir(home = homedir(), configDir = '/config'): string {
  try {
    if (statSync(configDir).isDirectory()) {
      accessSync(configDir, constants.W_OK | constants.X_OK);
      return configDir;
    }
  } catch {
    // Not there or not ours: fall through to the per-user directory.
  }
  return join(home, '.config', 'dokkup-agent');
}

/** Process-level effects, injectable for tests. */
export interface AgentProcessIO {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  /** Registers the stop handler; called once per signal received. Returns an unregister function. */
  onSignal(handler: (signal: string) => void): () => void;
  /** Where logs go (default stdout). */
  logDestination?: DestinationStream;
  /** Registers the reload handler (SIGHUP: read the certificate files again). Returns an unregister function. */
  onReload?(handler: () => void): () => void;
  /** Ends the process now (a second signal during the shutdown grace period). */
  exit(code: number): void;
  /** Called after a clean stop; the real process makes sure nothing left (keep-alive sockets) holds it open. */
  afterStop?(code: number): void;
  /** Test hook: the server once it listens. */
  onListening?(server: AgentServer): void;
}

/** The real process: its streams, environment and SIGTERM/SIGINT. */
export function processAgentIO(
  out: { write(text: string): unknown } = process.stdout,
  err: { write(text: string): unknown } = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): AgentProcessIO {
  return {
    stdout: (text) => out.write(text),
    stderr: (text) => err.write(text),
    env,
    onSignal(handler) {
      process.on('SIGTERM', handler);
      process.on('SIGINT', handler);
      return () => {
        process.off('SIGTERM', handler);
        process.off('SIGINT', handler);
      };
    },
    onReload(handler) {
      process.on('SIGHUP', handler);
      return () => process.off('SIGHUP', handler);
    },
    exit: (code) => process.exit(code),
    afterStop: (code) => setTimeout(() => process.exit(code), 1000).unref(),
  };
}

export async function runAgent(
  options: AgentOptions,
  io: AgentProcessIO = processAgentIO(),
): Promise<number> {
  const dataDir = options.dataDir ?? defaultDataDir();
  // On every start, and before a rotation writes anything: the data directory is the owner's.
  try {
    await checkDataDirectory(dataDir, {
      warn: (details, message) =>
        io.stderr(`dokkup agent: ${message}: ${(details as { file?: string }).file}\n`),
    });
  } catch (error) {
    const reason = error instanceof DataDirectoryError ? error.message : (error as Error).message;
    io.stderr(`dokkup agent: refusing the data directory: ${reason}\n`);
    return 1;
  }
  if (options.rotateCert) {
    try {
      const certificate = await storeNewCertificate(dataDir, certificateNames(osHostname(), options.tlsSans));
      io.stdout(fingerprintLine(certificate.fingerprint));
      io.stderr(
        `Clients that pinned the previous certificate refuse this agent until their inventories carry the new fingerprint (an agent already running on ${dataDir} serves the new certificate within seconds).\n`,
      );
      return 0;
    } catch (error) {
      io.stderr(`dokkup agent: cannot write a new certificate in ${dataDir}: ${(error as Error).message}\n`);
      return 1;
    }
  }
  if (options.fingerprint) {
    try {
      const certificate = await servedCertificate(options, dataDir);
      io.stdout(fingerprintLine(certificate.fingerprint));
      return 0;
    } catch (error) {
      io.stderr(`dokkup agent: cannot load the TLS certificate: ${(error as Error).message}\n`);
      return 1;
    }
  }
  if (options.rotateKey) return rotate(dataDir, io);

  let logger: Logger;
  try {
    logger = createLogger({ env: io.env, destination: io.logDestination });
  } catch (error) {
    io.stderr(`dokkup agent: ${(error as Error).message}\n`);
    return EXIT_USAGE;
  }

  // SIGTERM/SIGINT are taken from here on: a stop asked for during startup is honoured, cleanly,
  // as soon as the server is up, rather than killing the process half-way through writing the key.
  let unregisterSignals = () => {};
  const stopRequested = new Promise<string>((resolveSignal) => {
    let received = 0;
    unregisterSignals = io.onSignal((name) => {
      received++;
      if (received === 1) resolveSignal(name);
      else {
        logger.warn({ signal: name }, 'second signal: exiting now without waiting for running operations');
        io.exit(1);
      }
    });
  });
  try {
    return await serve({ ...options, dataDir }, io, logger, stopRequested);
  } finally {
    unregisterSignals();
  }
}

/** `--rotate-key`: a new key, printed once; the rotation goes into the node's audit log. */
async function rotate(dataDir: string, io: AgentProcessIO): Promise<number> {
  const started = Date.now();
  let rotated: Awaited<ReturnType<typeof rotateKey>>;
  try {
    rotated = await rotateKey(dataDir);
  } catch (error) {
    io.stderr(`dokkup agent: cannot write a new key in ${dataDir}: ${(error as Error).message}\n`);
    return 1;
  }
  io.stdout(`Your new API key is: ${rotated.key}\n`);
  io.stderr(`The previous key no longer works (also in an agent already running on ${dataDir}).\n`);
  try {
    await new AuditLog(dataDir, { rotate: false }).append({
      at: new Date(started).toISOString(),
      remote: 'local',
      keyId: rotated.keyId,
      operation: 'rotate-key',
      job: null,
      action: null,
      versionFrom: null,
      versionTo: null,
      countFrom: null,
      countTo: null,
      result: 'ok',
      durationMs: Date.now() - started,
      message: `new key ${rotated.keyId} replaces ${rotated.previousKeyId ?? 'the previous key'}`,
    });
  } catch (error) {
    io.stderr(
      `dokkup agent: the key was rotated, but the audit log could not be written: ${(error as Error).message}\n`,
    );
  }
  return 0;
}

/** The operator's certificate (`--tls-cert`), else the agent's own, made on first use. */
function servedCertificate(
  options: AgentOptions,
  dataDir: string,
): Promise<LoadedCertificate & { created?: boolean }> {
  if (options.tlsCert && options.tlsKey)
    return loadCertificateFiles({ certFile: options.tlsCert, keyFile: options.tlsKey });
  return loadOrCreateOwnCertificate(dataDir, certificateNames(osHostname(), options.tlsSans));
}

async function serve(
  options: AgentOptions & { dataDir: string },
  io: AgentProcessIO,
  logger: Logger,
  stopRequested: Promise<string>,
): Promise<number> {
  let verifier: KeyVerifier;
  try {
    const loaded = await loadOrCreateKey(options.dataDir, { logger });
    verifier = loaded.verifier;
    // Printed exactly once, on stdout, before any log line: this is the only time it exists in clear.
    if (loaded.newKey) io.stdout(`Your new API key is: ${loaded.newKey}\n`);
  } catch (error) {
    const reason =
      error instanceof KeyFileError ? error.message : `${options.dataDir}: ${(error as Error).message}`;
    io.stderr(`dokkup agent: cannot load the API key: ${reason}\n`);
    return 1;
  }

  const dockerHost = io.env['DOCKER_HOST'];
  let policy: Awaited<ReturnType<typeof preparePolicy>>;
  try {
    policy = await preparePolicy({
      bindRoots: options.bindRoots ?? [],
      allowHostBinds: options.allowHostBinds,
      allowHostNetwork: options.allowHostNetwork ?? false,
      protectedPaths: agentProtectedPaths(options.dataDir, dockerHost),
    });
  } catch (error) {
    if (!(error instanceof PolicyConfigError)) throw error;
    io.stderr(`dokkup agent: ${error.message}\n`);
    return EXIT_USAGE;
  }
  verifier.watch();
  let certificate: LoadedCertificate | undefined;
  if (options.insecureHttp) {
    const warning =
      '--insecure-http: serving plain HTTP; the API key and everything else travel unencrypted (use it only on a network you trust)';
    io.stderr(`Warning: ${warning}\n`);
    logger.warn(warning);
  } else {
    try {
      const served = await servedCertificate(options, options.dataDir);
      certificate = served;
      // Beside the key, once: the operator pins it in the inventory. It is public; --fingerprint shows it again.
      if (served.created) io.stdout(fingerprintLine(served.fingerprint));
      else if (!options.tlsCert) warnMissingNames(served, options.tlsSans ?? [], logger);
    } catch (error) {
      const reason =
        error instanceof CertificateFileError
          ? error.message
          : `${options.dataDir}: ${(error as Error).message}`;
      io.stderr(`dokkup agent: cannot load the TLS certificate: ${reason}\n`);
      return 1;
    }
  }

  const agent = createAgent({
    dataDir: options.dataDir,
    verifier,
    logger,
    dockerHost,
    policy,
    audit: new AuditLog(options.dataDir),
    ...(certificate ? { tls: certificate } : {}),
  });
  if (options.allowHostBinds)
    logger.warn('--allow-host-binds: jobs may bind anything, the Docker socket and / included');
  if (options.allowHostNetwork)
    logger.warn(
      '--allow-host-network: jobs may join the host network namespace (network: host, container:NAME)',
    );
  logger.info(
    {
      bindRoots: policy.bindRoots,
      allowHostBinds: policy.allowHostBinds,
      allowHostNetwork: policy.allowHostNetwork,
    },
    'job policy',
  );
  await agent.checkDocker();

  let port: number;
  try {
    ({ port } = await agent.listen(options.port, options.host));
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    const reason = err.code === 'EADDRINUSE' ? 'the port is already in use' : err.message;
    logger.error({ host: options.host, port: options.port, error: err.message }, 'cannot listen');
    io.stderr(`dokkup agent: cannot listen on ${options.host}:${options.port}: ${reason}\n`);
    await agent.close(0);
    verifier.close();
    return 1;
  }
  logger.info(
    {
      host: options.host,
      port,
      dataDir: options.dataDir,
      agentVersion: agent.agentVersion,
      tls: certificate !== undefined,
      ...(certificate
        ? { fingerprint: certificate.fingerprint, certificateValidTo: certificate.validTo }
        : {}),
    },
    'server is listening',
  );
  if (certificate && certificate.validTo.getTime() - Date.now() < 30 * 24 * 60 * 60_000) {
    logger.warn(
      { certFile: certificate.certFile, validTo: certificate.validTo },
      'the certificate expires within 30 days (clients that verify it against a CA will refuse it then)',
    );
  }
  io.onListening?.(agent.server);
  const stopReloading = certificate ? reloadOnChange(agent.server, certificate, io, logger) : () => {};

  const signal = await stopRequested;
  stopReloading();
  logger.info(
    { signal, graceMs: SHUTDOWN_GRACE_MS },
    'shutting down: no new requests, waiting for running operations',
  );
  await agent.close(SHUTDOWN_GRACE_MS);
  verifier.close();
  logger.info('stopped');
  io.afterStop?.(0);
  return 0;
}

/** An existing self-signed certificate lacking a name asked for with --tls-san: say how to get one. */
function warnMissingNames(certificate: LoadedCertificate, wanted: readonly string[], logger: Logger): void {
  const present = namesInCertificate(certificate.cert);
  const missing = wanted.filter((name) => !present.includes(name));
  if (missing.length === 0) return;
  logger.warn(
    { missing, present },
    'the certificate was made without these --tls-san names and is kept (clients pin it); run `dokkup agent --rotate-cert` to make one with them',
  );
}

/**
 * Serves the certificate files again when they change (polled: renewals replace files by
 * rename, which file watches lose track of) and on SIGHUP. A pair that does not load (a key
 * written before its certificate) keeps the old one serving; the next change tries again.
 */
function reloadOnChange(
  server: AgentServer,
  initial: LoadedCertificate,
  io: AgentProcessIO,
  logger: Logger,
): () => void {
  const files: CertificateFiles = { certFile: initial.certFile, keyFile: initial.keyFile };
  let fingerprint = initial.fingerprint;
  let running: Promise<void> | undefined;
  let again = false;
  const reload = (why: string) => {
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      try {
        const next = await loadCertificateFiles(files);
        server.setCertificate(next);
        if (next.fingerprint !== fingerprint) {
          logger.info(
            { why, fingerprint: next.fingerprint, previous: fingerprint, validTo: next.validTo },
            'serving a new certificate',
          );
        } else logger.info({ why, fingerprint }, 'certificate reloaded (unchanged)');
        fingerprint = next.fingerprint;
      } catch (error) {
        logger.error(
          { why, error: (error as Error).message },
          'cannot reload the certificate; still serving the previous one',
        );
      } finally {
        running = undefined;
        if (again) {
          again = false;
          reload(why);
        }
      }
    })();
  };
  const onFileChange = (current: { mtimeMs: number }, previous: { mtimeMs: number }) => {
    if (current.mtimeMs !== previous.mtimeMs) reload('file changed');
  };
  for (const file of [files.certFile, files.keyFile])
    watchFile(file, { interval: CERTIFICATE_POLL_MS, persistent: false }, onFileChange);
  const stopSignal = io.onReload?.(() => reload('SIGHUP')) ?? (() => {});
  return () => {
    stopSignal();
    for (const file of [files.certFile, files.keyFile]) unwatchFile(file, onFileChange);
  };
}
