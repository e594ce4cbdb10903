/**
 * The agent's own certificate: an ECDSA P-256 key and a self-signed X.509 certificate naming the
 * host (its host name, 127.0.0.1, ::1 and any `--tls-san`). Clients pin it by its SHA-256
 * fingerprint, like an ssh host key, so no CA is involved; the names matter only to clients that
 * verify against a CA (they then reject it, which is the point).
 *
 * Node can read certificates (`X509Certificate`) but not make them, so @peculiar/x509 builds the
 * certificate; the key pair and the signature come from Node's own WebCrypto.
 */
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';

/** What a fingerprint looks like everywhere dokkup prints or reads one. */
export const FINGERPRINT_PREFIX = 'SHA256:';

/** Self-signed certificates are valid this long; pinned clients do not look at the dates. */
const VALIDITY_DAYS = 3650;

export interface CertificatePair {
  /** PEM of the certificate (the leaf first when it is a chain). */
  cert: string;
  /** PEM of its private key. */
  key: string;
}

/** `SHA256:<64 lowercase hex>` of a certificate's DER encoding: what `dokkup agent --fingerprint` prints. */
export function fingerprintOf(certPem: string | Buffer): string {
  const hex = new X509Certificate(certPem).fingerprint256.replaceAll(':', '').toLowerCase();
  return `${FINGERPRINT_PREFIX}${hex}`;
}

/** The subject alternative names a certificate of this host carries: the host name, loopback, the extra names. */
export function certificateNames(hostname: string, extra: readonly string[] = []): string[] {
  const names: string[] = [];
  for (const name of [hostname, '127.0.0.1', '::1', ...extra]) {
    const trimmed = name.trim();
    if (trimmed && !names.includes(trimmed)) names.push(trimmed);
  }
  return names;
}

/** The names (DNS and IP) a certificate is valid for, as written (`::1`, not `0:0:…:1`). */
export function namesInCertificate(certPem: string | Buffer): string[] {
  const san = new X509Certificate(certPem).subjectAltName ?? '';
  return san
    .split(', ')
    .filter(Boolean)
    .map((entry) => {
      const [kind, ...rest] = entry.split(':');
      const value = rest.join(':');
      if (kind === 'IP Address' && value.includes(':')) return compactIPv6(value);
      return value;
    });
}

function compactIPv6(address: string): string {
  // `new URL` compacts an IPv6 address the canonical way (0:0:0:0:0:0:0:1 → ::1).
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/** A new key pair and a self-signed certificate for `names` (DNS names and IP addresses). */
export async function createSelfSignedCertificate(
  names: readonly string[],
  now: Date = new Date(),
): Promise<CertificatePair> {
  // Loaded only here: the library's dependency injection needs the reflect-metadata polyfill,
  // and nothing else in dokkup (the CLI, the TUI) should carry either.
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  type SelfSignedParams = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>;
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const commonName = (names[0] ?? 'dokkup-agent').replace(/[,=+<>#;"\\]/g, '_');
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      // A positive 127-bit serial number (RFC 5280: at most 20 octets, non-negative).
      serialNumber: `01${randomBytes(15).toString('hex')}`,
      name: `CN=${commonName}, O=dokkup agent`,
      notBefore: new Date(now.getTime() - 60 * 60_000),
      notAfter: new Date(now.getTime() + VALIDITY_DAYS * 24 * 60 * 60_000),
      keys: keys as unknown as SelfSignedParams[0]['keys'],
      signingAlgorithm: algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(
          names.map((name) => (isIP(name) ? { type: 'ip', value: name } : { type: 'dns', value: name })),
        ),
      ],
    },
    webcrypto as unknown as SelfSignedParams[1],
  );
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
    .export({ format: 'pem', type: 'pkcs8' })
    .toString();
  return { cert: certificate.toString('pem'), key };
}
