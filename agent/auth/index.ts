/**
 * Agent authentication: key issue, storage (a SHA-256 digest only) and verification.
 */
import { issueKey, keyFilePath, readKeyRecordSync, storeKey } from './key-file.js';
import { KeyVerifier, type KeyVerifierOptions } from './verifier.js';

export * from './key-file.js';
export * from './throttle.js';
export * from './verifier.js';

export interface LoadedKey {
  verifier: KeyVerifier;
  /** The freshly issued key on first start (show it once); null on every later start. */
  newKey: string | null;
}

/**
 * Loads the stored key record from `dataDir`, issuing and storing a new key when there is none.
 * The verifier follows the file; call its `watch()` to hear of rotations between requests.
 */
export async function loadOrCreateKey(dataDir: string, options: KeyVerifierOptions = {}): Promise<LoadedKey> {
  const path = keyFilePath(dataDir);
  const existing = readKeyRecordSync(path);
  if (existing) return { verifier: KeyVerifier.fromFile(path, existing, options), newKey: null };
  const key = issueKey();
  const record = await storeKey(dataDir, key);
  return { verifier: KeyVerifier.fromFile(path, record, options), newKey: key };
}

export interface RotatedKey {
  key: string;
  keyId: string;
  /** The replaced key's id; null when there was none or it was a 0.3 record (its id is unknown). */
  previousKeyId: string | null;
}

/** Issues a new key for `dataDir`; the old one stops working (running agents follow the file). */
export async function rotateKey(dataDir: string): Promise<RotatedKey> {
  let previousKeyId: string | null = null;
  try {
    const previous = readKeyRecordSync(keyFilePath(dataDir));
    if (previous?.algorithm === 'sha256') previousKeyId = previous.keyId;
  } catch {
    // A damaged record is exactly what a rotation replaces.
  }
  const key = issueKey();
  const record = await storeKey(dataDir, key);
  return { key, keyId: record.keyId, previousKeyId };
}
