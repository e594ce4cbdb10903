/**
 * Reading a large inventory in a worker thread: what comes back is the worker's result, and a
 * worker that fails or cannot run never hides the file's real, located error. The workers here
 * are stand-ins started from code (the real one, inventory-worker.ts, runs from the build and
 * is measured by `npm run bench:fanout`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONCURRENCY } from '../client/cluster.js';
import { type CommandContext, fanOutFlags } from './command.js';
import { inputErrorsOf, loadInventoryInWorker, makeCluster, warnPlainHttp } from './context.js';
import { plainStyle } from './io.js';

const dir = mkdtempSync(path.join(tmpdir(), 'dokkup-context-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const worker = (code: string) => (workerData: unknown) => new Worker(code, { eval: true, workerData });

describe('loadInventoryInWorker', () => {
  it('returns what the worker read, given the file and the environment', async () => {
    const inventory = await loadInventoryInWorker(
      '/inventory.yaml',
      { KEY: 'secret' },
      worker(`const { parentPort, workerData } = require('node:worker_threads');
        parentPort.postMessage({ ok: true, inventory: { source: workerData.file, nodes: [{ name: workerData.env.KEY }], groups: {} } });`),
    );
    expect(inventory).toEqual({ source: '/inventory.yaml', nodes: [{ name: 'secret' }], groups: {} });
  });

  it('reads the file itself when the worker could not, so the error names file and line', async () => {
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, 'nodes:\n  - name: a\n    location: nowhere\n    key: k\n');
    const failing = worker(`require('node:worker_threads').parentPort.postMessage({ ok: false });`);
    const located = (error: unknown) =>
      (inputErrorsOf(error) ?? []).map((e) => e.format()).find((text) => /bad\.yaml:3:\d+ /.test(text));
    expect(located(await loadInventoryInWorker(file, {}, failing).catch((e: unknown) => e))).toMatch(
      /location/,
    );

    const crashing = worker(`throw new Error('cannot start');`);
    expect(located(await loadInventoryInWorker(file, {}, crashing).catch((e: unknown) => e))).toMatch(
      /location/,
    );
  });
});

describe('--parallel', () => {
  it("--parallel defaults to the Cluster's own default (512 at once)", () => {
    expect(fanOutFlags.parallel!.default).toBe(DEFAULT_CONCURRENCY);
  });
});

describe('the plain-HTTP warning', () => {
  const context = () => {
    let stderr = '';
    const ctx: CommandContext = {
      flags: { parallel: 4, timeout: 5 },
      args: [],
      io: {
        stdout: { write: () => true },
        stderr: { write: (text: string) => (stderr += text) },
        stdin: new PassThrough(),
        env: {},
        cwd: '/',
      },
      signal: new AbortController().signal,
      style: plainStyle,
    };
    return { ctx, stderr: () => stderr };
  };
  const node = (name: string, baseUrl: string) => ({ name, location: baseUrl, baseUrl, key: 'k' });

  it('is printed once per run, naming the http:// nodes on other machines; never for TLS or loopback', () => {
    const { ctx, stderr } = context();
    const nodes = [
      node('tls', 'https://10.0.0.1:8080'),
      node('local', 'http://127.0.0.1:8080'),
      node('lab3', 'http://10.0.0.3:8080'),
    ];
    makeCluster(ctx, nodes).close();
    warnPlainHttp(ctx, nodes);
    expect(stderr()).toBe(
      'Warning: plain HTTP to 1 node, the key travels unencrypted: lab3 (http://10.0.0.3:8080). Run those agents with TLS (the default) and write https:// or no scheme, with their fingerprint.\n',
    );
    const quiet = context();
    makeCluster(quiet.ctx, nodes.slice(0, 2)).close();
    expect(quiet.stderr()).toBe('');
  });
});
