/**
 * `dokkup agent`: the node agent's process. Parses options, loads (or issues) the key, wires the
 * job engine to Docker and the HTTP server, and shuts down gracefully on SIGTERM/SIGINT.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { homedir, hostname as osHostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import meow from 'meow';
import type { DestinationStream, Logger } from 'pino';
import type { AgentPolicy } from '../src/core/policy.js';
import { KeyFileError, type KeyVerifier, loadOrCreateKey, rotateKey } from './auth/index.js';
import { connectDocker } from './docker/connect.js';
import { DockerRuntime } from './docker/docker.js';
import { attachFeeds, type FeedsHandle } from './feeds/index.js';
import { type AgentServer, createAgentServer } from './http/server.js';
import { JobEngine } from './jobs/engine.js';
import { createLogger } from './logger.js';
import { FileJobStateStore } from './store/job-store.js';

/** Exit code for bad command-line usage. */
export const EXIT_USAGE = 2;
export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '0.0.0.0';
/** How long a shutdown waits for running deploys/rollbacks/stops before exiting anyway. */
export const SHUTDOWN_GRACE_MS = 30_000;

const HELP = `
Usage
  $ dokkup agent [options]

Runs the dokkup agent beside this server's Docker engine. On first start it prints
the node's API key once ("Your new API key is: ..."); put it in your inventory.

Options
  --port <n>       Port to listen on (env PORT, default ${DEFAULT_PORT})
  --host <addr>    Address to listen on (default ${DEFAULT_HOST})
  --config <dir>   Data directory: key hash and job history (env DOKKUP_CONFIG;
                   default /config if writable, else ~/.config/dokkup-agent)
  --rotate-key     Issue a new API key, print it and exit (the old key stops working,
                   also in an agent that is running)
  --allow-host-binds
                   Let jobs bind the Docker socket, / and other host system paths
                   (refused by default: such a container controls the host)
  --version        Print the agent version
  -h, --help       Show this help

Environment
  DOCKER_HOST      Docker engine to drive (unix://, tcp://; default the local socket)
  LOG_LEVEL        trace, debug, info (default), warn, error, fatal, silent
  LOG_FORMAT       json or pretty (default: pretty on a terminal, json otherwise)
`;

export interface AgentOptions {
  port: number;
  host: string;
  dataDir: string;
  rotateKey: boolean;
  allowHostBinds: boolean;
}

export type ParsedAgentArgs =
  | { kind: 'run'; options: AgentOptions }
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | { kind: 'usage-error'; message: string };

const KNOWN_FLAGS = new Set([
  'port',
  'host',
  'config',
  'rotateKey',
  'rotate-key',
  'allowHostBinds',
  'allow-host-binds',
  'help',
  'h',
  'version',
]);

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

function parsePort(value: string, from: string): number | string {
  const trimmed = value.trim();
  if (!/^\d{1,5}$/.test(trimmed) || Number(trimmed) > 65535) {
    return `${from} must be a port number from 0 to 65535 (got "${value}")`;
  }
  return Number(trimmed);
}

/** Pure: argv and environment in, what to do out. Never exits the process. */
export function parseAgentArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  fallbackDataDir: () => string = defaultDataDir,
): ParsedAgentArgs {
  let cli: ReturnType<typeof parseWithMeow>;
  try {
    cli = parseWithMeow(argv);
  } catch (error) {
    return { kind: 'usage-error', message: (error as Error).message };
  }
  const unknown = Object.keys(cli.flags).filter((flag) => !KNOWN_FLAGS.has(flag));
  if (unknown.length > 0) {
    const named =
      argv.filter((arg) => arg.startsWith('-')).find((arg) => !isKnownArg(arg)) ?? `--${unknown[0]}`;
    return { kind: 'usage-error', message: `unknown option ${named.split('=')[0]}` };
  }
  if (cli.input.length > 0) return { kind: 'usage-error', message: `unexpected argument "${cli.input[0]}"` };
  if (cli.flags.help) return { kind: 'help', text: HELP };
  if (cli.flags.version) return { kind: 'version' };

  const portText = cli.flags.port ?? env['PORT'];
  let port = DEFAULT_PORT;
  if (portText !== undefined) {
    const parsed = parsePort(String(portText), cli.flags.port !== undefined ? '--port' : 'PORT');
    if (typeof parsed === 'string') return { kind: 'usage-error', message: parsed };
    port = parsed;
  }
  const host = cli.flags.host;
  if (host.trim() === '') return { kind: 'usage-error', message: '--host must not be empty' };
  const configText = cli.flags.config ?? env['DOKKUP_CONFIG'];
  if (configText !== undefined && configText.trim() === '') {
    return {
      kind: 'usage-error',
      message: `${cli.flags.config !== undefined ? '--config' : 'DOKKUP_CONFIG'} must name a directory`,
    };
  }
  const dataDir = resolve(configText ?? fallbackDataDir());
  return {
    kind: 'run',
    options: {
      port,
      host,
      dataDir,
      rotateKey: cli.flags.rotateKey,
      allowHostBinds: cli.flags.allowHostBinds,
    },
  };
}

function isKnownArg(arg: string): boolean {
  const name = arg.replace(/^--?/, '').split('=')[0] ?? '';
  return KNOWN_FLAGS.has(name) || (name.startsWith('no-') && KNOWN_FLAGS.has(name.slice(3)));
}

function parseWithMeow(argv: readonly string[]) {
  return meow(HELP, {
    importMeta: import.meta,
    argv,
    autoHelp: false,
    autoVersion: false,
    // Checked here instead: meow would exit the process itself.
    allowUnknownFlags: true,
    description: false,
    flags: {
      port: { type: 'string' },
      host: { type: 'string', default: DEFAULT_HOST },
      config: { type: 'string' },
      rotateKey: { type: 'boolean', default: false },
      allowHostBinds: { type: 'boolean', default: false },
      help: { type: 'boolean', shortFlag: 'h', default: false },
      version: { type: 'boolean', default: false },
    },
  });
}

/** The `version` of dokkup's package.json, found from this file (works from the sources and from dist/). */
export function readAgentVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'dokkup' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // keep looking upwards
    }
    dir = dirname(dir);
  }
  return '0.0.0-unknown';
}

export interface WiredAgent {
  server: AgentServer;
  engine: JobEngine;
  docker: ReturnType<typeof connectDocker>;
  runtime: DockerRuntime;
  /** Close on shutdown: open WebSockets would otherwise keep the server from closing. */
  feeds: FeedsHandle;
}

export interface WireOptions {
  dataDir: string;
  dockerHost?: string;
  verifier: KeyVerifier;
  logger: Logger;
  agentVersion: string;
  hostname?: string;
  policy?: AgentPolicy;
}

/** Engine, Docker runtime, store and HTTP server, put together (not listening yet). */
export function wireAgent(options: WireOptions): WiredAgent {
  const docker = connectDocker(options.dockerHost);
  const runtime = new DockerRuntime(docker);
  const engine = new JobEngine({
    runtime,
    store: new FileJobStateStore(options.dataDir, options.logger),
    logger: options.logger,
    agentVersion: options.agentVersion,
    hostname: options.hostname ?? osHostname(),
    ...(options.policy ? { policy: options.policy } : {}),
  });
  const server = createAgentServer({
    service: engine,
    verifier: options.verifier,
    logger: options.logger,
    agentVersion: options.agentVersion,
  });
  // Live feeds (events, stats, logs) over a WebSocket on the same server, same key.
  const feeds = attachFeeds(server, { verifier: options.verifier, docker, engine, logger: options.logger });
  return { server, engine, docker, runtime, feeds };
}

/** Warns (and carries on) when Docker does not answer: the agent serves and reports 503 until it is back. */
export async function checkDocker(
  runtime: DockerRuntime,
  logger: Logger,
  timeoutMs = 5000,
): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const info = await Promise.race([
      runtime.info(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    logger.info({ dockerVersion: info.version, apiVersion: info.apiVersion }, 'connected to Docker');
    return true;
  } catch (error) {
    logger.warn(
      {
        dockerHost: process.env['DOCKER_HOST'] ?? 'unix:///var/run/docker.sock',
        error: (error as Error).message,
      },
      'Docker is not reachable; serving anyway (requests that need Docker answer 503 until it is back)',
    );
    return false;
  } finally {
    clearTimeout(timer);
  }
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
  /** Ends the process now (a second signal during the shutdown grace period). */
  exit(code: number): void;
  /** Called after a clean stop; the real process makes sure nothing left (keep-alive sockets) holds it open. */
  afterStop?(code: number): void;
  /** Test hook: the server once it listens. */
  onListening?(server: AgentServer): void;
}

function processIO(): AgentProcessIO {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    onSignal(handler) {
      process.on('SIGTERM', handler);
      process.on('SIGINT', handler);
      return () => {
        process.off('SIGTERM', handler);
        process.off('SIGINT', handler);
      };
    },
    exit: (code) => process.exit(code),
    afterStop: (code) => setTimeout(() => process.exit(code), 1000).unref(),
  };
}

export async function runAgentCommand(
  argv: string[],
  io: AgentProcessIO = processIO(),
): Promise<number | undefined> {
  const parsed = parseAgentArgs(argv, io.env);
  switch (parsed.kind) {
    case 'usage-error':
      io.stderr(`dokkup agent: ${parsed.message}\nRun "dokkup agent --help" for the options.\n`);
      return EXIT_USAGE;
    case 'help':
      io.stdout(parsed.text.trimStart());
      return 0;
    case 'version':
      io.stdout(`${readAgentVersion()}\n`);
      return 0;
  }
  const { options } = parsed;

  if (options.rotateKey) {
    try {
      const key = await rotateKey(options.dataDir);
      io.stdout(`Your new API key is: ${key}\n`);
      io.stderr(
        `The previous key no longer works (also in an agent already running on ${options.dataDir}).\n`,
      );
      return 0;
    } catch (error) {
      io.stderr(`dokkup agent: cannot write a new key in ${options.dataDir}: ${(error as Error).message}\n`);
      return 1;
    }
  }

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
    return await serve(options, io, logger, stopRequested);
  } finally {
    unregisterSignals();
  }
}

async function serve(
  options: AgentOptions,
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

  const agentVersion = readAgentVersion();
  const wired = wireAgent({
    dataDir: options.dataDir,
    verifier,
    logger,
    agentVersion,
    dockerHost: io.env['DOCKER_HOST'],
    policy: { allowHostBinds: options.allowHostBinds },
  });
  if (options.allowHostBinds)
    logger.warn('--allow-host-binds: jobs may bind the Docker socket and host system paths');
  const { server, engine, feeds } = wired;
  await checkDocker(wired.runtime, logger);

  try {
    await listen(server, options.port, options.host);
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    const reason = err.code === 'EADDRINUSE' ? 'the port is already in use' : err.message;
    logger.error({ host: options.host, port: options.port, error: err.message }, 'cannot listen');
    io.stderr(`dokkup agent: cannot listen on ${options.host}:${options.port}: ${reason}\n`);
    return 1;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  logger.info({ host: options.host, port, dataDir: options.dataDir, agentVersion }, 'server is listening');
  io.onListening?.(server);

  const signal = await stopRequested;
  logger.info(
    { signal, graceMs: SHUTDOWN_GRACE_MS },
    'shutting down: no new requests, waiting for running operations',
  );
  server.beginShutdown();
  const closed = new Promise<void>((resolveClosed) => server.close(() => resolveClosed()));
  server.closeIdleConnections();
  const [httpIdle, engineIdle] = await Promise.all([
    server.waitForOperations(SHUTDOWN_GRACE_MS),
    engine.drain(SHUTDOWN_GRACE_MS),
  ]);
  if (!httpIdle || !engineIdle)
    logger.warn('operations still running after the grace period; exiting anyway');
  server.closeAllConnections();
  await feeds.close();
  await closed;
  logger.info('stopped');
  io.afterStop?.(0);
  return 0;
}

function listen(server: AgentServer, port: number, host: string): Promise<void> {
  return new Promise((resolveListen, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolveListen();
    });
  });
}
