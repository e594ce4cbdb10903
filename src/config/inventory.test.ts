// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` is the inventory syntax under test, not a template
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError, InputErrors } from '../core/errors.js';
import { loadInventoryFile, locationToBaseUrl, parseInventoryText } from './inventory.js';

const here = (name: string) => new URL(name, import.meta.url).pathname;

function errorsOf(text: string, env: Record<string, string> = {}, file = 'inventory.yaml'): string[] {
  try {
    parseInventoryText(text, file, env);
  } catch (err) {
    expect(err).toBeInstanceOf(InputErrors);
    for (const e of (err as InputErrors).errors) expect(e.position?.file).toBe(file);
    return (err as InputErrors).errors.map((e) => e.format());
  }
  throw new Error('expected the inventory to be rejected');
}

describe('parseInventoryText', () => {
  it('parses the original README inventory.yaml', () => {
    const inv = parseInventoryText(
      readFileSync(here('fixtures/inventory.yaml'), 'utf8'),
      'inventory.yaml',
      {},
    );
    expect(inv).toEqual({
      source: 'inventory.yaml',
      nodes: [
        {
          name: 'lab1',
          location: '192.168.0.99:8080',
          baseUrl: 'https://192.168.0.99:8080',
          key: 'Z6wC4goD7V2EiL4XuecTuo8jVxfvwVxs',
        },
        {
          name: 'lab2',
          location: '192.168.0.100:8080',
          baseUrl: 'https://192.168.0.100:8080',
          key: 'EcwxaMO3kyBaKETesxInx7ga3Ti93gvI',
        },
      ],
      groups: { labs: ['lab1', 'lab2'] },
    });
  });

  it('parses the example inventory with its key from the environment', async () => {
    const fingerprint = `SHA256:${'cd'.repeat(32)}`;
    const inv = await loadInventoryFile(new URL('../../examples/inventory.yaml', import.meta.url).pathname, {
      DOKKUP_KEY_LOCAL: 'from-env',
      DOKKUP_FINGERPRINT_LOCAL: fingerprint,
    });
    expect(inv.nodes).toEqual([
      {
        name: 'local',
        location: '127.0.0.1:8080',
        baseUrl: 'https://127.0.0.1:8080',
        key: 'from-env',
        fingerprint,
      },
    ]);
    expect(inv.groups).toEqual({ web: ['local'] });
  });

  it('reads ${VAR} keys from the environment and reports a missing one', () => {
    const text =
      'nodes:\n  - name: a\n    location: a:8080\n    key: ${KEY_A}\n  - name: b\n    location: b:8080\n    key: ${KEY_B}\n';
    expect(parseInventoryText(text, 'i', { KEY_A: 'ka', KEY_B: 'kb' }).nodes.map((n) => n.key)).toEqual([
      'ka',
      'kb',
    ]);
    expect(errorsOf(text, { KEY_A: 'ka' })).toEqual([
      'inventory.yaml:7:10 nodes[1].key: environment variable KEY_B is not set (the key of node "b" is read from it)',
    ]);
    expect(errorsOf(text, { KEY_A: 'ka', KEY_B: '' })).toEqual([
      'inventory.yaml:7:10 nodes[1].key: environment variable KEY_B is empty (the key of node "b" is read from it)',
    ]);
    // 0.4: a key may be built from a variable like any value (compose interpolation); the error
    // points at the ${…} itself.
    const partial = 'nodes:\n  - {name: a, location: "a:1", key: "abc${X}"}\n';
    expect(parseInventoryText(partial, 'i', { X: 'x' }).nodes[0]!.key).toBe('abcx');
    expect(errorsOf(partial)).toEqual([
      'inventory.yaml:2:41 nodes[0].key: environment variable X is not set (the key of node "a" is read from it)',
    ]);
  });

  it('interpolates every value, with defaults and required markers, and never shows a value in an error', () => {
    const text = [
      'nodes:',
      '  - name: ${NODE_NAME:-lab1}',
      '    location: ${HOST:?the agent host}:8080',
      '    key: k',
      'registries:',
      '  - server: ghcr.io',
      '    username: ${GHCR_USER}',
      '    password: ${GHCR_TOKEN}',
      '',
    ].join('\n');
    const inv = parseInventoryText(text, 'i', { HOST: 'h', GHCR_USER: 'bot', GHCR_TOKEN: 'tok-123' });
    expect(inv.nodes[0]).toMatchObject({ name: 'lab1', baseUrl: 'https://h:8080' });
    expect(inv.registries).toEqual([{ server: 'ghcr.io', username: 'bot', password: 'tok-123' }]);
    expect(errorsOf(text, { GHCR_USER: 'bot', GHCR_TOKEN: 't' })).toEqual([
      'inventory.yaml:3:15 nodes[0].location: variable HOST is required but not set: the agent host',
    ]);
    // A bad value from a variable: the error shows the field as written, not the value.
    const bad = errorsOf(text, { HOST: 'h', NODE_NAME: 'bad name!', GHCR_USER: 'u', GHCR_TOKEN: 't' });
    expect(bad.join('\n')).not.toContain('bad name!');
    expect(bad).toEqual([expect.stringMatching(/^inventory\.yaml:2:11 nodes\[0\]\.name: must use only/)]);
  });

  it('registries: one spelling per server, no duplicates, no bad hosts', () => {
    const text = (servers: string[]) =>
      `nodes:\n  - {name: a, location: "a:1", key: k}\nregistries:\n${servers.map((s) => `  - {server: "${s}", username: u, password: p}\n`).join('')}`;
    expect(parseInventoryText(text(['https://index.docker.io/v1/', 'GHCR.io']), 'i', {}).registries).toEqual([
      { server: 'docker.io', username: 'u', password: 'p' },
      { server: 'ghcr.io', username: 'u', password: 'p' },
    ]);
    expect(errorsOf(text(['docker.io', 'registry-1.docker.io', 'not a host']))).toEqual([
      'inventory.yaml:5:14 registries[1].server: registry docker.io is already listed at registries[0]',
      'inventory.yaml:6:14 registries[2].server: expected a registry host like ghcr.io, registry.example.com:5000 or docker.io',
    ]);
  });

  it('pins a fingerprint (also from ${VAR}), or names a CA file relative to the inventory', async () => {
    const hex = 'ab'.repeat(32);
    const colons = hex.toUpperCase().match(/../g)!.join(':');
    const text = `nodes:
  - {name: a, location: "a:8080", key: k, fingerprint: "SHA256:${colons}"}
  - {name: b, location: "b:8080", key: k, fingerprint: "\${FP_B}"}
  - {name: c, location: "https://c:8443", key: k, ca: certs/ca.pem}
  - {name: d, location: "http://d:8080", key: k}
`;
    const checked: string[] = [];
    const inv = parseInventoryText(text, '/ops/inventory.yaml', { FP_B: `sha256:${hex}` }, (file) => {
      checked.push(file);
      return null;
    });
    expect(inv.nodes).toEqual([
      { name: 'a', location: 'a:8080', baseUrl: 'https://a:8080', key: 'k', fingerprint: `SHA256:${hex}` },
      { name: 'b', location: 'b:8080', baseUrl: 'https://b:8080', key: 'k', fingerprint: `SHA256:${hex}` },
      { name: 'c', location: 'https://c:8443', baseUrl: 'https://c:8443', key: 'k', ca: '/ops/certs/ca.pem' },
      { name: 'd', location: 'http://d:8080', baseUrl: 'http://d:8080', key: 'k' },
    ]);
    expect(checked).toEqual(['/ops/certs/ca.pem']);
  });

  it('reads key, fingerprint and CA path through the one interpolation; reports every unset or empty one with the rest', () => {
    const hex = 'ab'.repeat(32);
    const nodes = `nodes:
  - {name: a, location: "a:8080", key: "\${KEY_A}", fingerprint: "SHA256:\${FP_HEX}"}
  - {name: b, location: "b:8080", key: k, ca: "\${CERTS:-certs}/ca.pem"}
  - {name: c, location: "c:8080", key: "\${KEY_C}", fingerprint: "\${FP_C}"}
  - {name: d, location: "d:8080", key: k, fingerprint: "\${FP_D}"}
`;
    const env = { KEY_A: 'ka', FP_HEX: hex, KEY_C: 'kc', FP_C: `SHA256:${hex}`, FP_D: `SHA256:${hex}` };
    const checked: string[] = [];
    const inv = parseInventoryText(
      `${nodes}groups:\n  - {name: all, nodes: [a, "\${MORE}"]}\n`,
      '/ops/i.yaml',
      { ...env, MORE: 'b' },
      (file) => {
        checked.push(file);
        return null;
      },
    );
    expect(inv.nodes.map((n) => [n.name, n.key, n.fingerprint ?? n.ca])).toEqual([
      ['a', 'ka', `SHA256:${hex}`],
      ['b', 'k', '/ops/certs/ca.pem'],
      ['c', 'kc', `SHA256:${hex}`],
      ['d', 'k', `SHA256:${hex}`],
    ]);
    expect(inv.groups).toEqual({ all: ['a', 'b'] });
    expect(checked).toEqual(['/ops/certs/ca.pem']);
    // An unset key and fingerprint, a duplicate name and an unset group member: every problem
    // in one run, none repeated as a complaint about the \${…} as written.
    const broken = `${nodes}  - {name: a, location: "e:8080", key: k}\ngroups:\n  - {name: all, nodes: [a, "\${MORE}"]}\n`;
    expect(errorsOf(broken, { KEY_A: 'ka', FP_HEX: hex, FP_D: `SHA256:${hex}` })).toEqual([
      'inventory.yaml:4:41 nodes[2].key: environment variable KEY_C is not set (the key of node "c" is read from it)',
      'inventory.yaml:4:66 nodes[2].fingerprint: environment variable FP_C is not set (the fingerprint of node "c" is read from it)',
      'inventory.yaml:6:12 nodes[4].name: node "a" is already defined on line 2',
      'inventory.yaml:8:29 groups[0].nodes[1]: environment variable MORE is not set (set it, or give a default: ${MORE:-default})',
    ]);
    // An empty one fails the schema ("must not be empty"), said with the variable's name.
    expect(errorsOf(nodes, { ...env, FP_D: '' })).toEqual([
      'inventory.yaml:5:56 nodes[3].fingerprint: environment variable FP_D is empty (the fingerprint of node "d" is read from it)',
    ]);
  });

  it('rejects a bad fingerprint, both kinds of trust, a pin on http://, a missing variable, a bad CA file', () => {
    const hex = 'ab'.repeat(32);
    const text = `nodes:
  - {name: a, location: "a:8080", key: k, fingerprint: "${hex}"}
  - {name: b, location: "b:8080", key: k, fingerprint: "SHA256:${hex}", ca: ca.pem}
  - {name: c, location: "http://c:8080", key: k, fingerprint: "SHA256:${hex}"}
  - {name: d, location: "d:8080", key: k, fingerprint: "\${FP_D}"}
  - {name: e, location: "e:8080", key: k, ca: nowhere.pem}
`;
    const errors = (() => {
      try {
        parseInventoryText(text, 'inventory.yaml', {}, (file) =>
          file.endsWith('nowhere.pem') ? `${file}: no such file` : null,
        );
      } catch (err) {
        return (err as InputErrors).errors.map((e) => e.format());
      }
      return [];
    })();
    expect(errors).toEqual([
      `inventory.yaml:2:56 nodes[0].fingerprint: must be SHA256: and 64 hex digits, as \`dokkup agent --fingerprint\` prints it (got "${hex}")`,
      'inventory.yaml:3:135 nodes[1].ca: give either fingerprint (pin the certificate) or ca (verify it against a CA), not both',
      'inventory.yaml:4:63 nodes[2].fingerprint: fingerprint is for a TLS agent, but the location says http:// (plain, no certificate); write https:// or no scheme',
      // The position of the ${…} itself, like every interpolation error.
      'inventory.yaml:5:57 nodes[3].fingerprint: environment variable FP_D is not set (the fingerprint of node "d" is read from it)',
      `inventory.yaml:6:47 nodes[4].ca: ${process.cwd()}/nowhere.pem: no such file`,
    ]);
  });

  it('no groups is fine', () => {
    expect(parseInventoryText('nodes:\n  - {name: a, location: "a:1", key: k}\n', 'i', {}).groups).toEqual(
      {},
    );
  });

  it('rejects duplicate node names and duplicate group names, naming the first line', () => {
    const text = `nodes:
  - name: lab1
    location: a:8080
    key: k
  - name: lab1
    location: b:8080
    key: k
groups:
  - name: labs
    nodes: [lab1]
  - name: labs
    nodes: [lab1]
`;
    expect(errorsOf(text)).toEqual([
      'inventory.yaml:5:11 nodes[1].name: node "lab1" is already defined on line 2',
      'inventory.yaml:11:11 groups[1].name: group "labs" is already defined on line 9',
    ]);
  });

  it('rejects a group naming an unknown node, or a node twice', () => {
    const text = `nodes:
  - {name: lab1, location: "a:8080", key: k}
  - {name: lab2, location: "b:8080", key: k}
groups:
  - name: labs
    nodes:
      - lab1
      - lab3
      - db
      - lab1
`;
    expect(errorsOf(text)).toEqual([
      'inventory.yaml:8:9 groups[0].nodes[1]: unknown node "lab3" (did you mean "lab1"?)',
      'inventory.yaml:9:9 groups[0].nodes[2]: unknown node "db"; nodes are: lab1, lab2',
      'inventory.yaml:10:9 groups[0].nodes[3]: node "lab1" is already in group "labs"',
    ]);
  });

  it('rejects bad locations at their line', () => {
    const text = `nodes:
  - {name: a, location: "ftp://a:21", key: k}
  - {name: b, location: "b", key: k}
  - {name: c, location: "http://u:p@c:1", key: k}
  - {name: d, location: "c:99999", key: k}
`;
    expect(errorsOf(text)).toEqual([
      'inventory.yaml:2:25 nodes[0].location: unsupported scheme "ftp": expected host:port (https), https://host:port or http://host:port, got "ftp://a:21"',
      'inventory.yaml:3:25 nodes[1].location: not a valid location: expected host:port (https), https://host:port or http://host:port, got "b"',
      'inventory.yaml:4:25 nodes[2].location: must not hold credentials (the key goes in "key"): expected host:port (https), https://host:port or http://host:port, got "http://u:p@c:1"',
      'inventory.yaml:5:25 nodes[3].location: not a valid location: expected host:port (https), https://host:port or http://host:port, got "c:99999"',
    ]);
  });

  it('unknown keys, wrong types, missing fields, empty lists', () => {
    expect(errorsOf('nodes:\n  - nme: a\n    location: 8080\n    key: k\n')).toEqual([
      'inventory.yaml:2:5 nodes[0].name: is required',
      'inventory.yaml:2:5 nodes[0].nme: unknown key "nme" (did you mean "name"?)',
      'inventory.yaml:3:15 nodes[0].location: expected a string, got 8080',
    ]);
    expect(errorsOf('nodes: []\n')).toEqual(['inventory.yaml:1:8 nodes: must list at least one node']);
    expect(errorsOf('node:\n  - {name: a, location: "a:1", key: k}\n')).toEqual([
      'inventory.yaml:1:1 nodes: is required',
      'inventory.yaml:1:1 node: unknown key "node" (did you mean "nodes"?)',
    ]);
    expect(
      errorsOf('nodes:\n  - {name: a, location: "a:1", key: k}\ngroups:\n  - {name: g, nodes: []}\n'),
    ).toEqual(['inventory.yaml:4:22 groups[0].nodes: must name at least one node']);
    expect(errorsOf('')).toEqual([
      'inventory.yaml:1:1: is empty: expected an inventory with nodes and groups',
    ]);
    expect(errorsOf('[a, b]')).toEqual([
      'inventory.yaml:1:1: must be a mapping of fields (nodes and groups), got a list',
    ]);
  });
});

describe('locationToBaseUrl', () => {
  it.each([
    ['192.168.0.99:8080', 'https://192.168.0.99:8080'],
    ['lab1.example.com:8080', 'https://lab1.example.com:8080'],
    ['http://lab1:8080', 'http://lab1:8080'],
    ['https://lab1:8443/', 'https://lab1:8443'],
    ['https://lab1', 'https://lab1'],
    ['HTTPS://Lab1:443', 'https://lab1'],
    ['https://proxy.example.com/dokkup/lab1/', 'https://proxy.example.com/dokkup/lab1'],
    ['[::1]:8080', 'https://[::1]:8080'],
    [' 127.0.0.1:8080 ', 'https://127.0.0.1:8080'],
  ])('%s → %s', (location, url) => {
    expect(locationToBaseUrl(location)).toBe(url);
  });

  it.each([
    'lab1',
    'lab1:',
    ':8080',
    'ftp://x:1',
    'http://',
    'http://x:1?a=b',
    'a b:80',
    'x:0',
    'http://x:0',
  ])('rejects %j', (location) => {
    expect(() => locationToBaseUrl(location)).toThrow(InputError);
  });
});

describe('loadInventoryFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dokkup-inv-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports a missing file and a directory without a stack trace', async () => {
    await expect(loadInventoryFile(join(dir, 'inventory.yaml'), {})).rejects.toThrow(
      `${join(dir, 'inventory.yaml')}: no such file`,
    );
    await expect(loadInventoryFile(dir, {})).rejects.toThrow(`${dir}: is a directory, expected a YAML file`);
  });

  it('takes ten thousand nodes with keys and fingerprints written out (2 MiB), refuses more than 4 MiB', async () => {
    const node = (i: number) =>
      `  - {name: node${i}, location: "10.0.${i >> 8}.${i & 255}:8080", key: "${'k'.repeat(43)}", fingerprint: "SHA256:${'ab'.repeat(32)}"}\n`;
    const big = join(dir, 'fleet.yaml');
    writeFileSync(big, `nodes:\n${Array.from({ length: 10_000 }, (_, i) => node(i)).join('')}`);
    expect((await loadInventoryFile(big, {})).nodes).toHaveLength(10_000);
    const huge = join(dir, 'huge.yaml');
    writeFileSync(huge, `# ${'x'.repeat(4 * 1024 * 1024)}\n`);
    await expect(loadInventoryFile(huge, {})).rejects.toThrow(
      `${huge}: is 4.0 MiB; inventory files are limited to 4 MiB`,
    );
  });

  it('positions errors with the path it was given', async () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(
      path,
      'nodes:\n  - {name: a, location: "a:1", key: k}\n  - {name: a, location: "a:1", key: k}\n',
    );
    await expect(loadInventoryFile(path, {})).rejects.toThrow(
      `${path}:3:12 nodes[1].name: node "a" is already defined on line 2`,
    );
  });
});
