/** Inventory files: YAML text → validated `Inventory` (keys read, locations made base URLs). */
import { InputError, InputErrors } from '../core/errors.js';
import type { FieldPath } from '../core/spec.js';
import { formatFieldPath } from '../core/spec.js';
import { closestName } from '../core/targets.js';
import { type Inventory, InventoryFileSchema, type InventoryNode } from '../protocol/inventory.js';
import { type InterpolatedField, interpolateSource, withMaskedValues } from './interpolate.js';
import { readUserFile } from './read-file.js';
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

/**
 * Parses an inventory. Values are interpolated from `env` like a job file's (`key: ${NAME}`,
 * `password: ${REGISTRY_TOKEN}`). Throws `InputErrors` with `file:line:col` for every problem
 * found.
 */
export function parseInventoryText(
  text: string,
  file: string,
  env: Record<string, string | undefined> = process.env,
): Inventory {
  const src = parseYamlSource(text, file, INVENTORY);
  const nodeName = (i: unknown) => {
    const nodes = (src.data as { nodes?: unknown }).nodes;
    const name = Array.isArray(nodes)
      ? (nodes[Number(i)] as { name?: unknown } | undefined)?.name
      : undefined;
    return typeof name === 'string' ? name : `#${Number(i) + 1}`;
  };
  const fields = interpolateSource(src, (name) => env[name], {
    describeMissing: (p, variable) =>
      p.length === 3 && p[0] === 'nodes' && p[2] === 'key'
        ? `environment variable ${variable} is not set (the key of node "${nodeName(p[1])}" is read from it)`
        : undefined,
  });
  const inv = withMaskedValues(
    fields,
    (p) => valueAt(src.data, p),
    () => withEmptyKeysNamed(fields, nodeName, () => validateSource(src, InventoryFileSchema)),
  );
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
    const key = n.key;
    let baseUrl: string;
    try {
      baseUrl = locationToBaseUrl(n.location);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      fail(['nodes', i, 'location'], err.message);
      return;
    }
    nodes.push({ name: n.name, location: n.location, baseUrl, key });
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
  if (errors.length > 0) throw new InputErrors(sortErrors(errors));
  return { source: file, nodes, groups, ...(registries.length > 0 ? { registries } : {}) };
}

/** A key read from a variable that is empty: the schema says "must not be empty"; name the variable. */
function withEmptyKeysNamed<T>(
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
        .filter((f) => f.path.length === 3 && f.path[0] === 'nodes' && f.path[2] === 'key')
        .map((f) => [formatFieldPath(f.path), f]),
    );
    throw new InputErrors(
      error.errors.map((e) => {
        const field = e.field ? keys.get(e.field) : undefined;
        if (!field || e.message !== 'must not be empty') return e;
        const names = field.variables.join(', ');
        return new InputError(
          `environment variable ${names} is empty (the key of node "${nodeName(field.path[1])}" is read from it)`,
          e.position,
          e.field,
        );
      }),
    );
  }
}

export async function loadInventoryFile(
  path: string,
  env: Record<string, string | undefined> = process.env,
): Promise<Inventory> {
  return parseInventoryText(await readUserFile(path), path, env);
}

/**
 * `host:port`, `http://host[:port][/prefix]` or `https://…` → `http(s)://host:port[/prefix]`
 * (no trailing slash). A bare host must name its port: agents listen on 8080 by default, and
 * silently guessing 80 would point at the wrong service.
 */
export function locationToBaseUrl(location: string): string {
  const s = location.trim();
  const bad = (why: string): never => {
    throw new InputError(
      `${why}: expected host:port, http://host:port or https://host:port, got ${JSON.stringify(location)}`,
    );
  };
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(s)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') bad(`unsupported scheme "${scheme}"`);
  if (scheme === undefined && !/^(\[[0-9a-f:.]+\]|[^:/\s[\]]+):\d+$/i.test(s)) bad('not a valid location');
  let url: URL;
  try {
    url = new URL(scheme ? s : `http://${s}`);
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
