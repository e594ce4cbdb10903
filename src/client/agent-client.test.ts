/**
 * The client against small loopback HTTP servers that answer exactly what each test needs:
 * error mapping, NDJSON streaming, timeouts and connection reuse.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DokkupError } from '../core/errors.js';
import type { InventoryNode } from '../protocol/inventory.js';
import { AgentClient, baseUrlOf } from './agent-client.js';
import {
  AgentHttpError,
  AgentProtocolError,
  AgentUnauthorizedError,
  AgentUnreachableError,
  reachabilityOf,
} from './errors.js';

const servers: Server[] = [];
const clients: AgentClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(
    servers.splice(0).map((s) => {
      s.closeAllConnections();
      return new Promise((resolve) => s.close(resolve));
    }),
  );
});

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; node: InventoryNode }> {
  const server = createServer(handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    server,
    node: { name: 'lab1', location: `127.0.0.1:${port}`, baseUrl: `http://127.0.0.1:${port}`, key: 'k3y' },
  };
}

function client(node: InventoryNode, options?: ConstructorParameters<typeof AgentClient>[1]): AgentClient {
  const c = new AgentClient(node, options);
  clients.push(c);
  return c;
}

const info = {
  agentVersion: '0.3.0',
  dockerVersion: '28.2.2',
  dockerApiVersion: '1.50',
  hostname: 'lab1',
  os: 'linux',
  arch: 'x64',
  jobs: 0,
  containers: { running: 0, total: 0 },
};

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

describe('AgentClient requests', () => {
  it('sends the key as a bearer token and returns the validated answer', async () => {
    let auth: string | undefined;
    let path: string | undefined;
    const { node } = await serve((req, res) => {
      auth = req.headers.authorization;
      path = req.url;
      json(res, 200, info);
    });
    expect(await client(node).info()).toEqual(info);
    expect(auth).toBe('Bearer k3y');
    expect(path).toBe('/v1/info');
  });

  it('keeps base path prefixes of the location', async () => {
    let path: string | undefined;
    const { node } = await serve((req, res) => {
      path = req.url;
      json(res, 200, info);
    });
    await client({ ...node, baseUrl: `${node.baseUrl}/agent/` }).info();
    expect(path).toBe('/agent/v1/info');
  });

  it('401 becomes AgentUnauthorizedError (UNAUTHORIZED)', async () => {
    const { node } = await serve((_req, res) =>
      json(res, 401, { error: { code: 'unauthorized', message: 'wrong API key' } }),
    );
    const error = await client(node)
      .info()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentUnauthorizedError);
    expect((error as Error).message).toBe('wrong API key');
    expect(reachabilityOf(error)).toBe('unauthorized');
    // One error root: the code is what --json shows as the node's error.code.
    expect(error).toBeInstanceOf(DokkupError);
    expect((error as AgentUnauthorizedError).code).toBe('unauthorized');
  });

  it("other error statuses carry the agent's ErrorBody", async () => {
    const { node } = await serve((_req, res) =>
      json(res, 409, {
        error: { code: 'job_busy', message: 'job demo is busy: a deploy started 3s ago is still running' },
      }),
    );
    const error = await client(node)
      .plan('demo', { operation: 'stop', purge: false })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentHttpError);
    expect((error as AgentHttpError).status).toBe(409);
    expect((error as AgentHttpError).body.code).toBe('job_busy');
    expect(reachabilityOf(error)).toBe('error');
    expect((error as AgentHttpError).code).toBe('job_busy');
  });

  it('an answer of the wrong shape is a protocol error, not a crash', async () => {
    const { node } = await serve((_req, res) => json(res, 200, { hello: 'world' }));
    const error = await client(node)
      .info()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentProtocolError);
    expect((error as Error).message).toMatch(/unexpected answer from \/v1\/info/);
  });

  it('a refused connection is OFFLINE', async () => {
    const { server, node } = await serve(() => {});
    server.close();
    await once(server, 'close');
    const error = await client(node)
      .info()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentUnreachableError);
    expect((error as AgentUnreachableError).reason).toBe('ECONNREFUSED');
    expect((error as AgentUnreachableError).code).toBe('offline');
    expect(reachabilityOf(error)).toBe('offline');
    expect((error as Error).message).toBe(`connection refused (${node.location})`);
  });

  it('an agent that accepts but never answers times out as OFFLINE', async () => {
    const { node } = await serve(() => {
      /* never answers */
    });
    const error = await client(node, { requestTimeoutMs: 200 })
      .info()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentUnreachableError);
    expect((error as AgentUnreachableError).reason).toBe('REQUEST_TIMEOUT');
  });

  it('an unknown host name is OFFLINE', async () => {
    const node = {
      name: 'x',
      location: 'nonexistent.invalid:8080',
      baseUrl: 'http://nonexistent.invalid:8080',
      key: 'k',
    };
    const error = await client(node)
      .info()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentUnreachableError);
  });

  it('reuses one kept-alive connection for successive requests to a node', async () => {
    let connections = 0;
    const { server, node } = await serve((_req, res) => json(res, 200, info));
    server.on('connection', () => connections++);
    const c = client(node);
    await c.info();
    await c.info();
    await c.info();
    expect(connections).toBe(1);
    c.releaseConnections();
    await c.info();
    expect(connections).toBe(2);
  });

  it('retries once on a fresh connection when a reused connection is reset', async () => {
    const perSocket = new WeakMap<object, number>();
    let served = 0;
    const { node } = await serve((req, res) => {
      const count = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, count);
      // As if the agent had closed the idle connection just as the client reused it.
      if (count > 1) {
        req.socket.destroy();
        return;
      }
      served++;
      json(res, 200, info);
    });
    const c = client(node);
    await c.info();
    await expect(c.info()).resolves.toEqual(info);
    expect(served).toBe(2);
  });

  it('does not retry a reset on a fresh connection', async () => {
    let attempts = 0;
    const { node } = await serve((req) => {
      attempts++;
      req.socket.destroy();
    });
    const error = await client(node)
      .info()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentUnreachableError);
    expect(attempts).toBe(1);
  });
});

describe('AgentClient long operations (NDJSON)', () => {
  const result = {
    ok: true,
    action: 'fresh',
    message: 'Deployment successful',
    versionFrom: null,
    versionTo: '55dab35',
    running: 2,
    total: 2,
  };

  it('hands each progress line to the callback as it arrives and returns the result', async () => {
    const { node } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const lines = [
        JSON.stringify({ type: 'progress', phase: 'pull', message: 'Pulling web:1' }),
        JSON.stringify({
          type: 'progress',
          phase: 'start',
          message: 'Starting container (1/2)',
          current: 1,
          total: 2,
        }),
        JSON.stringify({ type: 'done', result }),
      ].join('\n');
      // Split mid-line to prove lines are reassembled across chunks.
      const cut = 30;
      res.write(lines.slice(0, cut));
      setTimeout(() => res.end(`${lines.slice(cut)}\n`), 20);
    });
    const seen: string[] = [];
    const outcome = await client(node).stop('demo', false, (line) => seen.push(line.message));
    expect(seen).toEqual(['Pulling web:1', 'Starting container (1/2)']);
    expect(outcome).toEqual(result);
  });

  it('an operation refused before it started (409 JSON) is an AgentHttpError', async () => {
    const { node } = await serve((_req, res) =>
      json(res, 409, { error: { code: 'job_busy', message: 'busy' } }),
    );
    const error = await client(node)
      .rollback('demo', undefined, () => {})
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentHttpError);
  });

  it('a stream that ends without its result reports an unknown outcome', async () => {
    const { node } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end(
        `${JSON.stringify({ type: 'progress', phase: 'start', message: 'Starting container (1/2)' })}\n`,
      );
    });
    const error = await client(node)
      .stop('demo', true, () => {})
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentProtocolError);
    expect((error as Error).message).toMatch(/outcome on the node is unknown/);
  });

  it('a connection cut mid-stream reports an unknown outcome', async () => {
    const { node } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(`${JSON.stringify({ type: 'progress', phase: 'start', message: 'Starting' })}\n`);
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const error = await client(node)
      .stop('demo', false, () => {})
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentProtocolError);
  });

  it('a garbage line is a protocol error', async () => {
    const { node } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end('this is not json\n');
    });
    const error = await client(node)
      .stop('demo', false, () => {})
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentProtocolError);
  });

  it('sends the request bodies of the protocol', async () => {
    const bodies: unknown[] = [];
    const { node } = await serve((req, res) => {
      let text = '';
      req.on('data', (c) => (text += c));
      req.on('end', () => {
        bodies.push({ url: req.url, body: JSON.parse(text) });
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        res.end(`${JSON.stringify({ type: 'done', result })}\n`);
      });
    });
    const c = client(node);
    await c.rollback('demo', '55dab35', () => {});
    await c.rollback('demo', undefined, () => {});
    await c.stop('demo', true, () => {});
    expect(bodies).toEqual([
      { url: '/v1/jobs/demo/rollback', body: { to: '55dab35' } },
      { url: '/v1/jobs/demo/rollback', body: {} },
      { url: '/v1/jobs/demo/stop', body: { purge: true } },
    ]);
  });
});

describe('baseUrlOf', () => {
  it('adds https:// to host:port (no scheme means TLS) and drops trailing slashes', () => {
    expect(baseUrlOf('192.168.0.99:8080')).toBe('https://192.168.0.99:8080');
    expect(baseUrlOf('https://lab1:8443/')).toBe('https://lab1:8443');
  });
});
