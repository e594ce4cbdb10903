/**
 * Runs the BUILT agent (`node dist/src/cli/bin.js agent`) as a real process against a harness
 * engine, the way an operator runs it: tests can then kill -9 it, restart it on the same data
 * directory and port, and talk to it over HTTP with the key it printed.
 *
 * The agent's contract used here: on first start it prints exactly one line
 * `Your new API key is: <key>` and one line `Certificate fingerprint: SHA256:<hex>` on stdout
 * (never again on later starts; `dokkup agent --fingerprint` prints the second any time), and
 * it answers `GET /healthz` with 200 without a key once it serves, over HTTPS (the default) or
 * plain HTTP with `--insecure-http`. Tests pin the fingerprint in their inventories.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pinnedFetch } from './https-fetch.js';
import { freePort, sleep } from './proc.js';

export { freePort };

const KEY_LINE = /^Your new API key is: (\S+)\s*$/;
const FINGERPRINT_LINE = /^Certificate fingerprint: (SHA256:[0-9a-f]{64})\s*$/;

/** The repository root: the nearest ancestor holding dokkup's package.json (works from dist/ too). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'dokkup') return dir;
      } catch {}
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the dokkup repository root');
    dir = parent;
  }
}

export function agentBinary(): string {
  return join(repoRoot(), 'dist', 'src', 'cli', 'bin.js');
}

export interface AgentProcessOptions {
  /** The engine the agent drives (its DOCKER_HOST). */
  dockerHost: string;
  /** Data directory; a new temp directory when omitted. */
  configDir?: string;
  /** The key, when configDir already holds one (the agent prints no key then). */
  key?: string;
  /** The certificate's fingerprint, when configDir already holds one (else `dokkup agent --fingerprint` tells). */
  fingerprint?: string;
  /** Port on 127.0.0.1; a free one when omitted. */
  port?: number;
  /** Extra environment (e.g. LOG_LEVEL). */
  env?: NodeJS.ProcessEnv;
  /** Extra arguments after `agent`. */
  args?: readonly string[];
  /** The dokkup to run, e.g. the single-file build (default: this Node with dist/src/cli/bin.js). */
  executable?: string;
  /** How long the agent may take to print its key and answer /healthz (default 30 s). */
  startTimeoutMs?: number;
}

export interface AgentProcess {
  /** `https://127.0.0.1:<port>` (`http://` with `--insecure-http`) */
  baseUrl: string;
  key: string;
  /** `SHA256:<hex>` of the certificate it serves ('' with `--insecure-http`). */
  readonly fingerprint: string;
  /**
   * Its inventory entry: `127.0.0.1:<port>` (https) with key and fingerprint, or `http://…` when
   * plain; with the base URL the CLI derives from the location, so `new AgentClient(…)` takes it.
   */
  inventoryNode(name: string): {
    name: string;
    location: string;
    baseUrl: string;
    key: string;
    fingerprint?: string;
  };
  port: number;
  configDir: string;
  /** The current process (a new one after restart()). */
  readonly process: ChildProcess;
  /** Everything the agent printed on stdout and stderr so far, across restarts. */
  output(): string;
  /** Sends the signal (default SIGTERM) and waits for the exit (SIGKILL after 10 s). */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** kill -9, waits until the process is gone. */
  kill9(): Promise<void>;
  /** Starts the agent again on the same data directory and port; it must come up healthy. */
  restart(): Promise<void>;
}

/** Agents started by this process and not yet exited: killed if the test process exits. */
const liveAgents = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  liveAgents.add(child);
  child.once('exit', () => liveAgents.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of liveAgents) c.kill('SIGKILL');
  });
}

async function healthy(baseUrl: string, fingerprint: string | undefined): Promise<boolean> {
  try {
    const res = await pinnedFetch(`${baseUrl}/healthz`, {
      signal: AbortSignal.timeout(1000),
      ...(fingerprint ? { fingerprint } : { insecure: true }),
    });
    await res.text();
    return res.status === 200;
  } catch {
    return false;
  }
}

function waitExit(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((res) => child.once('exit', (code, signal) => res({ code, signal })));
}

export async function startAgentProcess(opts: AgentProcessOptions): Promise<AgentProcess> {
  const bin = opts.executable ?? agentBinary();
  if (!existsSync(bin)) throw new Error(`${bin} does not exist: run \`npm run build\` first`);
  let configDir: string;
  if (opts.configDir) {
    configDir = resolve(opts.configDir);
    mkdirSync(configDir, { recursive: true });
  } else {
    configDir = mkdtempSync(join(tmpdir(), 'dokkup-agent-'));
  }
  // A data directory with something in it may already hold a key: the agent prints none then.
  const expectNewKey = readdirSync(configDir).length === 0;
  if (!expectNewKey && !opts.key) {
    throw new Error(`${configDir} is not empty, so the agent will print no key: pass the key in opts.key`);
  }
  const port = opts.port ?? (await freePort());
  const plain = (opts.args ?? []).includes('--insecure-http');
  const baseUrl = `${plain ? 'http' : 'https'}://127.0.0.1:${port}`;
  const timeoutMs = opts.startTimeoutMs ?? 30_000;
  let output = '';
  let key = opts.key;
  let fingerprint = opts.fingerprint;
  // The agent prints the fingerprint of a certificate it makes; of an operator's (--tls-cert), or
  // of one made on an earlier start, `dokkup agent --fingerprint` tells.
  const makesCertificate = !plain && expectNewKey && !(opts.args ?? []).includes('--tls-cert');
  if (!plain && !makesCertificate && !fingerprint)
    fingerprint = await printedFingerprint(bin, configDir, opts);
  let child: ChildProcess;

  const launch = async (wantKey: boolean): Promise<void> => {
    const args = [
      ...(opts.executable ? [] : [bin]),
      'agent',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--config',
      configDir,
      ...(opts.args ?? []),
    ];
    child = spawn(opts.executable ?? process.execPath, args, {
      env: { ...process.env, DOCKER_HOST: opts.dockerHost, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    track(child);
    let printedKey: string | undefined;
    let printedFingerprint: string | undefined;
    let partial = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      partial += chunk;
      const complete = partial.split('\n');
      partial = complete.pop() ?? '';
      for (const line of complete) {
        const match = KEY_LINE.exec(line);
        if (match) printedKey = match[1];
        const printed = FINGERPRINT_LINE.exec(line);
        if (printed) printedFingerprint = printed[1];
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `agent exited (${child.signalCode ?? child.exitCode}) before serving:\n${output.slice(-4000)}`,
        );
      }
      const wantFingerprint = wantKey && makesCertificate;
      if (
        (!wantKey || printedKey) &&
        (!wantFingerprint || printedFingerprint) &&
        (await healthy(baseUrl, printedFingerprint ?? fingerprint))
      )
        break;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        const missing =
          wantKey && !printedKey
            ? 'print its key'
            : wantFingerprint && !printedFingerprint
              ? 'print its certificate fingerprint'
              : 'answer /healthz';
        throw new Error(`agent did not ${missing} within ${timeoutMs} ms:\n${output.slice(-4000)}`);
      }
      await sleep(50);
    }
    if (wantKey) key = printedKey;
    if (printedFingerprint) fingerprint = printedFingerprint;
  };

  await launch(expectNewKey);

  const agent: AgentProcess = {
    baseUrl,
    get key() {
      return key ?? '';
    },
    get fingerprint() {
      return fingerprint ?? '';
    },
    inventoryNode(name: string) {
      if (plain) return { name, location: baseUrl, baseUrl, key: key ?? '' };
      return { name, location: `127.0.0.1:${port}`, baseUrl, key: key ?? '', fingerprint: fingerprint ?? '' };
    },
    port,
    configDir,
    get process() {
      return child;
    },
    output: () => output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      const exited = waitExit(child);
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    async kill9() {
      const exited = waitExit(child);
      child.kill('SIGKILL');
      await exited;
    },
    async restart() {
      if (child.exitCode === null && child.signalCode === null) await agent.stop();
      await launch(false);
    },
  };
  return agent;
}

/** What `dokkup agent --fingerprint` prints for a data directory (or the --tls-cert given in opts.args). */
async function printedFingerprint(
  bin: string,
  configDir: string,
  opts: AgentProcessOptions,
): Promise<string> {
  const args = opts.args ?? [];
  const certArgs = args.flatMap((arg, i) =>
    arg === '--tls-cert' || arg === '--tls-key' ? [arg, args[i + 1] ?? ''] : [],
  );
  const command = opts.executable ?? process.execPath;
  const { stdout } = await promisify(execFile)(command, [
    ...(opts.executable ? [] : [bin]),
    'agent',
    '--config',
    configDir,
    '--fingerprint',
    ...certArgs,
  ]);
  const match = FINGERPRINT_LINE.exec(stdout.trim());
  if (!match) throw new Error(`dokkup agent --fingerprint printed no fingerprint: ${stdout}`);
  return match[1]!;
}

/**
 * The Node flags the `dokkup` executable starts with: those on src/cli/bin.ts's first line
 * (`#!/usr/bin/env -S node …`), which every launcher repeats (see src/cli/node-flags.test.ts).
 * A benchmark that spawns `node <bin.js>` passes them, so it measures the CLI as users run it.
 */
export function cliNodeFlags(): string[] {
  const first = readFileSync(join(repoRoot(), 'src', 'cli', 'bin.ts'), 'utf8').split('\n', 1)[0] ?? '';
  const match = /^#!\/usr\/bin\/env(?: -S)? node((?: --?\S+)*)$/.exec(first);
  if (!match) throw new Error(`src/cli/bin.ts: unexpected first line ${first}`);
  return (match[1] ?? '').split(' ').filter(Boolean);
}

/** An inventory file's text for these nodes (e.g. `agent.inventoryNode('n1')`), every value quoted. */
export function inventoryYaml(
  nodes: readonly { name: string; location: string; key: string; fingerprint?: string; ca?: string }[],
): string {
  const lines = ['nodes:'];
  for (const n of nodes) {
    lines.push(`  - name: ${n.name}`, `    location: "${n.location}"`, `    key: "${n.key}"`);
    if (n.fingerprint) lines.push(`    fingerprint: "${n.fingerprint}"`);
    if (n.ca) lines.push(`    ca: "${n.ca}"`);
  }
  return `${lines.join('\n')}\n`;
}
