/** Inventory files: YAML text → validated `Inventory` (keys read, locations made base URLs). */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InputError, InputErrors } from '../core/errors.js';
import type { FieldPath } from '../core/spec.js';
import { formatFieldPath } from '../core/spec.js';
import { closestName } from '../core/targets.js';
import { normaliseFingerprint } from '../core/trust.js';
import {
  type Inventory,
  type InventoryFile,
  InventoryFileSchema,
  type InventoryNode,
} from '../protocol/inventory.js';
import { type InterpolatedField, interpolateSource, withMaskedValues } from './interpolate.js';
import { MAX_INVENTORY_BYTES, readUserFile } from './read-file.js';
import { registriesOf } from './registries.js';
import {
  type FileKind,
  parseYamlSource,
  positionOf,
  sortErrors,
  validateSource,
  valueAt,
} from './yaml-source.js';

const INVENTORY: FileKind = { noun: 'inventory', article: 'an', expects: 'nodes and groups' };
/** Node fields usually read from the environment: their messages say which variable. */
const NODE_SECRETS = new Set(['key', 'fingerprint', 'ca']);

/** Checks a CA file named by an inventory; returns what is wrong with it, or null. */
export type CaFileCheck = (absolutePath: string) => string | null;

/**
 * Parses an inventory. Every value is interpolated from `env` like a job file's (`key: ${NAME}`,
 * `fingerprint: ${NAME}`, `password: ${REGISTRY_TOKEN}`, see src/config/interpolate.ts); `ca`
 * paths are relative to the inventory file (and checked with `checkCaFile`). Throws `InputErrors`
 * with `file:line:col` for every problem found.
 */
export function parseInventoryText(
  text: string,
  file: string,
  env: Record<string, string | undefined> = process.env,
  checkCaFile?: CaFileCheck,
): Inventory {
  const src = parseYamlSource(text, file, INVENTORY);
  const nodeName = (i: unknown) => {
    const nodes = (src.data as { nodes?: unknown }).nodes;
    const name = Array.isArray(nodes)
      ? (nodes[Number(i)] as { name?: unknown } | undefined)?.name
      : undefined;
    return typeof name === 'string' ? name : `#${Number(i) + 1}`;
  };
  // Problems of interpolation are reported with the rest; a node whose value could not be read
  // is left out of the later checks (its value is still the `${…}` as written).
  const interpolationErrors: InputError[] = [];
  const unreadFields = new Set<string>();
  const unreadNodes = new Set<number>();
  const fields = interpolateSource(src, (name) => env[name], {
    // Inventories have no env_file: the environment is the only source.
    describeMissing: (p, variable) =>
      p.length === 3 && p[0] === 'nodes' && NODE_SECRETS.has(String(p[2]))
        ? `environment variable ${variable} is not set (the ${String(p[2])} of node "${nodeName(p[1])}" is read from it)`
        : `environment variable ${variable} is not set (set it, or give a default: \${${variable}:-default})`,
    onError: (error, p) => {
      interpolationErrors.push(error);
      unreadFields.add(formatFieldPath(p));
      if (p[0] === 'nodes' && typeof p[1] === 'number') unreadNodes.add(p[1]);
    },
  });
  let inv: InventoryFile;
  try {
    inv = withMaskedValues(
      fields,
      (p) => valueAt(src.data, p),
      () => withEmptyValuesNamed(fields, nodeName, () => validateSource(src, InventoryFileSchema)),
    );
  } catch (error) {
    if (!(error instanceof InputErrors) || interpolationErrors.length === 0) throw error;
    const others = error.errors.filter((e) => !e.field || !unreadFields.has(e.field));
    throw new InputErrors(sortErrors([...interpolationErrors, ...others]));
  }
  const errors: InputError[] = [...interpolationErrors];
  const fail = (path: FieldPath, message: string) =>
    errors.push(new InputError(message, positionOf(src, path), formatFieldPath(path)));
  const lineOf = (path: FieldPath) => positionOf(src, path).line;

  const nodes: InventoryNode[] = [];
  const nodeIndex = new Map<string, number>();
  inv.nodes.forEach((n, i) => {
    const first = nodeIndex.get(n.name);
    if (first !== undefined) {
      fail(
        ['nodes', i, 'name'],
        `node "${n.name}" is already defined on line ${lineOf(['nodes', first, 'name'])}`,
      );
      return;
    }
    nodeIndex.set(n.name, i);
    // Its own problem is reported already; checking the `${…}` as written would only add noise.
    if (unreadNodes.has(i)) return;
    const key = n.key;
    let baseUrl: string;
    try {
      baseUrl = locationToBaseUrl(n.location);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      fail(['nodes', i, 'location'], err.message);
      return;
    }
    const node: InventoryNode = { name: n.name, location: n.location, baseUrl, key };
    const plain = baseUrl.startsWith('http:');
    if (n.fingerprint !== undefined && n.ca !== undefined) {
      fail(
        ['nodes', i, 'ca'],
        'give either fingerprint (pin the certificate) or ca (verify it against a CA), not both',
      );
      return;
    }
    if (plain && (n.fingerprint !== undefined || n.ca !== undefined)) {
      const field = n.fingerprint !== undefined ? 'fingerprint' : 'ca';
      fail(
        ['nodes', i, field],
        `${field} is for a TLS agent, but the location says http:// (plain, no certificate); write https:// or no scheme`,
      );
      return;
    }
    if (n.fingerprint !== undefined) {
      const given = n.fingerprint;
      const fingerprint = normaliseFingerprint(given);
      if (!fingerprint) {
        fail(
          ['nodes', i, 'fingerprint'],
          `must be SHA256: and 64 hex digits, as \`dokkup agent --fingerprint\` prints it (got ${JSON.stringify(given.length > 80 ? `${given.slice(0, 80)}…` : given)})`,
        );
        return;
      }
      node.fingerprint = fingerprint;
    }
    if (n.ca !== undefined) {
      const ca = path.resolve(path.dirname(file), n.ca);
      const problem = checkCaFile?.(ca);
      if (problem) {
        fail(['nodes', i, 'ca'], problem);
        return;
      }
      node.ca = ca;
    }
    nodes.push(node);
  });

  const groups: Record<string, string[]> = {};
  const groupIndex = new Map<string, number>();
  (inv.groups ?? []).forEach((g, i) => {
    const first = groupIndex.get(g.name);
    if (first !== undefined) {
      fail(
        ['groups', i, 'name'],
        `group "${g.name}" is already defined on line ${lineOf(['groups', first, 'name'])}`,
      );
      return;
    }
    groupIndex.set(g.name, i);
    const members: string[] = [];
    // A set beside the list: groups of 10,000 nodes must not cost n² lookups.
    const seen = new Set<string>();
    g.nodes.forEach((name, j) => {
      if (!nodeIndex.has(name)) {
        const close = closestName(name, [...nodeIndex.keys()]);
        fail(
          ['groups', i, 'nodes', j],
          `unknown node "${name}"${close ? ` (did you mean "${close}"?)` : `; nodes are: ${[...nodeIndex.keys()].join(', ')}`}`,
        );
      } else if (seen.has(name)) {
        fail(['groups', i, 'nodes', j], `node "${name}" is already in group "${g.name}"`);
      } else {
        seen.add(name);
        members.push(name);
      }
    });
    groups[g.name] = members;
  });

  const registries = registriesOf(src, inv.registries, errors);
  if (errors.length > 0) {
    // A value left as written (`${…}`) fails later checks too; its own problem says it all.
    const worth = errors.filter(
      (e) => interpolationErrors.includes(e) || !e.field || !unreadFields.has(e.field),
    );
    throw new InputErrors(sortErrors(worth));
  }
  return { source: file, nodes, groups, ...(registries.length > 0 ? { registries } : {}) };
}

/**
 * A key, fingerprint or CA read from a variable that is empty: the schema says "must not be
 * empty"; name the variable.
 */
function withEmptyValuesNamed<T>(
  fields: readonly InterpolatedField[],
  nodeName: (i: unknown) => string,
  fn: () => T,
): T {
  try {
    return fn();
  } catch (error) {
    if (!(error instanceof InputErrors)) throw error;
    const keys = new Map(
      fields
        .filter((f) => f.path.length === 3 && f.path[0] === 'nodes' && NODE_SECRETS.has(String(f.path[2])))
        .map((f) => [formatFieldPath(f.path), f]),
    );
    throw new InputErrors(
      error.errors.map((e) => {
        const field = e.field ? keys.get(e.field) : undefined;
        if (!field || e.message !== 'must not be empty') return e;
        const names = field.variables.join(', ');
        return new InputError(
          `environment variable ${names} is empty (the ${String(field.path[2])} of node "${nodeName(field.path[1])}" is read from it)`,
          e.position,
          e.field,
        );
      }),
    );
  }
}

export async function loadInventoryFile(
  file: string,
  env: Record<string, string | undefined> = process.env,
): Promise<Inventory> {
  return parseInventoryText(
    await readUserFile(file, { bytes: MAX_INVENTORY_BYTES, noun: 'inventory' }),
    file,
    env,
    caFileChecker(),
  );
}

/** Reads each CA file once: it must hold at least one PEM certificate. */
export function caFileChecker(): CaFileCheck {
  const seen = new Map<string, string | null>();
  return (file) => {
    let problem = seen.get(file);
    if (problem !== undefined) return problem;
    problem = null;
    try {
      const text = readFileSync(file, 'utf8');
      if (!text.includes('-----BEGIN CERTIFICATE-----')) problem = `${file} holds no PEM certificate`;
      else new X509Certificate(text);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problem =
        code === 'ENOENT'
          ? `${file}: no such file`
          : code === 'EACCES' || code === 'EPERM'
            ? `${file}: permission denied`
            : `${file} is not a usable PEM certificate: ${(error as Error).message}`;
    }
    seen.set(file, problem);
    return problem;
  };
}

/**
 * `host:port` (https), `https://host[:port][/prefix]` or `http://…` → `http(s)://host:port[/prefix]`
 * (no trailing slash). No scheme means https (since 0.4): plain HTTP must be written out. A
 * bare host must name its port: agents listen on 8080 by default, and silently guessing 443
 * would point at the wrong service.
 */
export function locationToBaseUrl(location: string): string {
  const s = location.trim();
  const bad = (why: string): never => {
    throw new InputError(
      `${why}: expected host:port (https), https://host:port or http://host:port, got ${JSON.stringify(location)}`,
    );
  };
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(s)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') bad(`unsupported scheme "${scheme}"`);
  if (scheme === undefined && !/^(\[[0-9a-f:.]+\]|[^:/\s[\]]+):\d+$/i.test(s)) bad('not a valid location');
  let url: URL;
  try {
    url = new URL(scheme ? s : `https://${s}`);
  } catch {
    return bad('not a valid location');
  }
  if (!url.hostname) bad('missing host');
  if (url.port === '0') bad('port 0 is not a valid port');
  if (url.username || url.password) bad('must not hold credentials (the key goes in "key")');
  if (url.search || url.hash) bad('must not hold a query or fragment');
  const prefix = url.pathname.replace(/\/+$/, '');
  return `${url.protocol}//${url.host}${prefix}`;
}
