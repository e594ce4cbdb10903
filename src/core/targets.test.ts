import { describe, expect, it } from 'vitest';
import type { Inventory } from '../protocol/inventory.js';
import { InputError } from './errors.js';
import { closestName, editDistance, resolveTargets } from './targets.js';

const node = (name: string) => ({ name, location: `${name}:8080`, baseUrl: `http://${name}:8080`, key: 'k' });
const inventory: Inventory = {
  source: 'inventory.yaml',
  nodes: [node('lab1'), node('lab2'), node('lab3')],
  groups: { labs: ['lab3', 'lab1'], all: ['lab1', 'lab2', 'lab3'], one: ['lab2'] },
};

describe('resolveTargets', () => {
  it('returns a group in the group order', () => {
    expect(resolveTargets(inventory, { kind: 'group', group: 'labs' }).map((n) => n.name)).toEqual([
      'lab3',
      'lab1',
    ]);
  });

  it('returns listed nodes in list order, each once', () => {
    const nodes = resolveTargets(inventory, { kind: 'nodes', nodes: ['lab2', 'lab1', 'lab2'] });
    expect(nodes.map((n) => n.name)).toEqual(['lab2', 'lab1']);
    expect(nodes[0]).toBe(inventory.nodes[1]);
  });

  it('names an unknown group with a hint', () => {
    expect(() => resolveTargets(inventory, { kind: 'group', group: 'lab' })).toThrow(
      'unknown group "lab" in inventory.yaml; did you mean "labs"?',
    );
    try {
      resolveTargets(inventory, { kind: 'group', group: 'zzzzzz' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).field).toBe('group');
      expect((err as InputError).message).toBe(
        'unknown group "zzzzzz" in inventory.yaml; known groups: labs, all, one',
      );
    }
  });

  it('names unknown nodes and the field of the first', () => {
    try {
      resolveTargets(inventory, { kind: 'nodes', nodes: ['lab1', 'lab9', 'db'] });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).field).toBe('nodes[1]');
      expect((err as InputError).message).toBe(
        'job names unknown nodes "lab9", "db" (not in inventory.yaml)',
      );
    }
  });

  it('fails on an inventory group naming a node that does not exist', () => {
    const broken: Inventory = { ...inventory, groups: { g: ['lab1', 'ghost'] } };
    expect(() => resolveTargets(broken, { kind: 'group', group: 'g' })).toThrow(
      'group "g" names unknown node "ghost" (not in inventory.yaml)',
    );
  });
});

describe('closestName', () => {
  it('finds typos, swaps and case slips but not unrelated names', () => {
    expect(closestName('imagee', ['image', 'ports'])).toBe('image');
    expect(closestName('prots', ['image', 'ports'])).toBe('ports');
    expect(closestName('Labs', ['labs'])).toBe('labs');
    expect(closestName('volumes', ['image', 'ports'])).toBeUndefined();
    expect(editDistance('abc', 'acb')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });
});
