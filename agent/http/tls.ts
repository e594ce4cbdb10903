/**
 * The agent's HTTPS server, with one courtesy: a plain-HTTP request on its TLS port (an
 * inventory saying `http://`, or `curl http://…`) gets a clear 400 in plain HTTP saying that this
 * agent speaks HTTPS, instead of a connection reset. The first byte of every connection tells
 * the two apart (a TLS handshake starts with 0x16); the bytes read are put back before the TLS
 * layer or the refusing HTTP parser takes the socket.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { CertificatePair } from '../tls/certificate.js';

/** First byte of a TLS record carrying a handshake (every ClientHello). */
const TLS_HANDSHAKE = 0x16;

/** How long a new connection may stay silent before its first byte. */
const FIRST_BYTE_TIMEOUT_MS = 20_000;

export const PLAIN_HTTP_REFUSAL =
  'this agent serves HTTPS only: write its location as https://host:port or host:port (no scheme means https), not http://';

const refusalBody = JSON.stringify({ error: { code: 'invalid_request', message: PLAIN_HTTP_REFUSAL } });

/** TLS settings of the agent's server: at least TLS 1.2, with the given certificate. */
export function tlsServerOptions(pair: CertificatePair): https.ServerOptions {
  return { cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2' };
}

export function createTlsServer(
  options: http.ServerOptions,
  pair: CertificatePair,
  handler: http.RequestListener,
): https.Server {
  const server = https.createServer({ ...options, ...tlsServerOptions(pair) }, handler);
  routeByFirstByte(server, refusingHttpServer());
  return server;
}

/** Answers every request (and WebSocket upgrade) with the 400 above, then closes. */
function refusingHttpServer(): http.Server {
  const refuse = http.createServer({ headersTimeout: 5_000, requestTimeout: 5_000 }, (req, res) => {
    req.resume();
    res.writeHead(400, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(refusalBody),
      Connection: 'close',
    });
    res.end(refusalBody);
  });
  refuse.on('upgrade', (_req, socket: Socket) => {
    socket.end(
      `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(refusalBody)}\r\nConnection: close\r\n\r\n${refusalBody}`,
    );
  });
  refuse.on('clientError', (_error, socket) => socket.destroy());
  return refuse;
}

function routeByFirstByte(server: https.Server, plain: http.Server): void {
  // The TLS server's own listener wraps the socket in TLS; it runs once the first byte says so.
  const tlsListeners = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    // Errors before routing (a reset) must not reach the process; after it, the TLS socket or
    // the HTTP parser handles them.
    socket.on('error', () => {});
    let routed = false;
    const timer = setTimeout(() => socket.destroy(), FIRST_BYTE_TIMEOUT_MS);
    // Closed before saying anything (a port scan, a health probe that only connects).
    socket.once('end', () => {
      if (!routed) socket.destroy();
    });
    const route = () => {
      const chunk = socket.read() as Buffer | null;
      if (chunk === null) {
        if (!socket.destroyed) socket.once('readable', route);
        return;
      }
      routed = true;
      clearTimeout(timer);
      socket.unshift(chunk);
      if (chunk[0] === TLS_HANDSHAKE) for (const listener of tlsListeners) listener.call(server, socket);
      else plain.emit('connection', socket);
    };
    socket.once('close', () => clearTimeout(timer));
    route();
  });
}
