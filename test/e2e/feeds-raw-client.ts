/**
 * A deliberately bare WebSocket client over a raw TCP socket, for tests that need what a normal
 * client library hides: a client that stops reading altogether (socket paused, so the agent's
 * writes back up), and the plain HTTP answer to a refused upgrade. Over TLS (agents serve it by
 * default) when given the agent's fingerprint, which it checks before writing anything.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';

export interface UpgradeRefusal {
  status: number;
  body: string;
}

export class RawFeedClient {
  readonly frames: unknown[] = [];
  bytesReceived = 0;
  /** Pings the agent sent (each answered with a pong, unless the socket is paused). */
  pings = 0;
  private buffer: Buffer = Buffer.alloc(0);

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  /** Opens the feeds WebSocket by hand; resolves with the client, or with the HTTP refusal. */
  static connect(
    port: number,
    key: string | null,
    path = '/v1/feeds',
    /** The agent's `SHA256:<hex>`: connect with TLS and check it; absent: plain TCP. */
    fingerprint?: string,
  ): Promise<RawFeedClient | UpgradeRefusal> {
    return new Promise((resolve, reject) => {
      const socket: Socket = fingerprint
        ? connectTls({ host: '127.0.0.1', port, rejectUnauthorized: false })
        : connect({ host: '127.0.0.1', port });
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        socket.off('data', onData);
        const headText = head.subarray(0, end).toString('latin1');
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(headText)?.[1] ?? 0);
        const rest = head.subarray(end + 4);
        if (status !== 101) {
          let body = rest.toString('utf8');
          socket.on('data', (more: Buffer) => {
            body += more.toString('utf8');
          });
          socket.on('close', () => resolve({ status, body }));
          return;
        }
        const client = new RawFeedClient(socket);
        if (rest.length > 0) client.onData(rest);
        resolve(client);
      };
      socket.on('data', onData);
      socket.on('error', reject);
      socket.on(fingerprint ? 'secureConnect' : 'connect', () => {
        if (fingerprint) {
          const der = (socket as import('node:tls').TLSSocket).getPeerX509Certificate()?.raw;
          const presented = der ? `SHA256:${createHash('sha256').update(der).digest('hex')}` : 'none';
          if (presented !== fingerprint) {
            socket.destroy();
            reject(new Error(`certificate ${presented}, expected ${fingerprint}`));
            return;
          }
        }
        const lines = [
          `GET ${path} HTTP/1.1`,
          `Host: 127.0.0.1:${port}`,
          'Upgrade: websocket',
          'Connection: Upgrade',
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
          'Sec-WebSocket-Version: 13',
        ];
        if (key !== null) lines.push(`Authorization: Bearer ${key}`);
        socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      });
    });
  }

  /** Sends one masked text frame (clients must mask). */
  send(value: unknown): void {
    this.sendRaw(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8'), 0x1);
  }

  sendRaw(payload: Buffer, opcode: number): void {
    const mask = randomBytes(4);
    let header: Buffer;
    if (payload.length < 126) {
      header = Buffer.from([0x80 | opcode, 0x80 | payload.length]);
    } else if (payload.length < 65536) {
      header = Buffer.alloc(4);
      header[0] = 0x80 | opcode;
      header[1] = 0x80 | 126;
      header.writeUInt16BE(payload.length, 2);
    } else {
      header = Buffer.alloc(10);
      header[0] = 0x80 | opcode;
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(payload.length), 2);
    }
    const masked = Buffer.alloc(payload.length);
    for (let i = 0; i < payload.length; i++) masked[i] = (payload[i] as number) ^ (mask[i % 4] as number);
    this.socket.write(Buffer.concat([header, mask, masked]));
  }

  /** Stops reading: the kernel buffers fill, then the agent's writes back up. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(): void {
    this.socket.destroy();
  }

  /** Frames of a type received so far. */
  framesOfType<T = Record<string, unknown>>(type: string): T[] {
    return this.frames.filter((f) => (f as { type?: string }).type === type) as T[];
  }

  private onData(chunk: Buffer): void {
    this.bytesReceived += chunk.length;
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      if (this.buffer.length < 2) return;
      const opcode = (this.buffer[0] as number) & 0x0f;
      let length = (this.buffer[1] as number) & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.buffer.length < 4) return;
        length = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.buffer.length < 10) return;
        length = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.buffer.length < offset + length) return;
      const payload = this.buffer.subarray(offset, offset + length);
      this.buffer = this.buffer.subarray(offset + length);
      if (opcode === 0x1) this.frames.push(JSON.parse(payload.toString('utf8')));
      else if (opcode === 0x9) {
        this.pings++;
        this.sendRaw(Buffer.from(payload), 0xa);
      }
    }
  }
}
