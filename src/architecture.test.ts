/**
 * The layout of DESIGN.md, enforced: every product file's imports (static, `export … from`,
 * dynamic `import()` and `import('…')` types) are read with the TypeScript parser and checked
 * against the dependency rules. A failure names the file, the import and the rule it breaks.
 *
 *   src/protocol (zod only) ← src/core (pure) ← src/config, src/client ← apps: agent/, src/cli, tui/
 *
 * One library, one adapter: dockerode in agent/docker, ws in the feeds adapters, blessed in
 * tui/views. The CLI binary is the one composition root that starts the apps, through the few
 * lazy edges listed by name below. Test doubles live in tests, `*.fixture.ts` files or test/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PRODUCT_FOLDERS = ['src', 'agent', 'tui'];

/** `import()` edges from the CLI to an app: the binary's composition root, started on demand. */
const LAZY_APP_EDGES: readonly { from: string; to: string }[] = [
  { from: 'src/cli/commands/agent.ts', to: 'agent/main.ts' },
  { from: 'src/cli/commands/tui.ts', to: 'tui/app.ts' },
  { from: 'src/cli/commands/tui.ts', to: 'agent/embedded.ts' },
];

/** The node built-ins the pure core may use (hashing, POSIX path arithmetic): no I/O among them. */
const CORE_BUILTINS = ['node:crypto', 'node:path'];

/** The only files that may import `ws`: the two ends of the live feeds. */
const WS_ADAPTERS = ['src/client/feeds/session.ts', 'agent/feeds/attach.ts', 'agent/feeds/session.ts'];

interface Import {
  /** As written: `../core/spec.js`, `zod`, `node:path`. */
  specifier: string;
  /** Repository path of a relative import (`src/core/spec.ts`); null for a package. */
  target: string | null;
  /** `node:fs`, `zod`, `blessed-contrib`, `@types/x`; null for a relative import. */
  packageName: string | null;
  dynamic: boolean;
  typeOnly: boolean;
}

interface SourceFile {
  /** Repository path, `/`-separated. */
  path: string;
  text: string;
}

function importsOf(file: SourceFile): Import[] {
  const source = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, true);
  const found: Import[] = [];
  const add = (specifier: string, dynamic: boolean, typeOnly: boolean) => {
    const relative = specifier.startsWith('.');
    const target = relative
      ? path.posix
          .normalize(path.posix.join(path.posix.dirname(file.path), specifier))
          .replace(/\.js$/, '.ts')
      : null;
    const packageName = relative
      ? null
      : specifier.startsWith('@')
        ? specifier.split('/').slice(0, 2).join('/')
        : (specifier.split('/')[0] as string);
    found.push({ specifier, target, packageName, dynamic, typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly =
        !!clause &&
        (clause.isTypeOnly ||
          (!clause.name &&
            !!clause.namedBindings &&
            ts.isNamedImports(clause.namedBindings) &&
            clause.namedBindings.elements.length > 0 &&
            clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier.text, false, typeOnly);
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      add(node.moduleSpecifier.text, false, node.isTypeOnly);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      add(node.arguments[0].text, true, false);
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      add(node.argument.literal.text, false, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Uses of the clock, timers, randomness or the process, which the pure core must be given. */
function impureUsesOf(file: SourceFile): string[] {
  const source = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, true);
  const uses: string[] = [];
  const globals = new Set(['process', 'setTimeout', 'setInterval', 'setImmediate', 'performance']);
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && globals.has(node.text)) {
      const parent = node.parent;
      // `x.process` or `{ process: … }` is a name, not the global.
      const isMember = ts.isPropertyAccessExpression(parent) && parent.name === node;
      const isKey = ts.isPropertyAssignment(parent) && parent.name === node;
      if (!isMember && !isKey) uses.push(node.text);
    }
    if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) {
      const name = `${node.expression.text}.${node.name.text}`;
      if (name === 'Date.now' || name === 'Math.random') uses.push(name);
    }
    if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'Date') {
      if (!node.arguments || node.arguments.length === 0) uses.push('new Date()');
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return uses;
}

const under = (folder: string) => (p: string | null) => p?.startsWith(`${folder}/`) ?? false;
const inProtocol = under('src/protocol');
const inCore = under('src/core');
const inKernel = (p: string | null) =>
  inProtocol(p) || inCore(p) || under('src/config')(p) || under('src/client')(p);
const inCli = under('src/cli');
const inAgent = under('agent');
const inTui = under('tui');
const inApp = (p: string | null) => inAgent(p) || inCli(p) || inTui(p);
const isTestCode = (p: string) => /\.(test|fixture)\.ts$/.test(p) || p.startsWith('test/');

interface Rule {
  name: string;
  /** True when `imp` in `file` breaks the rule. */
  breaks(file: string, imp: Import): boolean;
}

const RULES: Rule[] = [
  {
    name: 'src/protocol depends on zod only',
    breaks: (file, imp) =>
      inProtocol(file) && (imp.target ? !inProtocol(imp.target) : imp.packageName !== 'zod'),
  },
  {
    name: `src/core depends on src/protocol only (and ${CORE_BUILTINS.join(', ')})`,
    breaks: (file, imp) =>
      inCore(file) &&
      (imp.target ? !inCore(imp.target) && !inProtocol(imp.target) : !CORE_BUILTINS.includes(imp.specifier)),
  },
  {
    name: 'the kernel (src/protocol, src/core, src/config, src/client) never imports an app',
    breaks: (file, imp) => inKernel(file) && inApp(imp.target),
  },
  {
    name: 'agent/ never imports src/cli, src/client or tui/',
    breaks: (file, imp) =>
      inAgent(file) && (inCli(imp.target) || under('src/client')(imp.target) || inTui(imp.target)),
  },
  {
    name: 'tui/ never imports agent/ or src/cli',
    breaks: (file, imp) => inTui(file) && (inAgent(imp.target) || inCli(imp.target)),
  },
  {
    name: 'src/cli reaches an app only through the listed lazy import() edges',
    breaks: (file, imp) =>
      inCli(file) &&
      (inAgent(imp.target) || inTui(imp.target)) &&
      !(imp.dynamic && LAZY_APP_EDGES.some((edge) => edge.from === file && edge.to === imp.target)),
  },
  {
    name: 'dockerode only in agent/docker',
    breaks: (file, imp) => imp.packageName === 'dockerode' && !under('agent/docker')(file),
  },
  {
    name: `ws only in the feeds adapters (${WS_ADAPTERS.join(', ')})`,
    breaks: (file, imp) => imp.packageName === 'ws' && !WS_ADAPTERS.includes(file),
  },
  {
    name: 'blessed and blessed-contrib only in tui/views',
    breaks: (file, imp) =>
      (imp.packageName === 'blessed' || imp.packageName === 'blessed-contrib') && !under('tui/views')(file),
  },
  {
    name: 'product code never imports tests, fixtures or test/',
    breaks: (_file, imp) => imp.target !== null && isTestCode(imp.target),
  },
];

/** A product file's name that says it is a test double. */
const TEST_DOUBLE_NAME = /(^|[-_./])(fakes?|mocks?|stubs?|fixtures?|memory-runtime)([-_.]|$)/i;

/** Every broken rule in `files`, one line each: `file: import "x" → rule`. */
function violations(files: readonly SourceFile[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    for (const imp of importsOf(file)) {
      for (const rule of RULES) {
        if (!rule.breaks(file.path, imp)) continue;
        const kind = imp.dynamic ? 'import()' : imp.typeOnly ? 'import type' : 'import';
        found.push(`${file.path}: ${kind} "${imp.specifier}" breaks "${rule.name}"`);
      }
    }
    if (inCore(file.path)) {
      for (const use of new Set(impureUsesOf(file))) {
        found.push(`${file.path}: uses ${use} breaks "src/core has no clock, timers, randomness or process"`);
      }
    }
    if (!isTestCode(file.path) && TEST_DOUBLE_NAME.test(path.posix.basename(file.path))) {
      found.push(
        `${file.path}: a test double in a product folder breaks "doubles live in *.fixture.ts, tests or test/"`,
      );
    }
  }
  return found;
}

function productFiles(): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(rel);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && !isTestCode(rel)) {
        files.push({ path: rel, text: readFileSync(path.join(ROOT, rel), 'utf8') });
      }
    }
  };
  for (const folder of PRODUCT_FOLDERS) walk(folder);
  return files;
}

describe('architecture (DESIGN.md)', () => {
  const files = productFiles();

  it('reads the product files of every layer', () => {
    const layers = ['src/protocol', 'src/core', 'src/config', 'src/client', 'src/cli', 'agent', 'tui'];
    for (const layer of layers)
      expect(
        files.some((f) => under(layer)(f.path)),
        layer,
      ).toBe(true);
    expect(files.some((f) => isTestCode(f.path))).toBe(false);
  });

  it('every import follows the dependency rules, and no test double ships', () => {
    expect(violations(files)).toEqual([]);
  });

  it('lists only lazy edges that exist, as import() in the file named', () => {
    for (const edge of LAZY_APP_EDGES) {
      const file = files.find((f) => f.path === edge.from);
      expect(file, edge.from).toBeDefined();
      const imported = importsOf(file as SourceFile).filter((i) => i.target === edge.to);
      expect(imported.length, `${edge.from} → ${edge.to}`).toBeGreaterThan(0);
      expect(imported.every((i) => i.dynamic)).toBe(true);
    }
    for (const adapter of WS_ADAPTERS) {
      const file = files.find((f) => f.path === adapter);
      expect(file && importsOf(file).some((i) => i.packageName === 'ws'), adapter).toBe(true);
    }
  });
});

describe('the rules catch what they forbid', () => {
  const check = (filePath: string, text: string) => violations([{ path: filePath, text }]);

  it('names the file, the import and the rule', () => {
    expect(check('agent/feeds/x.ts', "import { runCli } from '../../src/cli/main.js';")).toEqual([
      'agent/feeds/x.ts: import "../../src/cli/main.js" breaks "agent/ never imports src/cli, src/client or tui/"',
    ]);
  });

  it.each([
    ['src/protocol/x.ts', "import { version } from '../core/version.js';", 'zod only'],
    ['src/protocol/x.ts', "import { readFile } from 'node:fs';", 'zod only'],
    ['src/core/x.ts', "import { z } from 'zod';", 'src/core depends on src/protocol only'],
    ['src/core/x.ts', "import type { z } from 'zod';", 'src/core depends on src/protocol only'],
    ['src/core/x.ts', "import { readFileSync } from 'node:fs';", 'src/core depends on src/protocol only'],
    [
      'src/core/x.ts',
      "import { parseJobText } from '../config/job.js';",
      'src/core depends on src/protocol only',
    ],
    ['src/client/x.ts', "const m = await import('../../agent/main.js');", 'never imports an app'],
    ['src/config/x.ts', "export { reduce } from '../../tui/store/reducer.js';", 'never imports an app'],
    [
      'agent/x.ts',
      "import type { FeedSession } from '../src/client/feed-session.js';",
      'agent/ never imports',
    ],
    ['agent/x.ts', "type T = import('../tui/store/state.js').State;", 'agent/ never imports'],
    ['tui/x.ts', "import { createAgent } from '../agent/app.js';", 'tui/ never imports agent/'],
    [
      'tui/controllers/x.ts',
      "import { runOperation } from '../../src/cli/operation.js';",
      'tui/ never imports',
    ],
    [
      'src/cli/commands/agent.ts',
      "import { runAgent } from '../../../agent/main.js';",
      'lazy import() edges',
    ],
    ['src/cli/bin.ts', "await import('../../agent/main.js');", 'lazy import() edges'],
    ['src/cli/commands/logs.ts', "await import('../../../tui/app.js');", 'lazy import() edges'],
    ['agent/jobs/x.ts', "import Docker from 'dockerode';", 'dockerode only'],
    ['src/client/x.ts', "import WebSocket from 'ws';", 'ws only'],
    ['tui/store/x.ts', "import blessed from 'blessed';", 'blessed'],
    ['tui/controllers/x.ts', "import contrib from 'blessed-contrib';", 'blessed'],
    [
      'agent/x.ts',
      "import { MemoryFeedRuntime } from './feeds/memory-runtime.fixture.js';",
      'never imports tests',
    ],
    ['src/cli/x.ts', "import { startEngine } from '../../test/harness/engines.js';", 'never imports tests'],
    ['src/core/x.ts', 'export const now = () => Date.now();', 'no clock'],
    ['src/core/x.ts', 'export const later = (f: () => void) => setTimeout(f, 1);', 'no clock'],
    ['src/core/x.ts', 'export const env = process.env.HOME;', 'no clock'],
    ['src/core/x.ts', 'export const today = new Date();', 'no clock'],
    ['agent/docker/fake-runtime.ts', 'export {};', 'test double'],
    ['tui/store/fixtures.ts', 'export {};', 'test double'],
    ['agent/feeds/memory-runtime.ts', 'export {};', 'test double'],
  ])('%s: %s', (file, text, rule) => {
    const found = check(file, text);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(rule);
  });

  it.each([
    ['src/protocol/x.ts', "import { z } from 'zod';\nimport { JobSpecSchema } from './job.js';"],
    [
      'src/core/x.ts',
      "import { createHash } from 'node:crypto';\nimport type { JobSpec } from '../protocol/job.js';",
    ],
    ['src/core/x.ts', 'export const at = (ms: number) => new Date(ms).toISOString();'],
    ['src/cli/commands/agent.ts', "const { runAgent } = await import('../../../agent/main.js');"],
    ['agent/docker/connect.ts', "import Docker from 'dockerode';"],
    ['agent/feeds/session.ts', "import type { WebSocket } from 'ws';"],
    ['tui/views/screen.ts', "import blessed from 'blessed';\nimport { reduce } from '../store/reducer.js';"],
    ['agent/feeds/memory-runtime.fixture.ts', 'export {};'],
    ['src/client/feeds/format.ts', 'export {};'],
  ])('allows %s: %s', (file, text) => {
    expect(check(file, text)).toEqual([]);
  });
});
