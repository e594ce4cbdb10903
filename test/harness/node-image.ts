/**
 * A local Node.js base image for building the project's Dockerfile without a registry: the
 * Node binary running the tests (the project's Node 24), the shared libraries `ldd` lists for
 * it, and busybox for a shell, imported with `docker import`. It stands in for
 * `node:24-bookworm-slim` (`--build-arg NODE_IMAGE=...`).
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { dockerEnv } from './docker-cli.js';
import { BUSYBOX_PATH, pipeline } from './images.js';
import { run } from './proc.js';
import { sharedLibraries } from './shared-libraries.js';

export { sharedLibraries };

/** Imports the image `ref` holding this Node at /usr/local/bin/node; returns its reference. */
export async function importNodeImage(
  dockerHost: string,
  ref: string,
  node = process.execPath,
): Promise<string> {
  const rootfs = mkdtempSync(join(tmpdir(), 'dokkup-node-image-'));
  try {
    const place = (from: string, to: string, mode = 0o755) => {
      mkdirSync(join(rootfs, dirname(to)), { recursive: true });
      copyFileSync(from, join(rootfs, to));
      chmodSync(join(rootfs, to), mode);
    };
    place(node, '/usr/local/bin/node');
    for (const lib of await sharedLibraries(node)) place(lib, lib);
    place(BUSYBOX_PATH, '/bin/busybox');
    const { stdout } = await run(BUSYBOX_PATH, ['--list']);
    for (const applet of stdout.split('\n').filter((a) => a && a !== 'busybox')) {
      symlinkSync('busybox', join(rootfs, 'bin', applet));
    }
    mkdirSync(join(rootfs, 'usr/bin'), { recursive: true });
    symlinkSync('/bin/env', join(rootfs, 'usr/bin/env'));
    for (const dir of ['tmp', 'root', 'etc']) mkdirSync(join(rootfs, dir), { recursive: true });
    chmodSync(join(rootfs, 'tmp'), 0o1777);
    writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\n');
    await pipeline(
      { cmd: 'tar', args: ['-C', rootfs, '--owner=0', '--group=0', '--numeric-owner', '-c', '.'] },
      {
        cmd: 'docker',
        args: [
          'import',
          '-c',
          'ENV PATH=/usr/local/bin:/usr/bin:/bin',
          '-c',
          'ENV HOME=/root',
          '-c',
          'CMD ["node"]',
          '-',
          ref,
        ],
        env: dockerEnv(dockerHost),
      },
    );
    return ref;
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
}
