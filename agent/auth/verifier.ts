/**
 * Checks presented API keys. Every agent route and the feeds WebSocket go through here.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import {
  DEFAULT_SCRYPT_PARAMS,
  hashKey,
  type KeyRecord,
  keyMatches,
  keyMatchesSync,
  parseKeyRecord,
  type ScryptParams,
} from './key-file.js';
import { FailureThrottle, type ThrottleOptions } from './throttle.js';

export type AuthOutcome =
  | { ok: true }
  /** No `Authorization: Bearer …` header at all. */
  | { ok: false; reason: 'missing' }
  | { ok: false; reason: 'invalid' }
  /** Too many wrong keys from this address lately; the key was not even checked. */
  | { ok: false; reason: 'throttled'; retryAfterSeconds: number };

export interface VerifierLogger {
  warn(details: object, message: string): void;
}

export interface KeyVerifierOptions {
  throttle?: Partial<ThrottleOptions>;
  logger?: VerifierLogger;
}

/** Real keys are 43 characters; anything far longer is refused before paying for scrypt. */
const MAX_PRESENTED_KEY_LENGTH = 512;
const BEARER = /^Bearer +([^\s]+) *$/i;

/** The key from an `Authorization: Bearer <key>` header, or null. */
export function bearerKey(req: Pick<IncomingMessage, 'headers'>): string | null {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = BEARER.exec(header);
  return match?.[1] ?? null;
}

function fingerprint(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

function remoteAddressOf(req: Pick<IncomingMessage, 'socket'>): string {
  return req.socket?.remoteAddress ?? 'unknown';
}

export class KeyVerifier {
  /** null: the key file became unreadable; every key is refused until it is fixed. */
  private record: KeyRecord | null;
  /** sha256 of the last key that passed scrypt, so a client's every request does not pay for it. */
  private lastGood: Buffer | null = null;
  private fileStamp: string | null = null;
  private readonly throttle: FailureThrottle;

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

  /** Follows `path`: a key rotated by another process takes effect here on the next request. */
  static fromFile(path: string, record: KeyRecord, options: KeyVerifierOptions = {}): KeyVerifier {
    return new KeyVerifier(record, path, options);
  }

  /** For a key held only in memory (the embedded agent, tests). */
  static forKey(key: string, options: KeyVerifierOptions & { params?: ScryptParams } = {}): KeyVerifier {
    return new KeyVerifier(hashKey(key, options.params ?? DEFAULT_SCRYPT_PARAMS), null, options);
  }

  /** Synchronous check (one scrypt on a cache miss). Prefer `authorize` on request paths. */
  verify(presented: string): boolean {
    const record = this.currentRecord();
    if (!record || !plausible(presented)) return false;
    const print = fingerprint(presented);
    if (this.lastGood && timingSafeEqual(print, this.lastGood)) return true;
    const ok = keyMatchesSync(record, presented);
    if (ok) this.lastGood = print;
    return ok;
  }

  /** Same as `verify`, with scrypt off the event loop. */
  async verifyAsync(presented: string): Promise<boolean> {
    const record = this.currentRecord();
    if (!record || !plausible(presented)) return false;
    const print = fingerprint(presented);
    if (this.lastGood && timingSafeEqual(print, this.lastGood)) return true;
    const ok = await keyMatches(record, presented);
    // The key may have been rotated while scrypt ran: only the record now in force counts.
    if (record !== this.currentRecord()) return this.verifyAsync(presented);
    if (ok) this.lastGood = print;
    return ok;
  }

  /** Checks a request's bearer key, with per-address throttling of wrong keys. */
  async authorize(req: Pick<IncomingMessage, 'headers' | 'socket'>): Promise<AuthOutcome> {
    const address = remoteAddressOf(req);
    const blocked = this.throttle.blockedFor(address);
    if (blocked > 0) return { ok: false, reason: 'throttled', retryAfterSeconds: Math.ceil(blocked / 1000) };
    const key = bearerKey(req);
    if (key === null) return { ok: false, reason: 'missing' };
    return this.settle(address, await this.verifyAsync(key));
  }

  /** `authorize` without awaiting (scrypt blocks on a cache miss), for code that must decide synchronously. */
  authorizeSync(req: Pick<IncomingMessage, 'headers' | 'socket'>): AuthOutcome {
    const address = remoteAddressOf(req);
    const blocked = this.throttle.blockedFor(address);
    if (blocked > 0) return { ok: false, reason: 'throttled', retryAfterSeconds: Math.ceil(blocked / 1000) };
    const key = bearerKey(req);
    if (key === null) return { ok: false, reason: 'missing' };
    return this.settle(address, this.verify(key));
  }

  /**
   * True only for a request carrying the right key from an address that is not throttled. For the
   * feeds WebSocket upgrade; a plain boolean so it cannot be mistaken for a truthy result object.
   */
  verifyRequestAuth(req: Pick<IncomingMessage, 'headers' | 'socket'>): boolean {
    return this.authorizeSync(req).ok;
  }

  private settle(address: string, ok: boolean): AuthOutcome {
    if (ok) {
      this.throttle.recordSuccess(address);
      return { ok: true };
    }
    this.throttle.recordFailure(address);
    return { ok: false, reason: 'invalid' };
  }

  private currentRecord(): KeyRecord | null {
    if (!this.keyFile) return this.record;
    const stamp = stampOf(this.keyFile);
    if (stamp === this.fileStamp) return this.record;
    this.fileStamp = stamp;
    this.lastGood = null;
    try {
      this.record = parseKeyRecord(this.keyFile, readFileSync(this.keyFile, 'utf8'));
    } catch (error) {
      // Fail closed: a key file we cannot read must not leave the old key working.
      this.record = null;
      this.options.logger?.warn(
        { file: this.keyFile, error: (error as Error).message },
        'key file unreadable; refusing every key until it is fixed (dokkup agent --rotate-key)',
      );
    }
    return this.record;
  }
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
