/**
 * Test images, made without internet: a directory holding a static busybox plus applet
 * symlinks, tarred into `docker import`; images that need a HEALTHCHECK are built with a local
 * `docker build` FROM an imported one. All are pushed to the loopback registry, so engines get
 * them by a real pull.
 *
 * Every long-running image runs under `sh` with a TERM trap: a process that is PID 1 in its
 * container ignores SIGTERM unless it handles it, and `docker stop` would then wait 10 s for
 * every container the tests stop.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  mkdirSync,
  openSync,
  readSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { docker, dockerEnv, lines } from './docker-cli.js';
import { CommandError, type RunResult, run } from './proc.js';

export const BUSYBOX_PATH = '/bin/busybox';

/** Port the web, healthy and unhealthy images serve HTTP on inside the container. */
export const WEB_PORT = 8000;

/** The logger image prints `<prefix> <n>` every 100 ms, n counting from 1. */
export const LOGGER_STDOUT_PREFIX = 'dokkup-test-stdout';
export const LOGGER_STDERR_PREFIX = 'dokkup-test-stderr';

/** Body of GET / for each web version. */
export const WEB_BODY = { v1: 'v1', v2: 'v2' } as const;

/** The crash image exits with this code about 0.2 s after it starts. */
export const CRASH_EXIT_CODE = 3;

/**
 * When the crash image dies after it starts: well inside any `min_healthy_time` of 1 s or more
 * that tests use, so the health gate always sees it die (the gate starts counting at its own first
 * sight of the container running, which can come later than the start itself).
 */
export const CRASH_AFTER_SECONDS = 0.2;

/** References (`127.0.0.1:<port>/dokkup-test/<name>:<tag>`) of the test images in the registry. */
export interface TestImages {
  /** busybox httpd on port 8000 serving "v1". */
  webV1: string;
  /** Same as webV1 but serving "v2" (different image ID). */
  webV2: string;
  /** Prints a line, exits with CRASH_EXIT_CODE after CRASH_AFTER_SECONDS. */
  crash: string;
  /** webV1 plus a HEALTHCHECK that always fails (interval 1 s, 1 retry). */
  unhealthy: string;
  /** webV1 plus a HEALTHCHECK that passes (wget of /, interval 1 s). */
  healthy: string;
  /** webV2 plus the same passing HEALTHCHECK, for updates between two health-checked versions. */
  healthyV2: string;
  /** Prints LOGGER_STDOUT_PREFIX / LOGGER_STDERR_PREFIX lines every 100 ms. */
  logger: string;
  /** Burns one CPU (for stats tests: stop it when done). */
  busy: string;
  /**
   * busybox httpd on port 8000 as PID 1 through a shell-form CMD, like an ordinary image: it
   * ignores SIGTERM, so `docker stop` waits out the whole grace period (unless `init: true`).
   */
  stubborn: string;
  /** Logs `got SIG<NAME>` for the stop signal it receives (TERM, QUIT, INT, HUP, USR1, USR2), then exits 0. */
  signals: string;
  /** A tag in the web repository that was never pushed: pulling it fails. */
  neverPushed: string;
}

export type PushedImage = Exclude<keyof TestImages, 'neverPushed'>;

export interface TestImageSet {
  refs: TestImages;
  /** Image IDs (sha256:…), the same on every engine that pulls the image. */
  ids: Record<PushedImage, string>;
  /** `docker save` archive of every pushed image, for loadImages(). */
  archive: string;
}

const APPLETS = [
  'sh',
  'httpd',
  'sleep',
  'echo',
  'cat',
  'wget',
  'true',
  'false',
  'ls',
  'ps',
  'env',
  'printf',
  'yes',
  'kill',
  'head',
  'tail',
  'date',
  'hostname',
  'id',
  'mkdir',
  'rm',
  'nc',
  'top',
  'timeout',
  'seq',
  'wc',
  'grep',
  'sed',
  'awk',
  'tr',
  'touch',
  'test',
  '[',
];

/** Whether an ELF executable has no program interpreter (so it runs in an empty image). */
export function isStaticExecutable(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const header = Buffer.alloc(64);
    readSync(fd, header, 0, 64, 0);
    if (header.toString('latin1', 1, 4) !== 'ELF' || header[4] !== 2) return false; // 64-bit only
    const phoff = Number(header.readBigUInt64LE(0x20));
    const phentsize = header.readUInt16LE(0x36);
    const phnum = header.readUInt16LE(0x38);
    const table = Buffer.alloc(phentsize * phnum);
    readSync(fd, table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) {
      if (table.readUInt32LE(i * phentsize) === 3) return false; // PT_INTERP
    }
    return true;
  } finally {
    closeSync(fd);
  }
}

function makeRootfs(dir: string, indexBody: string): void {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'www'), { recursive: true });
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777);
  copyFileSync(BUSYBOX_PATH, join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  for (const applet of APPLETS) symlinkSync('busybox', join(dir, 'bin', applet));
  writeFileSync(join(dir, 'www', 'index.html'), `${indexBody}\n`);
}

/** Runs `a | b`; resolves with b's output when both exit 0. */
export function pipeline(
  a: { cmd: string; args: readonly string[]; env?: NodeJS.ProcessEnv },
  b: { cmd: string; args: readonly string[]; env?: NodeJS.ProcessEnv },
): Promise<RunResult> {
  const label = `${[a.cmd, ...a.args].join(' ')} | ${[b.cmd, ...b.args].join(' ')}`;
  return new Promise((resolve, reject) => {
    const first = spawn(a.cmd, a.args, { env: a.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const second = spawn(b.cmd, b.args, { env: b.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    first.stdout.pipe(second.stdin);
    second.stdin.on('error', () => {});
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    second.stdout.on('data', (d: Buffer) => out.push(d));
    first.stderr.on('data', (d: Buffer) => err.push(d));
    second.stderr.on('data', (d: Buffer) => err.push(d));
    const exited = (child: ChildProcess) =>
      new Promise<number>((res, rej) => {
        child.on('error', rej);
        child.on('close', (code) => res(code ?? 1));
      });
    Promise.all([exited(first), exited(second)]).then(([codeA, codeB]) => {
      const result = {
        code: codeA || codeB,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      };
      if (result.code !== 0) reject(new CommandError(label, result));
      else resolve(result);
    }, reject);
  });
}

/** `tar -C rootfs -c . | docker import -c 'CMD [...]' - ref` */
function importRootfs(
  dockerHost: string,
  rootfs: string,
  cmd: readonly string[],
  ref: string,
): Promise<RunResult> {
  return pipeline(
    { cmd: 'tar', args: ['-C', rootfs, '--owner=0', '--group=0', '--numeric-owner', '-c', '.'] },
    {
      cmd: 'docker',
      args: ['import', '-c', `CMD ${JSON.stringify(cmd)}`, '-', ref],
      env: dockerEnv(dockerHost),
    },
  );
}

/** `sh -c SCRIPT` that exits 0 on SIGTERM. */
function trapped(script: string): string[] {
  return ['/bin/sh', '-c', `trap 'exit 0' TERM; ${script}`];
}

/** Prints which of the usual stop signals it got, then exits; `ready` once its traps are set. */
const SIGNAL_LOGGER = [
  ...['TERM', 'QUIT', 'INT', 'HUP', 'USR1', 'USR2'].map((sig) => `trap 'echo got SIG${sig}; exit 0' ${sig}`),
  'echo ready',
  'while :; do sleep 0.1; done',
].join('; ');

const HTTPD = `httpd -f -p ${WEB_PORT} -h /www & wait`;

async function buildWithDockerfile(dockerHost: string, contextDir: string, dockerfile: string, ref: string) {
  mkdirSync(contextDir, { recursive: true });
  writeFileSync(join(contextDir, 'Dockerfile'), dockerfile);
  await docker(dockerHost, ['build', '-q', '-t', ref, contextDir]);
}

/** A registry that wants credentials, and the test images pushed into it. */
export interface PrivateRegistryInfo {
  /** `127.0.0.1:<port>` */
  host: string;
  username: string;
  /** Random per run, so that a grep for it finds nothing but a leak. */
  password: string;
  images: {
    /** webV1's image (serves "v1") under `<host>/dokkup-test/private-web:v1`. */
    webV1: string;
    /** webV2's image (serves "v2"). */
    webV2: string;
  };
}

/**
 * Pushes webV1 and webV2 into the private registry (logged in with a docker config of its own,
 * removed after), while the builder still has them.
 */
async function pushPrivate(
  builderDockerHost: string,
  refs: TestImages,
  target: Omit<PrivateRegistryInfo, 'images'>,
  workDir: string,
): Promise<PrivateRegistryInfo> {
  const images = {
    webV1: `${target.host}/dokkup-test/private-web:v1`,
    webV2: `${target.host}/dokkup-test/private-web:v2`,
  };
  const config = join(workDir, 'private-docker-config');
  mkdirSync(config, { recursive: true });
  const env = { ...dockerEnv(builderDockerHost), DOCKER_CONFIG: config };
  const cli = (args: string[], input?: string) =>
    run('docker', args, { env, timeoutMs: 120_000, ...(input === undefined ? {} : { input }) });
  await cli(['login', '-u', target.username, '--password-stdin', target.host], target.password);
  try {
    await cli(['tag', refs.webV1, images.webV1]);
    await cli(['tag', refs.webV2, images.webV2]);
    await cli(['push', '-q', images.webV1]);
    await cli(['push', '-q', images.webV2]);
  } finally {
    await cli(['logout', target.host]).catch(() => {});
    rmSync(config, { recursive: true, force: true });
  }
  return { ...target, images };
}

/**
 * Builds every test image in the given engine, pushes them to the registry (and webV1/webV2 to
 * the private one, when given), saves them to an archive in workDir, then removes them from the
 * builder again (so that engine, too, starts without them and really pulls).
 */
export async function buildTestImages(
  builderDockerHost: string,
  registryHost: string,
  workDir: string,
  privateRegistry?: Omit<PrivateRegistryInfo, 'images'>,
): Promise<TestImageSet & { privateRegistry: PrivateRegistryInfo | null }> {
  const repo = (name: string, tag: string) => `${registryHost}/dokkup-test/${name}:${tag}`;
  const refs: TestImages = {
    webV1: repo('web', 'v1'),
    webV2: repo('web', 'v2'),
    crash: repo('crash', 'v1'),
    unhealthy: repo('unhealthy', 'v1'),
    healthy: repo('healthy', 'v1'),
    healthyV2: repo('healthy', 'v2'),
    logger: repo('logger', 'v1'),
    busy: repo('busy', 'v1'),
    stubborn: repo('stubborn', 'v1'),
    signals: repo('signals', 'v1'),
    neverPushed: repo('web', 'never-pushed'),
  };
  const h = builderDockerHost;
  const began = Date.now();
  const step = (what: string) => {
    if (process.env.DOKKUP_HARNESS_VERBOSE)
      console.log(`[dokkup harness] images: ${what} at ${Date.now() - began} ms`);
  };
  const v1 = join(workDir, 'rootfs-v1');
  const v2 = join(workDir, 'rootfs-v2');
  makeRootfs(v1, WEB_BODY.v1);
  makeRootfs(v2, WEB_BODY.v2);

  await Promise.all([
    importRootfs(h, v1, trapped(HTTPD), refs.webV1),
    importRootfs(h, v2, trapped(HTTPD), refs.webV2),
    importRootfs(
      h,
      v1,
      [
        '/bin/sh',
        '-c',
        `echo 'crash: starting'; sleep ${CRASH_AFTER_SECONDS}; echo 'crash: exiting' >&2; exit ${CRASH_EXIT_CODE}`,
      ],
      refs.crash,
    ),
    importRootfs(
      h,
      v1,
      trapped(
        `i=0; while :; do i=$((i+1)); echo "${LOGGER_STDOUT_PREFIX} $i"; echo "${LOGGER_STDERR_PREFIX} $i" >&2; sleep 0.1; done`,
      ),
      refs.logger,
    ),
    importRootfs(h, v1, trapped('while :; do :; done'), refs.busy),
    importRootfs(h, v1, ['/bin/sh', '-c', `httpd -f -p ${WEB_PORT} -h /www`], refs.stubborn),
    importRootfs(h, v1, ['/bin/sh', '-c', SIGNAL_LOGGER], refs.signals),
  ]);

  step('imported');
  const passing = `HEALTHCHECK --interval=1s --timeout=2s --retries=3 CMD wget -q -O /dev/null http://127.0.0.1:${WEB_PORT}/ || exit 1`;
  await Promise.all([
    buildWithDockerfile(
      h,
      join(workDir, 'unhealthy'),
      `FROM ${refs.webV1}\nHEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD false\n`,
      refs.unhealthy,
    ),
    buildWithDockerfile(h, join(workDir, 'healthy'), `FROM ${refs.webV1}\n${passing}\n`, refs.healthy),
    buildWithDockerfile(h, join(workDir, 'healthy-v2'), `FROM ${refs.webV2}\n${passing}\n`, refs.healthyV2),
  ]);

  step('built');
  const pushed = Object.keys(refs).filter((k) => k !== 'neverPushed') as PushedImage[];
  // The web images first: every other image shares their layers, which are then skipped as
  // already in the registry instead of being uploaded by several pushes at once.
  await Promise.all([docker(h, ['push', '-q', refs.webV1]), docker(h, ['push', '-q', refs.webV2])]);
  step('pushed web');
  const rest = pushed.filter((k) => k !== 'webV1' && k !== 'webV2');
  await Promise.all(rest.map((k) => docker(h, ['push', '-q', refs[k]])));
  step('pushed');
  const archive = join(workDir, 'images.tar');
  await docker(h, ['save', '-o', archive, ...pushed.map((k) => refs[k])]);

  const ids = {} as Record<PushedImage, string>;
  const inspected = await docker(h, [
    'image',
    'inspect',
    '--format',
    '{{.Id}}',
    ...pushed.map((k) => refs[k]),
  ]);
  const idLines = lines(inspected.stdout);
  pushed.forEach((k, i) => {
    ids[k] = idLines[i] ?? '';
  });

  step('saved');
  const pushedPrivate = privateRegistry ? await pushPrivate(h, refs, privateRegistry, workDir) : null;
  step('pushed to the private registry');
  await removeAllImages(h);
  step('removed from the builder');
  return { refs, ids, archive, privateRegistry: pushedPrivate };
}

/** Removes every image from an engine (containers using them must be gone first). */
export async function removeAllImages(dockerHost: string): Promise<void> {
  // prune -a removes children before parents, which `image rm` of the whole list does not.
  await docker(dockerHost, ['image', 'prune', '-a', '-f']);
  const left = lines((await docker(dockerHost, ['image', 'ls', '-aq'])).stdout);
  if (left.length > 0) throw new Error(`images left after prune: ${left.join(' ')} (used by containers?)`);
}

/**
 * Loads every test image into an engine without pulling (`docker load` of the archive that
 * `docker save` wrote at build time). The images then carry their registry references.
 */
export async function loadImages(dockerHost: string, archive: string): Promise<void> {
  await docker(dockerHost, ['load', '-q', '-i', archive]);
}

/** `docker save IMAGES | docker load` from one engine into another. */
export async function copyImages(
  fromDockerHost: string,
  toDockerHost: string,
  images: readonly string[],
): Promise<void> {
  await pipeline(
    { cmd: 'docker', args: ['save', ...images], env: dockerEnv(fromDockerHost) },
    { cmd: 'docker', args: ['load', '-q'], env: dockerEnv(toDockerHost) },
  );
}
