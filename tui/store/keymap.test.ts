import { describe, expect, it } from 'vitest';
import { BINDINGS, footerHints, helpSections, keyNameOf, resolveKey } from './keymap.js';
import { fleet, press } from './store.fixture.js';

describe('keymap', () => {
  it('generates the help from every binding and command', () => {
    const text = helpSections()
      .flatMap((s) => s.rows.map((r) => `${r.keys} ${r.label}`))
      .join('\n');
    for (const b of BINDINGS) expect(text).toContain(b.label);
    for (const c of [':nodes', ':jobs', ':containers', ':events', ':q']) expect(text).toContain(c);
  });
  it('gives footer hints for the focused panel', () => {
    const s = fleet();
    const nodes = footerHints(s).map((h) => h.label);
    expect(nodes).toContain('containers of node');
    expect(nodes).toContain('deploy');
    const logs = footerHints(press(press(s, '3'), 'l')).map((h) => h.label);
    expect(logs).toContain('follow (resume)');
    expect(logs).toContain('search');
    expect(logs).not.toContain('filter (regex, !inverse)');
  });
  it('resolves the same key differently by context', () => {
    const s = fleet();
    expect(resolveKey(s, '/')?.command).toBe('filter.open');
    expect(resolveKey(press(s, '3', 'l'), '/')?.command).toBe('logs.search');
    expect(resolveKey(s, 'enter')?.command).toBe('drill');
  });
});

describe('raw keys', () => {
  it('names keys the way the keymap spells them', () => {
    expect(keyNameOf('\r', { name: 'return' })).toBeNull();
    expect(keyNameOf(undefined, { name: 'enter' })).toBe('enter');
    expect(keyNameOf('R', { name: 'r', shift: true, full: 'S-r' })).toBe('R');
    expect(keyNameOf('\t', { name: 'tab', shift: true })).toBe('S-tab');
    expect(keyNameOf(undefined, { name: 'c', ctrl: true })).toBe('C-c');
    expect(keyNameOf(' ', { name: 'space' })).toBe('space');
    expect(keyNameOf(':', { name: undefined })).toBe(':');
    expect(keyNameOf('\x1b', { name: 'escape' })).toBe('escape');
  });
});
