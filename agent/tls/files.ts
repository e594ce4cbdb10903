/**
 * Certificate files: the agent's own (made on first start in its data directory, mode 0600) and
 * the ones an operator brings (`--tls-cert FILE --tls-key FILE`). Files are only ever read or
 * replaced whole; a half-present pair is an error, never silently replaced by a new certificate
 * (clients pin the old one).
 */
import { X509Certificate } from 'node:crypto';
import { chmod, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { ensurePrivateDirectory, writeFileAtomic } from '../store/atomic-file.js';
import { type CertificatePair, createSelfSignedCertificate, fingerprintOf } from './certificate.js';

export const CERT_FILE_NAME = 'agent-cert.pem';
export const CERT_KEY_FILE_NAME = 'agent-cert-key.pem';

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

export interface LoadedCertificate extends CertificatePair, CertificateFiles {
  /** `SHA256:<hex>` of the leaf certificate. */
  fingerprint: string;
  /** When the certificate stops being valid (clients that pin it do not look). */
  validTo: Date;
}

export class CertificateFileError extends Error {
  override readonly name = 'CertificateFileError';
}

/** Where the agent keeps its own certificate and key. */
export function ownCertificateFiles(dataDir: string): CertificateFiles {
  return { certFile: join(dataDir, CERT_FILE_NAME), keyFile: join(dataDir, CERT_KEY_FILE_NAME) };
}

async function readIfPresent(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CertificateFileError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

/** Checks that the two PEM texts are a certificate and its key; throws naming the files. */
export function checkPair(pair: CertificatePair, files: CertificateFiles): LoadedCertificate {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pair.cert);
  } catch (error) {
    throw new CertificateFileError(`${files.certFile} holds no PEM certificate: ${(error as Error).message}`);
  }
  try {
    // Throws when the key is not PEM, or is not the certificate's key ("key values mismatch").
    createSecureContext({ cert: pair.cert, key: pair.key });
  } catch (error) {
    throw new CertificateFileError(
      `${files.keyFile} is not the private key of ${files.certFile}: ${(error as Error).message}`,
    );
  }
  return {
    ...pair,
    ...files,
    fingerprint: fingerprintOf(pair.cert),
    validTo: new Date(certificate.validTo),
  };
}

/** Reads a certificate and its key (an operator's, or the agent's own) and checks they belong together. */
export async function loadCertificateFiles(files: CertificateFiles): Promise<LoadedCertificate> {
  const [cert, key] = await Promise.all([readIfPresent(files.certFile), readIfPresent(files.keyFile)]);
  if (cert === null) throw new CertificateFileError(`${files.certFile} does not exist`);
  if (key === null) throw new CertificateFileError(`${files.keyFile} does not exist`);
  return checkPair({ cert, key }, files);
}

/** Writes a new self-signed certificate for `names` (key first: a certificate is never there without its key). */
export async function storeNewCertificate(
  dataDir: string,
  names: readonly string[],
): Promise<LoadedCertificate> {
  await ensurePrivateDirectory(dataDir);
  const files = ownCertificateFiles(dataDir);
  const pair = await createSelfSignedCertificate(names);
  await writeFileAtomic(files.keyFile, pair.key, 0o600);
  await writeFileAtomic(files.certFile, pair.cert, 0o600);
  return checkPair(pair, files);
}

export interface OwnCertificate extends LoadedCertificate {
  /** True when it was made just now (first start): print its fingerprint. */
  created: boolean;
}

/**
 * The agent's own certificate from `dataDir`, made on first use. A key without a certificate is
 * what a crash between the two writes leaves: nobody can have pinned that, so both are made
 * again. A certificate without its key is an error (its clients pin it).
 */
export async function loadOrCreateOwnCertificate(
  dataDir: string,
  names: readonly string[],
): Promise<OwnCertificate> {
  const files = ownCertificateFiles(dataDir);
  const [cert, key] = await Promise.all([readIfPresent(files.certFile), readIfPresent(files.keyFile)]);
  if (cert === null) return { ...(await storeNewCertificate(dataDir, names)), created: true };
  if (key === null) {
    throw new CertificateFileError(
      `${files.keyFile} is missing (the key of ${files.certFile}); run \`dokkup agent --rotate-cert\` to make a new certificate (clients must then pin its new fingerprint)`,
    );
  }
  for (const path of [files.certFile, files.keyFile]) await tightenMode(path);
  try {
    return { ...checkPair({ cert, key }, files), created: false };
  } catch (error) {
    throw new CertificateFileError(
      `${(error as Error).message}; run \`dokkup agent --rotate-cert\` to make a new certificate`,
    );
  }
}

/** A file left readable by others (copied, restored from a backup) is made private again. */
async function tightenMode(path: string): Promise<void> {
  try {
    await chmod(path, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
  }
}
