/** Which inventory nodes a job's target names. */
import type { Inventory, InventoryNode } from '../protocol/inventory.js';
import type { Target } from '../protocol/job.js';
import { InputError } from './errors.js';

/**
 * The nodes of `target`, in group (or `nodes:` list) order, each once. Throws an
 * `InputError` naming an unknown group, or every unknown node, with a "did you mean" hint.
 */
export function resolveTargets(inventory: Inventory, target: Target): InventoryNode[] {
  const byName = new Map(inventory.nodes.map((n) => [n.name, n]));
  let names: string[];
  if (target.kind === 'group') {
    const members = inventory.groups[target.group];
    if (!members) {
      throw new InputError(
        `unknown group "${target.group}" in ${inventory.source}${nameHint(target.group, Object.keys(inventory.groups), 'groups')}`,
        undefined,
        'group',
      );
    }
    names = members;
  } else {
    names = target.nodes;
  }
  const unknown = names.map((n, i) => [n, i] as const).filter(([n]) => !byName.has(n));
  if (unknown.length > 0) {
    const [first, index] = unknown[0]!;
    const list = unknown.map(([n]) => `"${n}"`).join(', ');
    const where = target.kind === 'group' ? `group "${target.group}" names` : 'job names';
    throw new InputError(
      `${where} unknown node${unknown.length > 1 ? 's' : ''} ${list} (not in ${inventory.source})` +
        (unknown.length === 1 ? nameHint(first, [...byName.keys()], 'nodes') : ''),
      undefined,
      target.kind === 'group' ? 'group' : `nodes[${index}]`,
    );
  }
  return [...new Set(names)].map((n) => byName.get(n)!);
}

/** `; did you mean "web"?` or `; known nodes: a, b` (or `; it defines no nodes`). */
export function nameHint(name: string, known: string[], what: string): string {
  const close = closestName(name, known);
  if (close) return `; did you mean "${close}"?`;
  if (known.length === 0) return `; it defines no ${what}`;
  const shown = known.slice(0, 8).join(', ');
  return `; known ${what}: ${shown}${known.length > 8 ? ', …' : ''}`;
}

/** The candidate within a small edit distance of `name` (typos, case slips), if any. */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  const limit = Math.max(1, Math.min(3, Math.floor(name.length / 3)));
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d <= limit && d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance with adjacent transpositions counted as one edit. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
