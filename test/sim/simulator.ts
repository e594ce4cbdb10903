/**
 * SIMULATION: N dokkup agents in one process, for measuring the CLI's fan-out and the TUI over
 * a large fleet.
 *
 * Every simulated node is the REAL agent HTTP server (`createAgentServer`, real key check, real
 * TLS by default, like `dokkup agent`) in front of the REAL job engine (`JobEngine`,
 * `MemoryJobStateStore`) — only the container runtime is fake (`FakeRuntime`: in memory,
 * everything instantly running and healthy). Each node has its own listener on its own loopback
 * port, so the CLI opens real TCP connections and makes real TLS handshakes to N distinct
 * addresses exactly as it would to N servers. All nodes share one certificate and one TLS
 * context (made once: the handshakes cost the same; a real fleet has one per node), in front of
 * each node's HTTP server.
 *
 * Every node also serves the REAL live feeds (`attachFeeds`: the feeds WebSocket, key check,
 * hub, subscriptions, summaries) over a simulated feed runtime (`feed-runtime.ts`: the fake
 * runtime's containers, Docker-like events, stats and logs).
 *
 * Network latency is simulated when asked (`latency`): every request waits one round trip
 * before the agent handles it, and the first request on a new connection waits one more (the
 * TCP handshake the client had to complete before it could send). A feed WebSocket's upgrade
 * waits two (handshake, upgrade), and every frame the client sends waits one before the agent
 * reads it (its answer's way back folded in, as for requests). See `LatencyModel`.
 *
 * What it does not simulate: Docker's own latency, bandwidth, packet loss, or anything a real
 * engine does. Figures measured against it are the CLI's (and the agent code's) overhead plus
 * the simulated round trips, not a deployment's duration.
 */
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { createSecureContext, TLSSocket } from 'node:tls';
import { KeyVerifier } from '../../agent/auth/index.js';
import { attachFeeds, type FeedsHandle } from '../../agent/feeds/index.js';
import { type AgentServer, createAgentServer } from '../../agent/http/server.js';
import { tlsServerOptions } from '../../agent/http/tls.js';
import { JobEngine } from '../../agent/jobs/engine.js';
import { silentLogger } from '../../agent/logger.js';
import { MemoryJobStateStore } from '../../agent/store/job-store.js';
import {
  type CertificatePair,
  createSelfSignedCertificate,
  fingerprintOf,
} from '../../agent/tls/certificate.js';
import type { Inventory, InventoryNode } from '../../src/protocol/inventory.js';
import { FakeRuntime, type FakeRuntimeOptions } from '../fakes/container-runtime.js';
import { type SimFeedOptions, SimFeedRuntime } from './feed-runtime.js';

export const SIM_KEY_ENV = 'DOKKUP_SIM_KEY';
export const SIM_FINGERPRINT_ENV = 'DOKKUP_SIM_FINGERPRINT';

export interface SimulatorOptions {
  nodes: number;
  /** Loopback address to listen on. Default 127.0.0.1. */
  host?: string;
  /** Node names are `<prefix><index + 1 + firstIndex, zero-padded>`. Default `n`. */
  namePrefix?: string;
  /** Added to every node's number in its name (several simulator processes make one fleet). */
  firstIndex?: number;
  /** Digits of the node numbers (default: those of the last one). */
  nameWidth?: number;
  /** The key every node accepts (and the inventory holds). Default: random. */
  key?: string;
  /** Indexes of nodes that accept a different key: UNAUTHORIZED with the inventory's key. */
  wrongKey?: readonly number[];
  /** Indexes of nodes that are listed but nothing listens on their port: OFFLINE. */
  offline?: readonly number[];
  /** Indexes of nodes that accept connections and never answer: they must time out. */
  hanging?: readonly number[];
  /** Serve plain HTTP (`dokkup agent --insecure-http`) instead of TLS. */
  plainHttp?: boolean;
  /**
   * The certificate every node serves (default: a new self-signed one). Several simulator
   * processes of one fleet are given the same, so one fingerprint pins them all.
   */
  certificate?: CertificatePair;
  runtime?: FakeRuntimeOptions;
  /** Per node: how many operations (deploy/plan/...) run at once inside its engine. */
  engineConcurrency?: number;
  /** How often the engine polls a new container's health (default 10 ms; nothing to wait for). */
  pollMs?: number;
  /** Simulated network round trip between the CLI and every node (default: none). */
  latency?: LatencyModel;
  /** The live feeds' simulated events (default: on, with their default rates); false: no feeds. */
  feeds?: SimFeedOptions | false;
}

/**
 * A round-trip time with uniform jitter, applied on the node's side of each HTTP exchange:
 * - every request is handled one RTT late: half a round trip for the request to arrive and half
 *   for the answer to come back, folded into one wait before handling (a streamed answer's first
 *   and last lines are both one RTT later than without latency);
 * - the first request on a connection waits one RTT more: the client's TCP handshake (SYN,
 *   SYN-ACK) had to finish before it could send (kept-alive connections skip it, like real ones).
 * Each wait is `rttMs ± jitterMs`, drawn per wait.
 */
export interface LatencyModel {
  rttMs: number;
  jitterMs?: number;
  /** Random numbers in [0, 1) (default Math.random); tests pass a fixed sequence. */
  random?: () => number;
}

/** The wait before a request is handled, under `model`. */
export function requestDelayMs(model: LatencyModel, newConnection: boolean): number {
  const random = model.random ?? Math.random;
  const one = () => Math.max(0, model.rttMs + (random() * 2 - 1) * (model.jitterMs ?? 0));
  return newConnection ? one() + one() : one();
}

/** What the latency model saw on one node: requests, and how many came on a new connection. */
export interface LatencyStats {
  requests: number;
  newConnections: number;
}

/**
 * Makes a WebSocket upgrade wait two round trips (the TCP handshake, then the upgrade request and
 * its answer), and every chunk the client sends afterwards one (in order), as `model` says.
 */
export function delayUpgrades(server: import('node:http').Server, model: LatencyModel): void {
  const handlers = server.listeners('upgrade') as ((
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
  ) => void)[];
  server.removeAllListeners('upgrade');
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    delayIncoming(socket, model);
    setTimeout(
      () => {
        if (socket.destroyed) return;
        for (const handler of handlers) handler.call(server, req, socket, head);
      },
      requestDelayMs(model, true),
    );
  });
}

/** Records the sockets of upgrade requests (until they close). */
function trackUpgrades(server: import('node:http').Server): Set<Duplex> {
  const sockets = new Set<Duplex>();
  server.prependListener('upgrade', (_req: IncomingMessage, socket: Duplex) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return sockets;
}

/** Chunks the peer sends reach the socket's readers one round trip late, in order. */
function delayIncoming(socket: Duplex, model: LatencyModel): void {
  const emit = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean;
  let lastDue = 0;
  socket.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (event !== 'data') return emit(event, ...args);
    const now = performance.now();
    const due = Math.max(lastDue, now + requestDelayMs(model, false));
    lastDue = due;
    setTimeout(() => {
      if (!socket.destroyed) emit('data', ...args);
    }, due - now);
    return true;
  }) as typeof socket.emit;
}

/** Makes every request to `server` wait as `model` says before its handlers run. */
export function delayRequests(server: import('node:http').Server, model: LatencyModel): LatencyStats {
  const stats: LatencyStats = { requests: 0, newConnections: 0 };
  const handlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  const seen = new WeakSet<Socket>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const fresh = !seen.has(req.socket);
    seen.add(req.socket);
    stats.requests++;
    if (fresh) stats.newConnections++;
    setTimeout(
      () => {
        for (const handler of handlers) handler.call(server, req, res);
      },
      requestDelayMs(model, fresh),
    );
  });
  return stats;
}

export interface SimulatedNode extends InventoryNode {
  index: number;
  port: number;
  kind: 'agent' | 'offline' | 'hanging';
  /** For `agent` nodes. */
  runtime?: FakeRuntime;
  engine?: JobEngine;
  /** For `agent` nodes with feeds. */
  feeds?: FeedsHandle;
  feedRuntime?: SimFeedRuntime;
  /** For `agent` nodes: its HTTP server (behind `front` over TLS), to stop the node. */
  server?: AgentServer;
  /** For `agent` nodes over TLS: the listener in front of `server`. */
  front?: TcpServer;
  /** Sockets taken over by the feeds WebSocket (to cut them all in a simulated blip). */
  feedSockets?: Set<Duplex>;
  /** With a latency model: what it delayed. */
  latency?: LatencyStats;
}

export interface Simulator {
  nodes: SimulatedNode[];
  key: string;
  /** `SHA256:<hex>` of the certificate every node serves (null with `plainHttp`). */
  fingerprint: string | null;
  /** What the CLI's environment needs for `inventoryYaml()`: the key and the fingerprint. */
  env(): Record<string, string>;
  /** The inventory as the CLI would load it, with a group `all` of every node. */
  inventory(): Inventory;
  /**
   * The inventory as YAML; keys and fingerprints are written as `${DOKKUP_SIM_KEY}` and
   * `${DOKKUP_SIM_FINGERPRINT}` (see `env()`): ten thousand nodes make 1.2 MiB (with every key
   * and fingerprint written out, about 2 MiB: within the inventory limit of 4 MiB).
   */
  inventoryYaml(): string;
  /** Stops these nodes (by index): their feeds close, nothing listens on their port any more. */
  stopNodes(indexes: readonly number[]): Promise<void>;
  /** A network blip: every open feed socket is cut at once (the nodes stay up). Returns how many. */
  dropFeeds(): number;
  /** Open feed sessions over every node. */
  feedSessions(): number;
  stop(): Promise<void>;
}

function randomKey(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
}

export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const host = options.host ?? '127.0.0.1';
  const prefix = options.namePrefix ?? 'n';
  const key = options.key ?? randomKey();
  const first = options.firstIndex ?? 0;
  const width = options.nameWidth ?? String(Math.max(1, first + options.nodes)).length;
  const logger = silentLogger();
  const wrongKey = new Set(options.wrongKey ?? []);
  const offline = new Set(options.offline ?? []);
  const hanging = new Set(options.hanging ?? []);
  const certificate: CertificatePair | undefined = options.plainHttp
    ? undefined
    : (options.certificate ?? (await createSelfSignedCertificate(['127.0.0.1', 'localhost'])));
  const fingerprint = certificate ? fingerprintOf(certificate.cert) : null;
  const secureContext = certificate ? createSecureContext(tlsServerOptions(certificate)) : undefined;
  const scheme = certificate ? 'https' : 'http';
  // One verifier for all nodes that share the key.
  const sharedVerifier = KeyVerifier.forKey(key, { throttle: { maxFailures: 1_000_000 } });

  const servers: (AgentServer | TcpServer)[] = [];
  const hangingSockets = new Set<import('node:net').Socket>();
  const nodes: SimulatedNode[] = [];

  const listen = async (server: AgentServer | TcpServer): Promise<number> => {
    server.listen(0, host);
    await once(server, 'listening');
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('simulator: no port');
    return address.port;
  };

  const startNode = async (index: number): Promise<SimulatedNode> => {
    const name = `${prefix}${String(first + index + 1).padStart(width, '0')}`;
    const base = (port: number) => ({
      index,
      name,
      location: certificate ? `${host}:${port}` : `http://${host}:${port}`,
      baseUrl: `${scheme}://${host}:${port}`,
      key,
      ...(fingerprint ? { fingerprint } : {}),
      port,
    });
    if (offline.has(index)) {
      // Take a free port and give it back: nothing listens there afterwards.
      const probe = createHttpServer();
      const port = await listen(probe);
      probe.close();
      return { ...base(port), kind: 'offline' };
    }
    if (hanging.has(index)) {
      const server = createTcpServer((socket) => {
        hangingSockets.add(socket);
        socket.on('close', () => hangingSockets.delete(socket));
        socket.on('error', () => {});
      });
      servers.push(server);
      return { ...base(await listen(server)), kind: 'hanging' };
    }
    const runtime = new FakeRuntime(options.runtime);
    const engine = new JobEngine({
      runtime,
      store: new MemoryJobStateStore(),
      logger,
      agentVersion: '0.0.0-sim',
      hostname: name,
      concurrency: options.engineConcurrency,
      pollMs: options.pollMs ?? 10,
    });
    const verifier = wrongKey.has(index)
      ? KeyVerifier.forKey(randomKey(), { throttle: { maxFailures: 1_000_000 } })
      : sharedVerifier;
    const server = createAgentServer({ service: engine, verifier, logger, agentVersion: '0.0.0-sim' });
    let feeds: FeedsHandle | undefined;
    let feedRuntime: SimFeedRuntime | undefined;
    if (options.feeds !== false) {
      feedRuntime = new SimFeedRuntime(runtime, options.feeds ?? {});
      feeds = attachFeeds(server, {
        verifier,
        runtime: feedRuntime,
        engine,
        summary: engine,
        logger,
        // One operator's TUI (and maybe a CLI or two) per node.
        maxSessions: 16,
      });
    }
    const latency =
      options.latency && options.latency.rttMs > 0 ? delayRequests(server, options.latency) : undefined;
    if (options.latency && options.latency.rttMs > 0 && feeds) delayUpgrades(server, options.latency);
    const feedSockets = feeds ? trackUpgrades(server) : undefined;
    servers.push(server);
    const extra = {
      ...(feeds ? { feeds } : {}),
      ...(feedRuntime ? { feedRuntime } : {}),
      ...(feedSockets ? { feedSockets } : {}),
      ...(latency ? { latency } : {}),
    };
    if (!secureContext)
      return { ...base(await listen(server)), kind: 'agent', runtime, engine, server, ...extra };
    // TLS in front of the node's HTTP server, with the one shared context: what https.Server
    // does per connection, without parsing the certificate ten thousand times at start. With a
    // latency model, the handshake costs its round trip too (TLS 1.3: one, resumed or not); a
    // feed's upgrade then waits its two more (see delayUpgrades) on the decrypted socket.
    const model = options.latency;
    const front = createTcpServer({ noDelay: true }, (raw) => {
      const socket = new TLSSocket(raw, { isServer: true, secureContext });
      socket.once('secure', () => {
        if (latency && model)
          setTimeout(
            () => {
              if (!socket.destroyed) server.emit('connection', socket);
            },
            requestDelayMs(model, false),
          );
        else server.emit('connection', socket);
      });
      socket.on('error', () => socket.destroy());
    });
    servers.push(front);
    return { ...base(await listen(front)), kind: 'agent', runtime, engine, server, front, ...extra };
  };

  try {
    // Listen in batches: bounded, and fast enough for ten thousand listeners.
    const batch = 256;
    for (let start = 0; start < options.nodes; start += batch) {
      const indexes = Array.from({ length: Math.min(batch, options.nodes - start) }, (_, i) => start + i);
      nodes.push(...(await Promise.all(indexes.map(startNode))));
    }
  } catch (error) {
    await closeAll(servers, hangingSockets, nodes);
    throw error;
  }

  const stopNode = async (node: SimulatedNode): Promise<void> => {
    if (node.kind !== 'agent' || !node.server) return;
    node.kind = 'offline';
    node.feedRuntime?.stop();
    const server = node.server;
    const front = node.front;
    // Nothing listens on the port any more (the TLS front, or the HTTP server itself).
    const listenerClosed = front
      ? new Promise<void>((resolve) => front.close(() => resolve()))
      : new Promise<void>((resolve) => server.close(() => resolve()));
    if (front) server.close();
    server.closeAllConnections();
    await node.feeds?.close();
    await listenerClosed;
  };

  const inventoryNodes = (): InventoryNode[] =>
    nodes.map(({ name, location, baseUrl }) => ({
      name,
      location,
      baseUrl,
      key,
      ...(fingerprint ? { fingerprint } : {}),
    }));

  return {
    nodes,
    key,
    fingerprint,
    env: () => ({ [SIM_KEY_ENV]: key, ...(fingerprint ? { [SIM_FINGERPRINT_ENV]: fingerprint } : {}) }),
    inventory: () => ({
      source: 'simulator',
      nodes: inventoryNodes(),
      groups: { all: nodes.map((n) => n.name) },
    }),
    inventoryYaml: () => {
      const lines = [
        '# SIMULATION: every node below is a simulated agent (test/sim), not a server.',
        'nodes:',
      ];
      for (const n of nodes) {
        lines.push(`  - name: ${n.name}`, `    location: ${n.location}`, `    key: \${${SIM_KEY_ENV}}`);
        if (fingerprint) lines.push(`    fingerprint: \${${SIM_FINGERPRINT_ENV}}`);
      }
      lines.push('groups:', '  - name: all', `    nodes: [${nodes.map((n) => n.name).join(', ')}]`, '');
      return lines.join('\n');
    },
    stopNodes: async (indexes) => {
      await Promise.all(indexes.map((i) => (nodes[i] ? stopNode(nodes[i]) : undefined)));
    },
    dropFeeds: () => {
      let dropped = 0;
      for (const node of nodes) {
        for (const socket of node.feedSockets ?? []) {
          socket.destroy();
          dropped++;
        }
        node.feedSockets?.clear();
      }
      return dropped;
    },
    feedSessions: () =>
      nodes.reduce((sum, n) => sum + (n.kind === 'agent' ? (n.feeds?.sessions ?? 0) : 0), 0),
    stop: () => closeAll(servers, hangingSockets, nodes),
  };
}

async function closeAll(
  servers: readonly (AgentServer | TcpServer)[],
  sockets: Set<import('node:net').Socket>,
  nodes: readonly SimulatedNode[],
): Promise<void> {
  for (const socket of sockets) socket.destroy();
  for (const node of nodes) node.feedRuntime?.stop();
  await Promise.all(nodes.map((n) => n.feeds?.close()));
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          if ('closeAllConnections' in server) server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
}
