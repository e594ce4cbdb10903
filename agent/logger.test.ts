import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, parseLogFormat, parseLogLevel } from './logger.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, stream };
}

describe('logger', () => {
  it('takes the level from LOG_LEVEL and refuses unknown levels and formats', () => {
    expect(parseLogLevel(undefined)).toBe('info');
    expect(parseLogLevel('DEBUG')).toBe('debug');
    expect(() => parseLogLevel('loud')).toThrow(/LOG_LEVEL must be one of/);
    expect(parseLogFormat(undefined, true)).toBe('pretty');
    expect(parseLogFormat(undefined, false)).toBe('json');
    expect(parseLogFormat('JSON', true)).toBe('json');
    expect(() => parseLogFormat('xml', false)).toThrow(/LOG_FORMAT/);
  });

  it('writes JSON lines at the configured level and hides keys and authorization headers', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ destination: stream, env: { LOG_LEVEL: 'warn' } });
    logger.info('not shown');
    logger.warn({ key: 'secret-key', headers: { authorization: 'Bearer secret-key' } }, 'shown');
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({ level: 40, msg: 'shown', key: '[redacted]' });
    expect(lines[0]).not.toContain('secret-key');
  });

  it('hides registry credentials should a request object ever be logged', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ destination: stream, env: { LOG_LEVEL: 'info' } });
    const registryAuth = [{ server: 'ghcr.io', username: 'bot', password: 'reg-pass-1' }];
    logger.info({ registryAuth, body: { registryAuth }, authconfig: { password: 'reg-pass-2' } }, 'x');
    logger.info({ auth: { password: 'reg-pass-3', identitytoken: 'reg-token-4' } }, 'y');
    expect(lines).toHaveLength(2);
    expect(lines.join('\n')).not.toMatch(/reg-pass|reg-token/);
  });

  it('writes readable lines with LOG_FORMAT=pretty', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ destination: stream, env: { LOG_FORMAT: 'pretty' }, isTTY: false });
    logger.info({ port: 8080 }, 'server is listening');
    const text = lines.join('\n');
    expect(text).toMatch(/INFO.*server is listening/);
    expect(text).toMatch(/port: 8080/);
    expect(() => JSON.parse(lines[0]!)).toThrow();
  });
});
