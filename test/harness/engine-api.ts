/**
 * The Docker Engine API over an engine's unix socket, for tests and benches that must talk to
 * the engine directly and quickly (a prober sampling every 75 ms, a baseline for the agent's
 * own creates). The docker CLI is too slow to start for that; dockerode belongs to agent/docker.
 */
import { request } from 'node:http';

export interface EngineResponse {
  status: number;
  json: unknown;
}

export function engineApi(
  socketPath: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<EngineResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = payload
      ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
      : {};
    const req = request({ socketPath, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        text += d;
      });
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : null });
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** `GET /containers/json?all=1` with Docker's filters, e.g. `{ label: ['dokkup.job.name=web'] }`. */
export async function engineContainers<T = EngineContainer>(
  socketPath: string,
  filters: Record<string, string[]>,
): Promise<T[]> {
  const path = `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify(filters))}`;
  const res = await engineApi(socketPath, 'GET', path);
  if (res.status !== 200) throw new Error(`engine answered ${res.status} to ${path}`);
  return res.json as T[];
}

export interface EngineContainer {
  Id: string;
  Names: string[];
  State: string;
  Labels: Record<string, string>;
  Image: string;
}
