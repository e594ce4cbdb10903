/**
 * A certificate authority of a test's own, for agents run with `--tls-cert` and inventories
 * with `ca:`: a CA certificate, and server certificates it signs for the names asked for.
 * Built with the same library the agent uses for its self-signed certificate.
 */
import 'reflect-metadata';
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import type { CertificatePair } from '../../agent/tls/certificate.js';

type Generator = typeof x509.X509CertificateGenerator;
const crypto = webcrypto as unknown as Parameters<Generator['create']>[1];
const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY = 24 * 60 * 60_000;

async function keyPair() {
  return webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
}

async function pem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
    .export({ format: 'pem', type: 'pkcs8' })
    .toString();
}

export interface TestCa {
  /** PEM of the CA certificate: what an inventory's `ca:` file holds. */
  cert: string;
  /** A server certificate (and key) for these DNS names / IP addresses, signed by this CA. */
  issue(names: readonly string[]): Promise<CertificatePair>;
}

export async function createTestCa(name = 'dokkup test CA'): Promise<TestCa> {
  const keys = await keyPair();
  const now = Date.now();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: `01${randomBytes(8).toString('hex')}`,
      name: `CN=${name}`,
      notBefore: new Date(now - DAY),
      notAfter: new Date(now + 30 * DAY),
      keys: keys as unknown as Parameters<Generator['createSelfSigned']>[0]['keys'],
      signingAlgorithm: algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never, false, crypto),
      ],
    },
    crypto,
  );
  return {
    cert: caCert.toString('pem'),
    async issue(names) {
      const leaf = await keyPair();
      const cert = await x509.X509CertificateGenerator.create(
        {
          serialNumber: `01${randomBytes(8).toString('hex')}`,
          subject: `CN=${names[0] ?? 'server'}`,
          issuer: caCert.subject,
          notBefore: new Date(now - DAY),
          notAfter: new Date(now + 30 * DAY),
          signingKey: keys.privateKey as never,
          publicKey: leaf.publicKey as never,
          signingAlgorithm: algorithm,
          extensions: [
            new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
            await x509.AuthorityKeyIdentifierExtension.create(caCert, false, crypto),
            new x509.SubjectAlternativeNameExtension(
              names.map((n) => (isIP(n) ? { type: 'ip', value: n } : { type: 'dns', value: n })),
            ),
          ],
        },
        crypto,
      );
      return { cert: cert.toString('pem'), key: await pem(leaf.privateKey) };
    },
  };
}
