/** Inventory files: YAML text → validated `Inventory` (keys read, locations made base URLs). */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InputError, InputErrors } from '../core/errors.js';
import type { FieldPath } from '../core/spec.js';
import { formatFieldPath } from '../core/spec.js';
import { closestName } from '../core/targets.js';
import { normaliseFingerprint } from '../core/trust.js';
import { type Inventory, InventoryFileSchema, type InventoryNode } from '../protocol/inventory.js';
import { MAX_INVENTORY_BYTES, readUserFile } from './read-file.js';
import { type FileKind, parseYamlSource, positionOf, sortErrors, validateSource } from './yaml-source.js';

const INVENTORY: FileKind = { noun: 'inventory', article: 'an', expects: 'nodes and groups' };
const ENV_REFERENCE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

/** Checks a CA file named by an inventory; returns what is wrong with it, or null. */
export type CaFileCheck = (absolutePath: string) => string | null;

/**
 * Parses an inventory. `key: ${NAME}` and `fingerprint: ${NAME}` (the whole value) are read
 * from `env`; `ca` paths are relative to the inventory file (and checked with `checkCaFile`).
 * Throws `InputErrors` with `file:line:col` for every problem found.
 */
export function parseInventoryText(
  text: string,
  file: string,
  env: Record<string, string | undefined> = process.env,
  checkCaFile?: CaFileCheck,
): Inventory {
  const src = parseYamlSource(text, file, INVENTORY);
  const inv = validateSource(src, InventoryFileSchema);
  const errors: InputError[] = [];
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
    /** The value, or the environment variable it names as `${NAME}`; undefined after a reported error. */
    const resolved = (field: 'key' | 'fingerprint', value: string): string | undefined => {
      const ref = ENV_REFERENCE.exec(value);
      if (ref) {
        const fromEnv = env[ref[1]!];
        if (fromEnv === undefined || fromEnv === '') {
          fail(
            ['nodes', i, field],
            `environment variable ${ref[1]} is not set (the ${field} of node "${n.name}" is read from it)`,
          );
          return undefined;
        }
        return fromEnv;
      }
      if (value.includes('${')) {
        fail(
          ['nodes', i, field],
          `to read the ${field} from the environment, write the whole value as \${NAME}`,
        );
        return undefined;
      }
      return value;
    };
    const key = resolved('key', n.key);
    if (key === undefined) return;
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
      const given = resolved('fingerprint', n.fingerprint);
      if (given === undefined) return;
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

  if (errors.length > 0) throw new InputErrors(sortErrors(errors));
  return { source: file, nodes, groups };
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
