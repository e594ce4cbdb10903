import { describe, expect, it } from 'vitest';
import { isLoopbackHost, normaliseFingerprint, plainHttpNodes, plainHttpWarning } from './trust.js';

const HEX = 'ab'.repeat(32);

describe('normaliseFingerprint', () => {
  it('takes SHA256: and 64 hex digits, in any case, with or without colons', () => {
    expect(normaliseFingerprint(`SHA256:${HEX}`)).toBe(`SHA256:${HEX}`);
    expect(normaliseFingerprint(` sha256:${HEX.toUpperCase()} `)).toBe(`SHA256:${HEX}`);
    expect(normaliseFingerprint(`SHA256:${HEX.match(/../g)!.join(':')}`)).toBe(`SHA256:${HEX}`);
  });

  it('refuses anything else: no prefix, another hash, the wrong length, not hex', () => {
    for (const bad of [
      HEX,
      `SHA1:${HEX}`,
      `SHA256:${HEX.slice(2)}`,
      `SHA256:${HEX}00`,
      `SHA256:${'zz'.repeat(32)}`,
      '',
    ])
      expect(normaliseFingerprint(bad)).toBeNull();
  });
});

describe('plain HTTP beyond this machine', () => {
  it('knows loopback names and addresses', () => {
    for (const host of [
      '127.0.0.1',
      '127.9.8.7',
      'localhost',
      'api.localhost',
      '::1',
      '[::1]',
      '::ffff:127.0.0.1',
    ])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['10.0.0.5', '192.168.0.99', 'lab1.example.com', '::2', '0.0.0.0', '128.0.0.1'])
      expect(isLoopbackHost(host), host).toBe(false);
  });

  it('lists the http:// nodes on other machines, once, naming at most ten', () => {
    const nodes = [
      { name: 'tls', baseUrl: 'https://10.0.0.1:8080' },
      { name: 'local', baseUrl: 'http://127.0.0.1:8080' },
      { name: 'lab3', baseUrl: 'http://10.0.0.3:8080' },
      { name: 'lab4', baseUrl: 'http://lab4.example:8080' },
    ];
    expect(plainHttpNodes(nodes).map((n) => n.name)).toEqual(['lab3', 'lab4']);
    expect(plainHttpWarning(nodes)).toBe(
      'Warning: plain HTTP to 2 nodes, the key travels unencrypted: lab3 (http://10.0.0.3:8080), lab4 (http://lab4.example:8080). Run those agents with TLS (the default) and write https:// or no scheme, with their fingerprint.',
    );
    expect(plainHttpWarning(nodes.slice(0, 2))).toBeNull();
    const many = Array.from({ length: 12 }, (_, i) => ({
      name: `n${i}`,
      baseUrl: `http://10.0.1.${i}:8080`,
    }));
    expect(plainHttpWarning(many)).toMatch(
      /^Warning: plain HTTP to 12 nodes.*n9 \(http:\/\/10\.0\.1\.9:8080\) and 2 more\./,
    );
  });
});
