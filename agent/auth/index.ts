/**
 * Agent authentication: key issue, storage (scrypt hash only) and verification.
 */
import {
  DEFAULT_SCRYPT_PARAMS,
  issueKey,
  keyFilePath,
  readKeyRecord,
  type ScryptParams,
  storeKey,
  tightenKeyFileMode,
} from './key-file.js';
import { KeyVerifier, type KeyVerifierOptions } from './verifier.js';

export * from './key-file.js';
export * from './throttle.js';
export * from './verifier.js';

export interface LoadedKey {
  verifier: KeyVerifier;
  /** The freshly issued key on first start (show it once); null on every later start. */
  newKey: string | null;
}

export interface KeyOptions extends KeyVerifierOptions {
  params?: ScryptParams;
}

/** Loads the stored key hash from `dataDir`, issuing and storing a new key when there is none. */
export async function loadOrCreateKey(dataDir: string, options: KeyOptions = {}): Promise<LoadedKey> {
  const path = keyFilePath(dataDir);
  const existing = await readKeyRecord(path);
  if (existing) {
    await tightenKeyFileMode(path);
    return { verifier: KeyVerifier.fromFile(path, existing, options), newKey: null };
  }
  const key = issueKey();
  const record = await storeKey(dataDir, key, options.params ?? DEFAULT_SCRYPT_PARAMS);
  return { verifier: KeyVerifier.fromFile(path, record, options), newKey: key };
}

/** Issues a new key for `dataDir`; the old one stops working (running agents reload the file). */
export async function rotateKey(dataDir: string, options: Pick<KeyOptions, 'params'> = {}): Promise<string> {
  const key = issueKey();
  await storeKey(dataDir, key, options.params ?? DEFAULT_SCRYPT_PARAMS);
  return key;
}
