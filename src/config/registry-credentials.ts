/**
 * The registry credentials a deploy sends with its requests, found where operators keep them:
 *
 *   1. `registries:` of the job file, then of the inventory (values usually `${ENV}`, for CI);
 *   2. the Docker client configuration (`$DOCKER_CONFIG/config.json`, else
 *      `~/.docker/config.json`): a credential helper named for the registry (`credHelpers`) or
 *      for all (`credsStore`), run as `docker-credential-<name> get` exactly as the Docker CLI
 *      runs it, then the `auths` entry (`auth` = base64 of user:password, or username/password,
 *      or identitytoken).
 *
 * The entry is picked for the image's registry with Docker Hub's aliases (see image-ref.ts).
 * Registries with no credentials anywhere get none: public images, and images already on the
 * nodes, need none. Credentials live only in memory, for the requests of this run.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { InputError } from '../core/errors.js';
import {
  DOCKER_HUB,
  DOCKER_HUB_CONFIG_KEY,
  normalizeRegistryServer,
  registryOfImage,
} from '../core/image-ref.js';
import type { RegistryAuth } from '../protocol/registry.js';

export interface RegistryCredentialsOptions {
  /** `DOCKER_CONFIG`, `HOME` and `PATH` are read from it (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** Explicit entries, the first for a server wins (the job file's before the inventory's). */
  explicit?: readonly RegistryAuth[];
  /** How long a credential helper may take (default 30 s: a helper may unlock a keychain). */
  helperTimeoutMs?: number;
}

/** A problem with the operator's credential setup: printed as it is, exit code 2. */
export class CredentialsError extends InputError {}

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

export class RegistryCredentials {
  private readonly env: Record<string, string | undefined>;
  private readonly explicit: readonly RegistryAuth[];
  private readonly found = new Map<string, Promise<RegistryAuth | null>>();
  private config: { file: string; data: DockerConfigFile | null } | undefined;

  constructor(private readonly options: RegistryCredentialsOptions = {}) {
    this.env = options.env ?? process.env;
    this.explicit = options.explicit ?? [];
  }

  /** Where the Docker client configuration is read from. */
  get configFile(): string {
    const dir = this.env['DOCKER_CONFIG'] || path.join(this.env['HOME'] || homedir(), '.docker');
    return path.join(dir, 'config.json');
  }

  /** Credentials for the registries of `images`, each registry once; none for registries without any. */
  async forImages(images: readonly string[]): Promise<RegistryAuth[]> {
    const servers = [...new Set(images.map(registryOfImage))];
    const found = await Promise.all(servers.map((server) => this.forServer(server)));
    return found.filter((auth): auth is RegistryAuth => auth !== null);
  }

  /** Credentials for one registry (`host[:port]` or any spelling of it), or null. Memoised. */
  forServer(server: string): Promise<RegistryAuth | null> {
    const key = normalizeRegistryServer(server);
    let pending = this.found.get(key);
    if (!pending) {
      pending = this.lookup(key);
      this.found.set(key, pending);
    }
    return pending;
  }

  private async lookup(server: string): Promise<RegistryAuth | null> {
    const explicit = this.explicit.find((a) => normalizeRegistryServer(a.server) === server);
    if (explicit) return { ...explicit, server };
    const { file, data } = this.readConfig();
    if (!data) return null;
    const helper = helperFor(data, server);
    if (helper) {
      const fromHelper = await this.runHelper(helper.name, server, `${helper.via} in ${file}`);
      if (fromHelper) return fromHelper;
    }
    return fromAuths(data, server, file);
  }

  private readConfig(): { file: string; data: DockerConfigFile | null } {
    if (this.config) return this.config;
    const file = this.configFile;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        this.config = { file, data: null };
        return this.config;
      }
      throw new CredentialsError(`${file}: cannot be read: ${(error as Error).message}`);
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new CredentialsError(
        `${file}: not valid JSON (${(error as Error).message}); fix it, or point DOCKER_CONFIG at another directory`,
      );
    }
    if (data === null || typeof data !== 'object' || Array.isArray(data))
      throw new CredentialsError(`${file}: expected a JSON object like Docker's client configuration`);
    this.config = { file, data: data as DockerConfigFile };
    return this.config;
  }

  /**
   * `docker-credential-<name> get` with the server on stdin: `{ServerURL, Username, Secret}` on
   * stdout, or a non-zero exit saying the credentials are not found.
   */
  private runHelper(name: string, server: string, via: string): Promise<RegistryAuth | null> {
    const program = `docker-credential-${name}`;
    // The Docker CLI asks helpers for Docker Hub under its config key.
    const asked = server === DOCKER_HUB ? DOCKER_HUB_CONFIG_KEY : server;
    const timeoutMs = this.options.helperTimeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const fail = (why: string) =>
        reject(
          new CredentialsError(
            `credential helper ${program} (${via}) ${why}; install it, or give the credentials of ${server} under registries: in the inventory or the job file`,
          ),
        );
      let child: ReturnType<typeof spawn>;
      try {
        child = spawn(program, ['get'], {
          env: this.env as NodeJS.ProcessEnv,
          stdio: ['pipe', 'pipe', 'pipe'],
          timeout: timeoutMs,
        });
      } catch (error) {
        fail(`could not be started: ${(error as Error).message}`);
        return;
      }
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout!.on('data', (d: Buffer) => out.push(d));
      child.stderr!.on('data', (d: Buffer) => err.push(d));
      child.stdin!.on('error', () => {});
      child.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') fail('is not installed: not found on PATH');
        else fail(`could not be started: ${error.message}`);
      });
      child.on('close', (code, signal) => {
        const stdout = Buffer.concat(out).toString('utf8').trim();
        if (signal) {
          fail(`did not answer within ${Math.round(timeoutMs / 1000)} s`);
          return;
        }
        if (code !== 0) {
          // The helpers' protocol: "credentials not found in native keychain" is "none".
          if (
            /credentials not found/i.test(stdout) ||
            /credentials not found/i.test(Buffer.concat(err).toString())
          )
            resolve(null);
          // Whatever else it printed may hold a secret: say only how it ended.
          else fail(`failed (exit code ${code})`);
          return;
        }
        let answer: { Username?: unknown; Secret?: unknown };
        try {
          answer = JSON.parse(stdout);
        } catch {
          fail('answered something that is not JSON');
          return;
        }
        const username = typeof answer.Username === 'string' ? answer.Username : '';
        const secret = typeof answer.Secret === 'string' ? answer.Secret : '';
        if (secret === '') resolve(null);
        // `<token>` is how helpers store an identity token.
        else if (username === '<token>') resolve({ server, identitytoken: secret });
        else resolve({ server, username, password: secret });
      });
      child.stdin!.end(`${asked}\n`);
    });
  }
}

/** The helper for `server`: `credHelpers` by registry, else `credsStore`. */
function helperFor(config: DockerConfigFile, server: string): { name: string; via: string } | null {
  for (const [key, name] of Object.entries(config.credHelpers ?? {})) {
    if (typeof name === 'string' && name && normalizeRegistryServer(key) === server)
      return { name, via: `credHelpers["${key}"]` };
  }
  if (typeof config.credsStore === 'string' && config.credsStore)
    return { name: config.credsStore, via: 'credsStore' };
  return null;
}

/** The `auths` entry for `server`. */
function fromAuths(config: DockerConfigFile, server: string, file: string): RegistryAuth | null {
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (!entry || typeof entry !== 'object' || normalizeRegistryServer(key) !== server) continue;
    if (typeof entry.identitytoken === 'string' && entry.identitytoken)
      return { server, identitytoken: entry.identitytoken };
    if (typeof entry.auth === 'string' && entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0)
        throw new CredentialsError(
          `${file}: auths["${key}"].auth is not base64 of user:password (run docker login ${key} again)`,
        );
      return { server, username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    if (typeof entry.username === 'string' && typeof entry.password === 'string')
      return { server, username: entry.username, password: entry.password };
  }
  return null;
}

/**
 * The credentials of one run of a job: the job file's `registries:` first, then the inventory's,
 * then the Docker client configuration. The CLI and the TUI both build them here.
 */
export function credentialsOfRun(
  env: Record<string, string | undefined>,
  job: { registries?: readonly RegistryAuth[] } | null,
  inventory: { registries?: readonly RegistryAuth[] } | null,
): RegistryCredentials {
  return new RegistryCredentials({
    env,
    explicit: [...(job?.registries ?? []), ...(inventory?.registries ?? [])],
  });
}
