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
import { open, rename, rm, stat } from 'node:fs/promises';
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
  /**
   * Only operations that ended at or after this time (ms since the epoch): entries are appended
   * as operations end, so this is what a reader that comes back for what is new needs.
   */
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

/** Bytes read at a time from the end of a log file. */
const CHUNK_BYTES = 64 * 1024;

/** One line as an entry, or null for a torn line or anything else that is not one. */
function parseEntry(line: string): AuditEntry | null {
  if (line.trim() === '') return null;
  try {
    const parsed = AuditEntrySchema.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * Hands `file`'s entries to `visit`, newest first, until it returns true (then resolves true);
 * resolves false when the file ran out (or does not exist).
 */
async function readBackwards(file: string, visit: (entry: AuditEntry) => boolean): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  try {
    let position = (await handle.stat()).size;
    /** Bytes of a line whose start is in a chunk not read yet. */
    let carry = Buffer.alloc(0);
    while (position > 0) {
      const size = Math.min(CHUNK_BYTES, position);
      position -= size;
      const chunk = Buffer.alloc(size);
      await handle.read(chunk, 0, size, position);
      const bytes = Buffer.concat([chunk, carry]);
      // Split on newline bytes: a multi-byte character never contains 0x0a.
      let end = bytes.length;
      for (let i = bytes.length - 1; i >= 0; i--) {
        if (bytes[i] !== 0x0a) continue;
        const entry = parseEntry(bytes.subarray(i + 1, end).toString('utf8'));
        if (entry && visit(entry)) return true;
        end = i;
      }
      carry = bytes.subarray(0, end);
    }
    const first = parseEntry(carry.toString('utf8'));
    return first !== null && visit(first);
  } finally {
    await handle.close();
  }
}

/** When the entry's operation ended (ms since the epoch): the order entries are appended in. */
export function auditEntryEnd(entry: AuditEntry): number {
  return Date.parse(entry.at) + entry.durationMs;
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

  /**
   * The newest `limit` entries since `since`, oldest first, across the rotated files. Read from
   * the end backwards and only as far as needed: a reader asking for what is new since its last
   * look (the TUI, every 15 s) costs one small read, not the whole log.
   */
  async read(query: AuditQuery): Promise<{ entries: AuditEntry[]; truncated: boolean }> {
    await this.queue;
    const { since, limit } = query;
    const newestFirst: AuditEntry[] = [];
    const files = [this.file, ...Array.from({ length: this.keep }, (_, i) => `${this.file}.${i + 1}`)];
    for (const file of files) {
      const done = await readBackwards(file, (entry) => {
        if (since !== undefined && auditEntryEnd(entry) < since) return true;
        newestFirst.push(entry);
        return newestFirst.length > limit;
      });
      if (done) break;
    }
    const truncated = newestFirst.length > limit;
    return { entries: newestFirst.slice(0, limit).reverse(), truncated };
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
