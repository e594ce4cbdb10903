#!/usr/bin/env node
/**
 * `npm run package`: the single-file `dokkup` (CLI, TUI and agent in one executable, no
 * checkout, no node_modules), built with Node's single executable applications:
 *
 *  1. esbuild bundles src/cli/single-file.ts and every dependency into one CommonJS script,
 *     build/bundle/dokkup.cjs, beside the inventory worker and blessed's terminfo files. That
 *     folder alone runs dokkup on any Node 22+ (`node build/bundle/dokkup.cjs`): the agent image
 *     is it on a Node base image (`--bundle-only` stops here; `npm run bundle`);
 *  2. `node --experimental-sea-config` turns the bundle (and its files, as assets) into a blob;
 *  3. postject injects the blob into a copy of the Node binary running this script (Node 24:
 *     npm scripts run on node_modules/.bin/node, see package.json), stripped of debug symbols.
 *
 * What needed care, and how each is handled:
 *  - blessed loads its widgets with `require('./widgets/' + name)`: rewritten to static
 *    requires. It reads the terminal's terminfo from the system and, failing that, from its own
 *    `usr/` folder: those files are copied beside the bundle, and in the single file travel as
 *    SEA assets written to a cache folder the first time they are needed.
 *  - blessed-contrib's index requires every widget (maps, pictures, markdown…): the TUI uses
 *    `line` only, so the bundle gets an index with just that.
 *  - dockerode's BuildKit session and progress decoder (gRPC, .proto files read at run time)
 *    serve `docker build`, which dokkup never calls: replaced by a module that says so.
 *  - ssh2's optional native parts (cpu-features, sshcrypto.node) are left out: ssh2 falls back
 *    to JavaScript, as it does wherever they failed to build.
 *  - pino-pretty runs in-process (agent/logger.ts uses it as a stream, not a transport), so no
 *    worker thread has to find a file.
 *  - `import.meta.url` (a CommonJS bundle has none) is the bundle's file URL (the executable's
 *    in the single file); the version and commit are written in (`DOKKUP_BUNDLED_BUILD`,
 *    src/build-info.ts; the commit from git, or DOKKUP_COMMIT where there is no checkout).
 *  - The large-inventory worker (src/cli/inventory-worker.ts) is bundled too, beside the bundle
 *    and in the single file as an asset (started with `eval`), so big inventories keep their
 *    lower peak memory.
 *
 * Output: build/bundle/ and build/dokkup (build/sea/ holds the blob). Options: `--bundle-only`,
 * `--no-strip`.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'build');
const bundleDir = path.join(out, 'bundle');
const seaDir = path.join(out, 'sea');
const bundleOnly = process.argv.includes('--bundle-only');
const executable = path.join(out, 'dokkup');
const SENTINEL = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24 && !bundleOnly) {
  console.error(
    `npm run package needs Node 24 (this is ${process.version}); run it through npm on Linux x64`,
  );
  process.exit(1);
}

const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
let commit = process.env.DOKKUP_COMMIT || 'dev';
try {
  commit = execFileSync('git', ['rev-parse', '--short=7', 'HEAD'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
} catch {
  // not a checkout (e.g. a Docker build context): DOKKUP_COMMIT or `dev`, as src/build-info.ts says
}
if (!/^([0-9a-f]{7,40}|dev)$/.test(commit)) commit = 'dev';

// A bundle-only run leaves an earlier single file alone.
for (const made of bundleOnly ? [bundleDir] : [bundleDir, seaDir, executable])
  rmSync(made, { recursive: true, force: true });
mkdirSync(bundleDir, { recursive: true });

/** Bundle-time replacements of dependency code, each explained in the header. */
const singleFilePlugin = {
  name: 'dokkup-single-file',
  setup(b) {
    b.onLoad({ filter: /[\\/]blessed[\\/]lib[\\/]widget\.js$/ }, async (args) => {
      const source = readFileSync(args.path, 'utf8');
      const names = [...source.matchAll(/^ {2}'([A-Za-z]+)',?$/gm)].map((m) => m[1]);
      const statics = names.map(
        (n) => `  ${JSON.stringify(n.toLowerCase())}: require('./widgets/${n.toLowerCase()}'),`,
      );
      const rewritten = source.replace(
        "widget[name] = widget[file] = require('./widgets/' + file);",
        'widget[name] = widget[file] = __widgets[file];',
      );
      if (rewritten === source) throw new Error('blessed/lib/widget.js changed: update scripts/package.mjs');
      return { contents: `var __widgets = {\n${statics.join('\n')}\n};\n${rewritten}`, loader: 'js' };
    });
    b.onLoad({ filter: /[\\/]blessed[\\/]lib[\\/]tput\.js$/ }, async (args) => {
      const source = readFileSync(args.path, 'utf8');
      const rewritten = source.replaceAll("__dirname + '/../usr/", "__dokkupBlessedUsr() + '/");
      if (rewritten === source) throw new Error('blessed/lib/tput.js changed: update scripts/package.mjs');
      return { contents: rewritten, loader: 'js' };
    });
    b.onResolve({ filter: /^blessed-contrib$/ }, () => ({
      path: 'blessed-contrib',
      namespace: 'dokkup-contrib',
    }));
    b.onLoad({ filter: /.*/, namespace: 'dokkup-contrib' }, () => ({
      contents: "module.exports = { line: require('blessed-contrib/lib/widget/charts/line') };",
      loader: 'js',
      resolveDir: root,
    }));
    b.onResolve({ filter: /^\.\/(session|buildkit)$/ }, (args) =>
      /[\\/]dockerode[\\/]lib$/.test(args.resolveDir)
        ? { path: args.path, namespace: 'dokkup-no-build' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'dokkup-no-build' }, () => ({
      contents:
        "const refuse = () => { throw new Error('docker build is not part of the single-file dokkup'); };\n" +
        'module.exports = refuse; module.exports.followProgress = refuse; module.exports.decodeBuildKitStatus = refuse;',
      loader: 'js',
    }));
  },
};

/** Defines and helpers every bundle gets (CommonJS has no import.meta; the SEA asset cache). */
const banner = `var __dokkupSea = require('node:sea').isSea();
var __dokkupImportMeta = { url: require('node:url').pathToFileURL(__dokkupSea ? process.execPath : __filename).href };
function __dokkupBlessedUsr() {
  const fs = require('node:fs'), os = require('node:os'), path = require('node:path'), sea = require('node:sea');
  if (!__dokkupSea) return path.join(__dirname, 'blessed-usr');
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  const dir = path.join(base, 'dokkup', ${JSON.stringify(`${pkg.version}-${commit}`)}, 'blessed-usr');
  if (!fs.existsSync(path.join(dir, 'xterm'))) {
    fs.mkdirSync(dir, { recursive: true });
    for (const key of sea.getAssetKeys().filter((k) => k.startsWith('blessed/usr/'))) {
      fs.writeFileSync(path.join(dir, key.slice('blessed/usr/'.length)), new Uint8Array(sea.getAsset(key)));
    }
  }
  return dir;
}`;

const common = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  // Readable stack traces in the agent's logs matter more than a few MiB.
  minify: false,
  keepNames: true,
  legalComments: 'none',
  logLevel: 'warning',
  banner: { js: banner },
  define: {
    'import.meta': '__dokkupImportMeta',
    DOKKUP_BUNDLED_BUILD: JSON.stringify({ version: pkg.version, commit }),
  },
  external: ['cpu-features', '*.node', 'pty.js', 'term.js'],
  plugins: [singleFilePlugin],
};

const bundle = path.join(bundleDir, 'dokkup.cjs');
const worker = path.join(bundleDir, 'inventory-worker.js');
await build({ ...common, entryPoints: [path.join(root, 'src/cli/single-file.ts')], outfile: bundle });
await build({
  ...common,
  banner: { js: '' },
  entryPoints: [path.join(root, 'src/cli/inventory-worker.ts')],
  outfile: worker,
});
// The worker is loaded by its `.js` name: say that this folder's `.js` files are CommonJS.
writeFileSync(path.join(bundleDir, 'package.json'), '{ "type": "commonjs", "private": true }\n');
const usr = path.join(root, 'node_modules/blessed/usr');
const assets = { 'inventory-worker.js': worker };
mkdirSync(path.join(bundleDir, 'blessed-usr'));
for (const name of readdirSync(usr)) {
  if (!statSync(path.join(usr, name)).isFile()) continue;
  copyFileSync(path.join(usr, name), path.join(bundleDir, 'blessed-usr', name));
  assets[`blessed/usr/${name}`] = path.join(usr, name);
}
const size = (file) => `${(statSync(file).size / 1024 / 1024).toFixed(1)} MiB`;
if (bundleOnly) {
  console.log(`build/bundle/dokkup.cjs: ${size(bundle)} (dokkup ${pkg.version}, build ${commit})`);
  process.exit(0);
}

/** The flags after `node` on src/cli/bin.ts's `#!/usr/bin/env -S node …` line. */
function nodeFlagsOfCli() {
  const first = readFileSync(path.join(root, 'src', 'cli', 'bin.ts'), 'utf8').split('\n', 1)[0];
  const match = /^#!\/usr\/bin\/env(?: -S)? node((?: --?\S+)*)$/.exec(first);
  if (!match) throw new Error(`src/cli/bin.ts: unexpected first line ${first}`);
  return match[1].split(' ').filter(Boolean);
}

mkdirSync(seaDir, { recursive: true });
const config = path.join(seaDir, 'sea-config.json');
const blob = path.join(seaDir, 'sea-prep.blob');
writeFileSync(
  config,
  JSON.stringify(
    {
      main: bundle,
      output: blob,
      disableExperimentalSEAWarning: true,
      useCodeCache: true,
      // The Node flags of the executable's first line (src/cli/bin.ts), as its launchers give them.
      execArgv: nodeFlagsOfCli(),
      assets,
    },
    null,
    2,
  ),
);
execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: 'inherit' });

copyFileSync(process.execPath, executable);
chmodSync(executable, 0o755);
if (!process.argv.includes('--no-strip')) {
  try {
    execFileSync('strip', ['--strip-debug', executable]);
  } catch {
    console.warn('strip not found: the executable keeps its debug symbols');
  }
}
const { inject } = await import('postject');
await inject(executable, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SENTINEL });

console.log(
  `build/dokkup: ${size(executable)} (Node ${process.versions.node}, dokkup ${pkg.version}, build ${commit})`,
);
