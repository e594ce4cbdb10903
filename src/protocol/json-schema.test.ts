/**
 * The JSON Schemas of job files and inventories: the committed files are what the zod schemas
 * generate, every field is described, the examples point editors at them, and a JSON Schema
 * validator (ajv, as editors use) agrees with dokkup's own checks on good and bad files.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { InventoryFileSchema } from './inventory.js';
import { JobFileSchema } from './job.js';
import { fileJsonSchema, jsonSchemaOf, jsonSchemaText, SCHEMA_FILES, SCHEMA_NAMES } from './json-schema.js';

const repoFile = (file: string) => new URL(`../../${file}`, import.meta.url);
const read = (file: string) => readFileSync(repoFile(file), 'utf8');

describe.each(SCHEMA_NAMES)('schemas/%s.schema.json', (name) => {
  it('is what the zod schemas generate (regenerate with `npm run schemas`)', () => {
    const { file } = SCHEMA_FILES[name];
    const committed = JSON.parse(read(file));
    const generated = jsonSchemaOf(name);
    if (JSON.stringify(committed) !== JSON.stringify(generated)) {
      expect.fail(
        `${file} differs from the zod schemas in src/protocol: run \`npm run schemas\` and commit it`,
      );
    }
  });

  it('describes every field', () => {
    const undescribed: string[] = [];
    const walk = (node: unknown, at: string): void => {
      if (Array.isArray(node)) {
        node.forEach((item, i) => {
          walk(item, `${at}[${i}]`);
        });
        return;
      }
      if (node === null || typeof node !== 'object') return;
      const properties = (node as { properties?: Record<string, Record<string, unknown>> }).properties;
      for (const [key, property] of Object.entries(properties ?? {})) {
        if (typeof property['description'] !== 'string' || property['description'].length < 10) {
          undescribed.push(`${at}.${key}`);
        }
      }
      for (const [key, value] of Object.entries(node))
        walk(value, `${at}${key === 'properties' ? '' : `/${key}`}`);
    };
    walk(jsonSchemaOf(name), name);
    expect(undescribed, 'add .describe() to these fields in src/protocol').toEqual([]);
  });

  it('is printed by `dokkup schema` as two-space JSON', () => {
    expect(JSON.parse(jsonSchemaText(name))).toEqual(jsonSchemaOf(name));
    expect(jsonSchemaText(name)).toMatch(
      /^\{\n {2}"\$schema": "http:\/\/json-schema\.org\/draft-07\/schema#",\n/,
    );
  });
});

describe('editors and dokkup agree', () => {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  const checkJob = ajv.compile(JSON.parse(read(SCHEMA_FILES.job.file)));
  const checkInventory = ajv.compile(JSON.parse(read(SCHEMA_FILES.inventory.file)));

  it.each([
    ['examples/hello.yaml', 'job'],
    ['examples/web.yaml', 'job'],
    ['examples/shop.yaml', 'job'],
    ['examples/inventory.yaml', 'inventory'],
  ] as const)('%s starts with the yaml-language-server comment and passes its schema', (file, kind) => {
    const text = read(file);
    expect(text.split('\n')[0]).toBe(`# yaml-language-server: $schema=../${SCHEMA_FILES[kind].file}`);
    const check = kind === 'job' ? checkJob : checkInventory;
    expect(check(parse(text)), JSON.stringify(check.errors)).toBe(true);
  });

  const container = { image: 'nginx:alpine' };
  const jobs: [string, unknown][] = [
    ['the smallest job', { name: 'web', group: 'g', container: [container] }],
    ['every field', parse(read('examples/web.yaml'))],
    [
      'a memory size in capitals',
      { name: 'web', node: 'n', container: [{ ...container, resources: { memory: '256M' } }] },
    ],
    [
      'a memory size in GiB',
      { name: 'web', node: 'n', container: [{ ...container, resources: { memory: '1.5GiB' } }] },
    ],
    [
      'a memory size in bytes',
      { name: 'web', node: 'n', container: [{ ...container, resources: { memory: 1024 } }] },
    ],
    ['a udp port', { name: 'web', node: 'n', container: [{ ...container, ports: [{ in: '53/udp' }] }] }],
    [
      'durations as text and numbers',
      {
        name: 'web',
        node: 'n',
        container: [container],
        update: { healthy_deadline: '1m30s', min_healthy_time: 0 },
      },
    ],
    ['an unknown key', { name: 'web', group: 'g', container: [{ ...container, imagee: 'x' }] }],
    ['a count of 0', { name: 'web', group: 'g', count: 0, container: [container] }],
    ['a count as text', { name: 'web', group: 'g', count: 'two', container: [container] }],
    ['two containers', { name: 'web', group: 'g', container: [container, container] }],
    [
      'two named containers',
      {
        name: 'web',
        group: 'g',
        container: [
          { ...container, name: 'web' },
          { ...container, name: 'log' },
        ],
      },
    ],
    [
      'an entry name that is no DNS label',
      { name: 'web', group: 'g', container: [{ ...container, name: 'Web_1' }] },
    ],
    [
      'seventeen containers',
      { name: 'web', group: 'g', container: Array.from({ length: 17 }, () => container) },
    ],
    ['a bad job name', { name: '-web', group: 'g', container: [container] }],
    [
      'a bad memory size',
      { name: 'web', node: 'n', container: [{ ...container, resources: { memory: '256 parsecs' } }] },
    ],
    [
      'a bad duration',
      { name: 'web', node: 'n', container: [container], update: { healthy_deadline: 'soon' } },
    ],
    ['a bad restart policy', { name: 'web', node: 'n', container: [{ ...container, restart: 'sometimes' }] }],
    ['no container', { name: 'web', node: 'n' }],
  ];
  it.each(jobs)('job file: %s', (_what, doc) => {
    expect(checkJob(doc), JSON.stringify(checkJob.errors)).toBe(JobFileSchema.safeParse(doc).success);
  });

  const node = { name: 'lab1', location: '10.0.0.1:8080', key: ['$', '{LAB1_KEY}'].join('') };
  const inventories: [string, unknown][] = [
    ['one node', { nodes: [node] }],
    ['a group', { nodes: [node], groups: [{ name: 'labs', nodes: ['lab1'] }] }],
    ['no nodes', { nodes: [] }],
    ['a node without a key', { nodes: [{ name: 'lab1', location: 'x:1' }] }],
    ['an unknown key', { nodes: [{ ...node, adress: 'x' }] }],
    ['a bad node name', { nodes: [{ ...node, name: 'lab 1' }] }],
    ['an empty group', { nodes: [node], groups: [{ name: 'labs', nodes: [] }] }],
  ];
  it.each(inventories)('inventory: %s', (_what, doc) => {
    expect(checkInventory(doc), JSON.stringify(checkInventory.errors)).toBe(
      InventoryFileSchema.safeParse(doc).success,
    );
  });
});

describe('fileJsonSchema', () => {
  it('refuses a pattern with flags rather than emit one that rejects what dokkup accepts', () => {
    const schema = z.strictObject({
      size: z
        .string()
        .regex(/^\d+m$/i)
        .describe('a size'),
    });
    expect(() => fileJsonSchema(schema, 'test')).toThrow(/has flags a JSON Schema pattern cannot express/);
  });
});
