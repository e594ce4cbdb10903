/**
 * References reach the Engine API as one encoded path segment each: a hostile container, image
 * or network name cannot walk to another endpoint or add query parameters. Checked against a
 * stand-in Engine API on a unix socket that records every request line.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker } from './connect.js';
import { DockerRuntime } from './docker.js';
import { engineRef } from './engine-ref.js';
import { DockerFeedRuntime } from './feeds-docker.js';

const HOSTILE = [
  '../../containers/abc/kill?signal=KILL#',
  'x/../../../v1.41/containers/prune?',
  'web?force=true',
  'a%2F..%2Fb',
  '..',
  'name with space',
];

let dir: string;
let server: Server;
const seen: { method: string; url: string }[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dokkup-engine-'));
  server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '' });
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ message: 'no such thing' }));
  });
  await new Promise<void>((resolve) => server.listen(join(dir, 'engine.sock'), resolve));
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

/** The last request the call made: its raw path (no WHATWG dot-segment folding) and query. */
async function requestOf(
  call: () => Promise<unknown>,
): Promise<{ path: string; query: URLSearchParams; raw: string }> {
  const before = seen.length;
  await call().catch(() => {});
  const made = seen.slice(before);
  expect(made.length).toBeGreaterThan(0);
  const raw = made.at(-1)!.url;
  const [path = '', query = ''] = raw.split('?', 2);
  return { path, query: new URLSearchParams(query), raw };
}

describe('Engine API paths', () => {
  it('encodes the whole reference, so it decodes back to exactly itself and nothing else', async () => {
    const docker = () => new DockerRuntime(connectDocker(`unix://${join(dir, 'engine.sock')}`));
    const feeds = () => new DockerFeedRuntime(connectDocker(`unix://${join(dir, 'engine.sock')}`));
    for (const ref of HOSTILE) {
      const calls: [string, () => Promise<unknown>, RegExp][] = [
        ['image inspect', () => docker().imageId(ref), /^\/images\/([^/]+)\/json$/],
        ['image healthcheck', () => docker().imageHasHealthcheck(ref), /^\/images\/([^/]+)\/json$/],
        ['container inspect', () => docker().inspectContainer(ref), /^\/containers\/([^/]+)\/json$/],
        ['container start', () => docker().startContainer(ref), /^\/containers\/([^/]+)\/start$/],
        ['container stop', () => docker().stopContainer(ref, 1), /^\/containers\/([^/]+)\/stop$/],
        ['container remove', () => docker().removeContainer(ref), /^\/containers\/([^/]+)$/],
        ['network inspect', () => docker().networkDriver(ref), /^\/networks\/([^/]+)$/],
        ['volume inspect', () => docker().volumeBindDevice(ref), /^\/volumes\/([^/]+)$/],
        ['feeds container', () => feeds().findContainer(ref), /^\/containers\/([^/]+)\/json$/],
      ];
      for (const [what, call, shape] of calls) {
        const { path, query, raw } = await requestOf(call);
        const match = shape.exec(path.replace(/^\/v[\d.]+/, ''));
        expect(match, `${what} ${ref}: ${raw}`).not.toBeNull();
        expect(decodeURIComponent(match![1]!), what).toBe(ref);
        // No dot segment and no raw separator survive in the reference's segment.
        expect(match![1], what).not.toMatch(/^\.+$|[/?#]/);
        // Only dokkup's own query parameters, never ones smuggled in by the reference.
        for (const key of query.keys()) expect(['t', 'force'], `${what} ${ref}`).toContain(key);
      }
    }
  });

  it('engineRef leaves plain references readable', () => {
    expect(engineRef('0123abcd')).toBe('0123abcd');
    expect(engineRef('web-1.app_x')).toBe('web-1.app_x');
    expect(engineRef('127.0.0.1:5000/web:v1')).toBe('127.0.0.1%3A5000%2Fweb%3Av1');
    expect(engineRef('..')).toBe('%2E%2E');
  });
});
