/**
 * Checks presented API keys. Every agent route and the feeds WebSocket go through here.
 *
 * The key record is followed on disk: `dokkup agent --rotate-key` (another process) replaces the
 * file, and the very next check — or the watcher, within a quarter of a second — uses the new
 * record; listeners (the feeds) are told, so sessions opened with the old key are closed.
 */

import { timingSafeEqual } from 'node:crypto';
import { type FSWatcher, statSync, watch } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { basename, dirname } from 'node:path';
import {
  hashKey,
  type KeyRecord,
  keyDigest,
  keyIdOf,
  migrateKeyRecord,
  readKeyRecordSync,
  type ScryptKeyRecord,
  scryptMatches,
  sha256Matches,
} from './key-file.js';
import { FailureThrottle, InFlightLimit, type ThrottleOptions } from './throttle.js';

export type AuthOutcome =
  /** `keyId` names the key that matched (`keyIdOf`), for the audit log and session bookkeeping. */
  | { ok: true; keyId: string }
  /** No `Authorization: Bearer …` header at all. */
  | { ok: false; reason: 'missing' }
  | { ok: false; reason: 'invalid' }
  /** A wrong key from an address that sent too many lately (or the 0.3 key check is saturated). */
  | { ok: false; reason: 'throttled'; retryAfterSeconds: number };

export interface VerifierLogger {
  warn(details: object, message: string): void;
  info?(details: object, message: string): void;
}

export interface KeyVerifierOptions {
  throttle?: Partial<ThrottleOptions>;
  logger?: VerifierLogger;
}

/** Real keys are 43 characters; anything far longer is refused before any work. */
const MAX_PRESENTED_KEY_LENGTH = 512;
const BEARER = /^Bearer +([^\s]+) *$/i;
/** How often a file-backed verifier looks at its key file besides on every check. */
export const KEY_WATCH_INTERVAL_MS = 250;

/** The key from an `Authorization: Bearer <key>` header, or null. */
export function bearerKey(req: Pick<IncomingMessage, 'headers'>): string | null {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = BEARER.exec(header);
  return match?.[1] ?? null;
}

function remoteAddressOf(req: Pick<IncomingMessage, 'socket'>): string {
  return req.socket?.remoteAddress ?? 'unknown';
}

function plausible(presented: string): boolean {
  return (
    typeof presented === 'string' && presented.length > 0 && presented.length <= MAX_PRESENTED_KEY_LENGTH
  );
}

/** Identity of the file's current content: a rename-over changes the inode. */
function stampOf(path: string): string {
  try {
    const stat = statSync(path, { bigint: true });
    return `${stat.dev}:${stat.ino}:${stat.mtimeNs}:${stat.size}`;
  } catch (error) {
    return `missing:${(error as NodeJS.ErrnoException).code ?? 'error'}`;
  }
}

export type KeyChangeListener = () => void;

export class KeyVerifier {
  /** null: the key file became unreadable; every key is refused until it is fixed. */
  private record: KeyRecord | null;
  private fileStamp: string | null = null;
  /** For a 0.3 record: the digest and id of the last key that passed scrypt (it costs ~50 ms). */
  private legacyGood: { digest: Buffer; keyId: string } | null = null;
  private readonly throttle: FailureThrottle;
  /** 0.3 records only: scrypt runs on libuv's four threads; keep most of them for everything else. */
  private readonly legacyChecks = new InFlightLimit(2, 1, 4);
  private readonly listeners = new Set<KeyChangeListener>();
  private poller: NodeJS.Timeout | null = null;
  private watcher: FSWatcher | null = null;

  private constructor(
    record: KeyRecord,
    /** When set, the record is reloaded whenever this file changes (`--rotate-key` on a running agent). */
    private readonly keyFile: string | null,
    private readonly options: KeyVerifierOptions,
  ) {
    this.record = record;
    this.throttle = new FailureThrottle(options.throttle);
    if (keyFile) this.fileStamp = stampOf(keyFile);
  }

  static fromRecord(record: KeyRecord, options: KeyVerifierOptions = {}): KeyVerifier {
    return new KeyVerifier(record, null, options);
  }

  /** A key held in memory only (the TUI's embedded agent, tests). */
  static forKey(key: string, options: KeyVerifierOptions = {}): KeyVerifier {
    return new KeyVerifier(hashKey(key), null, options);
  }

  /** Follows `path`: a key rotated by another process takes effect here at once. */
  static fromFile(path: string, record: KeyRecord, options: KeyVerifierOptions = {}): KeyVerifier {
    return new KeyVerifier(record, path, options);
  }

  /** The id of the key now in force; null when it is not known yet (a 0.3 record) or unreadable. */
  get currentKeyId(): string | null {
    const record = this.currentRecord();
    if (!record) return null;
    return record.algorithm === 'sha256' ? record.keyId : (this.legacyGood?.keyId ?? null);
  }

  /** True while the key named `keyId` still opens this agent. */
  isCurrent(keyId: string): boolean {
    return this.currentKeyId === keyId;
  }

  /** Called whenever the key record changes (rotated, migrated, damaged). */
  onKeyChange(listener: KeyChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Watches the key file (a file-system watch plus a poll every `KEY_WATCH_INTERVAL_MS`, since
   * watches miss renames on some filesystems), so listeners hear of a rotation without waiting
   * for the next request. Stopped by `close()`.
   */
  watch(): void {
    if (!this.keyFile || this.poller) return;
    const check = () => void this.currentRecord();
    this.poller = setInterval(check, KEY_WATCH_INTERVAL_MS);
    this.poller.unref();
    try {
      const name = basename(this.keyFile);
      this.watcher = watch(dirname(this.keyFile), { persistent: false }, (_event, file) => {
        if (file === null || file === name) check();
      });
      this.watcher.on('error', () => this.watcher?.close());
    } catch {
      // The poll alone will do.
    }
  }

  close(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
    this.watcher?.close();
    this.watcher = null;
    this.listeners.clear();
  }

  /** The id of the key when `presented` is the key now in force, else null. */
  async verify(presented: string): Promise<string | null> {
    const record = this.currentRecord();
    if (!record || !plausible(presented)) return null;
    if (record.algorithm === 'sha256') return sha256Matches(record, presented) ? record.keyId : null;
    const cached = this.legacyCached(presented);
    if (cached) return cached;
    const ok = await scryptMatches(record, presented);
    // The key may have been rotated while scrypt ran: only the record now in force counts.
    if (record !== this.currentRecord()) return this.verify(presented);
    if (!ok) return null;
    this.legacyGood = { digest: keyDigest(presented), keyId: keyIdOf(presented) };
    this.migrate(record, presented);
    return this.legacyGood.keyId;
  }

  /** Checks a request's bearer key; wrong keys are counted per address (see `FailureThrottle`). */
  async authorize(req: Pick<IncomingMessage, 'headers' | 'socket'>): Promise<AuthOutcome> {
    const key = bearerKey(req);
    if (key === null) return { ok: false, reason: 'missing' };
    const address = remoteAddressOf(req);
    const attempt = this.throttle.begin(address);
    let keyId: string | null;
    const record = this.currentRecord();
    if (record?.algorithm === 'scrypt') {
      // Until the 0.3 record is migrated each miss costs scrypt: bounded, and never spent on an
      // address that is already blocked (its right key passes once it is cached).
      keyId = this.legacyCached(key);
      if (keyId === null && this.throttle.blockedFor(address) === 0) {
        const checked = await this.legacyChecks.run(address, async () => ({ keyId: await this.verify(key) }));
        if (checked === null) return { ok: false, reason: 'throttled', retryAfterSeconds: 1 };
        keyId = checked.keyId;
      }
    } else {
      keyId = await this.verify(key);
    }
    if (keyId !== null) {
      this.throttle.succeeded(attempt);
      return { ok: true, keyId };
    }
    const blocked = this.throttle.blockedFor(address);
    if (blocked > 0) return { ok: false, reason: 'throttled', retryAfterSeconds: Math.ceil(blocked / 1000) };
    return { ok: false, reason: 'invalid' };
  }

  private legacyCached(presented: string): string | null {
    if (!this.legacyGood || !plausible(presented)) return null;
    return timingSafeEqual(keyDigest(presented), this.legacyGood.digest) ? this.legacyGood.keyId : null;
  }

  private migrate(record: ScryptKeyRecord, key: string): void {
    if (!this.keyFile) return;
    migrateKeyRecord(dirname(this.keyFile), record, key).then(
      (migrated) => {
        if (migrated)
          this.options.logger?.info?.(
            { keyId: migrated.keyId },
            'key record migrated from scrypt to SHA-256',
          );
        void this.currentRecord();
      },
      (error: unknown) =>
        this.options.logger?.warn(
          { error: (error as Error).message },
          'could not migrate the key record; will retry',
        ),
    );
  }

  private currentRecord(): KeyRecord | null {
    if (!this.keyFile) return this.record;
    const stamp = stampOf(this.keyFile);
    if (stamp === this.fileStamp) return this.record;
    this.fileStamp = stamp;
    const before = this.record;
    try {
      this.record = readKeyRecordSync(this.keyFile);
      if (this.record === null) throw new Error('the key file is gone');
    } catch (error) {
      // Fail closed: a key file we cannot read must not leave the old key working.
      this.record = null;
      this.options.logger?.warn(
        { file: this.keyFile, error: (error as Error).message },
        'key file unreadable; refusing every key until it is fixed (dokkup agent --rotate-key)',
      );
    }
    // A migration keeps the key (and its id); anything else forgets which key passed scrypt.
    const sameKey =
      before?.algorithm === 'scrypt' &&
      this.record?.algorithm === 'sha256' &&
      this.legacyGood?.keyId === this.record.keyId;
    if (!sameKey) this.legacyGood = null;
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (error) {
        this.options.logger?.warn({ error: (error as Error).message }, 'key change listener failed');
      }
    }
    return this.record;
  }
}
