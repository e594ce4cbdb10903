/**
 * The audit log in the agent's data directory: JSON lines in `audit.log`, appended (O_APPEND,
 * one write per line) and fsynced before the operation's answer counts as recorded, so a crash
 * can at worst tear the line being written — never an earlier one. A torn line is skipped when
 * reading, and the next append starts on a fresh line.
 *
 * Bounded: past `maxBytes` the file is renamed to `audit.log.1` (older ones shift up to `keep`,
 * the oldest is dropped). `dokkup agent --rotate-key`, another process, appends to the same file
 * (appends of one line each do not interleave); only the agent rotates.
 */
import { constants } from 'node:fs';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type AuditEntry, AuditEntrySchema } from '../../src/protocol/audit.js';
import { syncDirectory } from '../store/atomic-file.js';

export const AUDIT_FILE_NAME = 'audit.log';

export interface AuditLogOptions {
  /** Size of `audit.log` that triggers a rotation. Default 4 MiB (~15,000 entries). */
  maxBytes?: number;
  /** Rotated files kept (`audit.log.1` … `.N`). Default 3. */
  keep?: number;
  /** False for a process that only appends (the key rotation): it never rotates. */
  rotate?: boolean;
}

export interface AuditQuery {
  /** Only entries at or after this time (ms since the epoch). */
  since?: number;
  /** The newest `limit` entries of those. */
  limit: number;
}

/** Appends a line to `file` (created 0600, never through a symlink) and fsyncs it. */
async function appendLine(file: string, line: string, repairTail: boolean): Promise<void> {
  const handle = await open(
    file,
    constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    let text = line;
    if (repairTail) {
      const { size } = await handle.stat();
      if (size > 0) {
        // A torn last line (a crash mid-write) must not swallow this one.
        const last = Buffer.alloc(1);
        const reader = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
        try {
          await reader.read(last, 0, 1, size - 1);
        } finally {
          await reader.close();
        }
        if (last[0] !== 0x0a) text = `\n${line}`;
      }
    }
    await handle.write(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Parses JSON lines, skipping any that are torn or not an entry. */
export function parseAuditLines(text: string): AuditEntry[] {
  const entries: AuditEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const parsed = AuditEntrySchema.safeParse(JSON.parse(line));
      if (parsed.success) entries.push(parsed.data);
    } catch {
      // A torn line from a crash mid-write.
    }
  }
  return entries;
}

export class AuditLog {
  readonly file: string;
  private readonly maxBytes: number;
  private readonly keep: number;
  private readonly rotates: boolean;
  /** Appends run one at a time, in order. */
  private queue: Promise<void> = Promise.resolve();
  private tailChecked = false;

  constructor(
    readonly dataDir: string,
    options: AuditLogOptions = {},
  ) {
    this.file = join(dataDir, AUDIT_FILE_NAME);
    this.maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
    this.keep = Math.max(1, options.keep ?? 3);
    this.rotates = options.rotate ?? true;
  }

  /** Resolves once the entry is on disk. */
  append(entry: AuditEntry): Promise<void> {
    const line = `${JSON.stringify(AuditEntrySchema.parse(entry))}\n`;
    const run = this.queue.then(async () => {
      if (this.rotates) await this.rotateIfFull(Buffer.byteLength(line));
      await appendLine(this.file, line, !this.tailChecked);
      this.tailChecked = true;
    });
    // One failed append must not stop the next ones.
    this.queue = run.catch(() => {});
    return run;
  }

  /** Entries oldest first, across the rotated files. */
  async read(query: AuditQuery): Promise<{ entries: AuditEntry[]; truncated: boolean }> {
    await this.queue;
    const files = [
      ...Array.from({ length: this.keep }, (_, i) => `${this.file}.${this.keep - i}`),
      this.file,
    ];
    const all: AuditEntry[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = await readFile(file, { encoding: 'utf8', flag: constants.O_RDONLY | constants.O_NOFOLLOW });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      all.push(...parseAuditLines(text));
    }
    const since = query.since;
    const matching = since === undefined ? all : all.filter((e) => Date.parse(e.at) >= since);
    const entries = matching.slice(Math.max(0, matching.length - query.limit));
    return { entries, truncated: entries.length < matching.length };
  }

  private async rotateIfFull(incoming: number): Promise<void> {
    const size = await stat(this.file).then(
      (s) => s.size,
      () => 0,
    );
    if (size === 0 || size + incoming <= this.maxBytes) return;
    await rm(`${this.file}.${this.keep}`, { force: true });
    for (let i = this.keep - 1; i >= 1; i--) {
      await rename(`${this.file}.${i}`, `${this.file}.${i + 1}`).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    }
    await rename(this.file, `${this.file}.1`);
    await syncDirectory(this.dataDir);
    this.tailChecked = true;
  }
}
