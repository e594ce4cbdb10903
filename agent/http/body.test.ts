/**
 * Request bodies over a real loopback socket: the words of a 400 (the same as the CLI's for a
 * YAML file), and a client that goes away mid-body. Status codes per route are pinned in
 * agent/app.test.ts.
 */
import { createServer, request, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { readJson } from './body.js';
import { toErrorResponse } from './errors.js';

const Body = z.strictObject({
  spec: z.strictObject({ name: z.string().min(1), count: z.number().int().min(0) }),
});

let server: Server | null = null;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = null;
});

/** A server that reads the body with `readJson` and reports what came of it. */
async function start(onOutcome: (outcome: { status: number; body: unknown }) => void = () => {}) {
  server = createServer((req, res) => {
    readJson(req, Body, 64).then(
      (value) => {
        onOutcome({ status: 200, body: value });
        res.end(JSON.stringify(value));
      },
      (error: unknown) => {
        const { status, body } = toErrorResponse(error);
        onOutcome({ status, body });
        res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
      },
    );
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', () => resolve()));
  return (server.address() as { port: number }).port;
}

async function post(port: number, body: string) {
  const response = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body });
  return { status: response.status, body: (await response.json()) as { error: Record<string, unknown> } };
}

describe('readJson', () => {
  it('answers 400 naming the field in the words the CLI uses', async () => {
    const port = await start();
    expect(await post(port, '{"spec":{"name":"web","count":"2"}}')).toEqual({
      status: 400,
      body: {
        error: {
          code: 'invalid_request',
          message: 'spec.count: expected a number, got "2"',
          path: 'spec.count',
        },
      },
    });
    expect((await post(port, '{"spec":{"name":"web"}}')).body).toEqual({
      error: { code: 'invalid_request', message: 'spec.count: is required', path: 'spec.count' },
    });
    expect((await post(port, '{"spec":{"name":"","count":1,"x":1}}')).body).toEqual({
      error: {
        code: 'invalid_request',
        message: 'spec.name: must not be empty (and 1 more problem(s))',
        path: 'spec.name',
      },
    });
  });

  it('says when the body is not JSON, and treats an empty body as {}', async () => {
    const port = await start();
    const malformed = await post(port, '{"spec": tru');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.message).toMatch(/^request body is not valid JSON: /);
    expect((await post(port, '')).body.error).toMatchObject({ path: 'spec', message: 'spec: is required' });
  });

  it('answers 413 past the limit', async () => {
    const port = await start();
    expect((await post(port, JSON.stringify({ spec: { name: 'x'.repeat(100), count: 1 } }))).status).toBe(
      413,
    );
  });

  it('gives up on a client that closes before its body ended', async () => {
    const outcomes: { status: number; body: unknown }[] = [];
    const port = await start((outcome) => outcomes.push(outcome));
    const req = request({ port, host: '127.0.0.1', method: 'POST', headers: { 'Content-Length': '50' } });
    req.on('error', () => {});
    req.write('{"spec":');
    await new Promise((r) => setTimeout(r, 50));
    req.destroy();
    await expect.poll(() => outcomes.length).toBe(1);
    expect(outcomes[0]).toMatchObject({
      status: 400,
      body: { error: { message: 'client closed the request before its body ended' } },
    });
  });
});
