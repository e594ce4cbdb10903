import { chmod, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkDataDirectory, DataDirectoryError, readPrivateFileSync } from './private-file.js';

let base: string;
let dataDir: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'dokkup-datadir-'));
  dataDir = join(base, 'agent');
  await mkdir(dataDir, { mode: 0o700 });
  await chmod(dataDir, 0o700);
});
afterEach(async () => {
  await chmod(base, 0o700).catch(() => {});
  await rm(base, { recursive: true, force: true });
});

/** Files an agent keeps: the key record, a TLS pair, the audit log, job history. */
async function populate(): Promise<void> {
  for (const name of ['agent-key.json', 'tls-cert.pem', 'tls-key.pem', 'audit.log']) {
    await writeFile(join(dataDir, name), 'x', { mode: 0o600 });
  }
  await mkdir(join(dataDir, 'jobs'), { mode: 0o700 });
  await writeFile(join(dataDir, 'jobs', 'web.json'), '{}', { mode: 0o600 });
}

describe('checkDataDirectory', () => {
  it("accepts a private directory of the agent's own, and one that does not exist yet", async () => {
    await populate();
    await expect(checkDataDirectory(dataDir)).resolves.toBeUndefined();
    await expect(checkDataDirectory(join(base, 'not-yet'))).resolves.toBeUndefined();
  });

  it.each([
    [0o777, /writable by every user \(mode 0777\).*chmod go-w/],
    [0o770, /writable by its group \(mode 0770\)/],
    [0o702, /writable by every user/],
  ])('refuses a data directory with mode %o', async (mode, message) => {
    await chmod(dataDir, mode);
    await expect(checkDataDirectory(dataDir)).rejects.toThrow(message);
    await expect(checkDataDirectory(dataDir)).rejects.toBeInstanceOf(DataDirectoryError);
  });

  it("refuses a data directory that belongs to another user than the agent's", async () => {
    const mine = (await stat(dataDir)).uid;
    await expect(checkDataDirectory(dataDir, { uid: mine + 1 })).rejects.toThrow(
      new RegExp(`belongs to user ${mine}, not to the agent's user ${mine + 1}`),
    );
  });

  it('never follows a symlink: not for the directory, not for anything in it', async () => {
    const link = join(base, 'link');
    await symlink(dataDir, link);
    await expect(checkDataDirectory(link)).rejects.toThrow(/is a symbolic link/);

    await populate();
    const outside = join(base, 'stolen-key.pem');
    await writeFile(outside, 'x', { mode: 0o600 });
    await rm(join(dataDir, 'tls-key.pem'));
    await symlink(outside, join(dataDir, 'tls-key.pem'));
    await expect(checkDataDirectory(dataDir)).rejects.toThrow(/tls-key\.pem is a symbolic link/);
  });

  it('refuses a secret or a history folder that others can write, wherever it is in the tree', async () => {
    await populate();
    await chmod(join(dataDir, 'tls-cert.pem'), 0o666);
    await expect(checkDataDirectory(dataDir)).rejects.toThrow(/tls-cert\.pem is writable by every user/);
    await chmod(join(dataDir, 'tls-cert.pem'), 0o600);
    await chmod(join(dataDir, 'jobs'), 0o777);
    await expect(checkDataDirectory(dataDir)).rejects.toThrow(/jobs is writable by every user/);
  });

  it('makes a file that others could read private again, and says so', async () => {
    await populate();
    await chmod(join(dataDir, 'agent-key.json'), 0o644);
    const warned: object[] = [];
    await checkDataDirectory(dataDir, { warn: (details) => warned.push(details) });
    expect((await stat(join(dataDir, 'agent-key.json'))).mode & 0o777).toBe(0o600);
    expect(warned).toEqual([{ file: join(dataDir, 'agent-key.json'), mode: '0644' }]);
  });

  it('refuses a directory above it that others can write, unless it is sticky like /tmp', async () => {
    await chmod(base, 0o777);
    await expect(checkDataDirectory(dataDir)).rejects.toThrow(
      /above the data directory, is writable by others/,
    );
    await chmod(base, 0o1777);
    await expect(checkDataDirectory(dataDir)).resolves.toBeUndefined();
  });
});

describe('readPrivateFileSync', () => {
  it('reads a private file, answers null for none, refuses a symlink or a file others may write', async () => {
    const file = join(dataDir, 'tls-key.pem');
    expect(readPrivateFileSync(file)).toBeNull();
    await writeFile(file, 'secret', { mode: 0o600 });
    expect(readPrivateFileSync(file)).toBe('secret');
    await chmod(file, 0o620);
    expect(() => readPrivateFileSync(file)).toThrow(/writable by its group/);
    await chmod(file, 0o600);
    const link = join(dataDir, 'link.pem');
    await symlink(file, link);
    expect(() => readPrivateFileSync(link)).toThrow(/symbolic link/);
  });
});
