/**
 * Caddy's admin API and the probe listener, both unix sockets in the proxy's state directory
 * (bind-mounted from the agent's data directory): nothing is published on the host, and only
 * processes that can open the agent's data directory reach them.
 */
import { request } from 'node:http';
import { ADMIN_ORIGIN, PROBE_HEADER } from '../../src/core/proxy.js';

export interface UpstreamLoad {
  address: string;
  /** Requests in flight to it now. */
  numRequests: number;
  fails: number;
}

/** What the proxy manager needs from Caddy (a fake implements it in unit tests). */
export interface ProxyAdmin {
  /** Replaces the whole configuration; Caddy applies it gracefully or refuses it whole. */
  load(config: Record<string, unknown>): Promise<void>;
  /** The upstreams Caddy knows, with their requests in flight. */
  upstreams(): Promise<UpstreamLoad[]>;
  /** Asks the proxy to request a container's health path; its HTTP status (502: unreachable). */
  probe(container: string, timeoutMs: number): Promise<number>;
  /** True when the admin API answers. */
  ready(): Promise<boolean>;
}

interface Reply {
  status: number;
  body: string;
}

function call(
  socketPath: string,
  method: string,
  path: string,
  opts: { body?: string; headers?: Record<string, string>; timeoutMs: number },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        method,
        path,
        headers: {
          host: ADMIN_ORIGIN,
          ...(opts.body !== undefined
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(opts.body) }
            : {}),
          ...opts.headers,
        },
        timeout: opts.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`no answer from ${socketPath} within ${opts.timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

export class CaddyAdmin implements ProxyAdmin {
  constructor(
    private readonly adminSocket: string,
    private readonly probeSocket: string,
    /** A load waits for the previous configuration's requests in flight: give it the longest drain and more. */
    private readonly loadTimeoutMs = 11 * 60_000,
  ) {}

  async load(config: Record<string, unknown>): Promise<void> {
    const reply = await call(this.adminSocket, 'POST', '/load', {
      body: JSON.stringify(config),
      timeoutMs: this.loadTimeoutMs,
    });
    if (reply.status !== 200)
      throw new Error(`the proxy refused the routes (${reply.status}): ${reply.body.trim()}`);
  }

  async upstreams(): Promise<UpstreamLoad[]> {
    const reply = await call(this.adminSocket, 'GET', '/reverse_proxy/upstreams', { timeoutMs: 5000 });
    if (reply.status !== 200)
      throw new Error(`the proxy's upstreams (${reply.status}): ${reply.body.trim()}`);
    const list = JSON.parse(reply.body) as { address: string; num_requests: number; fails: number }[] | null;
    return (list ?? []).map((u) => ({ address: u.address, numRequests: u.num_requests, fails: u.fails }));
  }

  async probe(container: string, timeoutMs: number): Promise<number> {
    const reply = await call(this.probeSocket, 'GET', '/', {
      headers: { [PROBE_HEADER]: container, host: 'probe' },
      timeoutMs,
    });
    return reply.status;
  }

  async ready(): Promise<boolean> {
    try {
      return (await call(this.adminSocket, 'GET', '/config/', { timeoutMs: 2000 })).status === 200;
    } catch {
      return false;
    }
  }
}
