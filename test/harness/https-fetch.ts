/**
 * `fetch` for tests that talk to agents over TLS: Node's own fetch cannot pin a self-signed
 * certificate, so this sends the request through dokkup's trusted transport (the key is written
 * only after the certificate matched). Plain `http://` URLs go out as they are. Only what tests
 * use of a Response: status, headers, text(), json().
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { TlsSessionCache, TrustedAgent } from '../../src/client/transport.js';

export interface PinnedInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  /** `SHA256:<hex>` the server's certificate must have (https only). */
  fingerprint?: string;
  /** https without any check: only for requests that carry no key (`/healthz`). */
  insecure?: boolean;
}

export interface PinnedResponse {
  status: number;
  ok: boolean;
  headers: http.IncomingHttpHeaders;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

const agents = { pinned: new TrustedAgent({ keepAlive: false }, new TlsSessionCache(1000)) };

export function pinnedFetch(url: string, init: PinnedInit = {}): Promise<PinnedResponse> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  if (secure && !init.fingerprint && !init.insecure)
    throw new Error(`pinnedFetch(${url}): an https URL needs a fingerprint (or insecure: true)`);
  return new Promise((resolve, reject) => {
    const options: https.RequestOptions & Record<string, unknown> = {
      method: init.method ?? 'GET',
      hostname: target.hostname.replace(/^\[|\]$/g, ''),
      port: target.port,
      path: `${target.pathname}${target.search}`,
      headers: init.headers ?? {},
      ...(init.signal ? { signal: init.signal } : {}),
    };
    if (secure && init.fingerprint) {
      options['agent'] = agents.pinned;
      options['dokkupTrust'] = { kind: 'fingerprint', fingerprint: init.fingerprint };
    } else if (secure) {
      options['rejectUnauthorized'] = false;
      options['agent'] = false;
    }
    const req = (secure ? https : http).request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        resolve({
          status,
          ok: status >= 200 && status < 300,
          headers: res.headers,
          text: async () => text,
          json: async () => JSON.parse(text) as unknown,
        });
      });
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** `SHA256:<hex>` of the certificate a TLS server on 127.0.0.1:`port` presents right now (nothing else is sent). */
export function servedFingerprint(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false }, () => {
      const der = socket.getPeerX509Certificate()?.raw;
      socket.destroy();
      if (der) resolve(`SHA256:${createHash('sha256').update(der).digest('hex')}`);
      else reject(new Error('no certificate presented'));
    });
    socket.on('error', reject);
  });
}
