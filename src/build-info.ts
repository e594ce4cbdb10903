/**
 * Which dokkup this is, for both apps: `dokkup version` prints
 * `Dokkup v<package version>, build <short commit or dev>`; the agent reports the package
 * version in `/v1/info` and `dokkup agent --version`.
 *
 * The commit comes from `build-info.json` at the package root when a build step wrote one
 * (`{"commit": "fd13a57"}`; release images and CI can), else from `git rev-parse` when the
 * package is a git checkout, else `dev`. Nothing here may throw: a missing or odd file, no git,
 * a slow git — all just give `dev` (or `0.0.0` for the version).
 *
 * A bundle (the single-file `dokkup`, scripts/package.mjs) has no package root: the bundler
 * defines `DOKKUP_BUNDLED_BUILD` with the version and commit it was built from.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

declare const DOKKUP_BUNDLED_BUILD: { version: string; commit: string } | undefined;

/** What the bundler wrote in, when this runs from a bundle. */
function bundledBuild(): { version: string; commit: string } | undefined {
  return typeof DOKKUP_BUNDLED_BUILD === 'undefined' ? undefined : DOKKUP_BUNDLED_BUILD;
}

/** The package root: the nearest parent directory holding dokkup's package.json. */
export function packageRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    try {
      if (existsSync(candidate) && JSON.parse(readFileSync(candidate, 'utf8')).name === 'dokkup') return dir;
    } catch {
      // unreadable or not JSON: keep looking upwards
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function packageVersion(root = packageRoot()): string {
  const bundled = bundledBuild();
  if (bundled) return bundled.version;
  try {
    if (!root) return '0.0.0';
    const version = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version;
    return typeof version === 'string' && version ? version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

const SHORT_COMMIT = /^[0-9a-f]{7,40}$/;

export function buildCommit(root = packageRoot()): string {
  const bundled = bundledBuild();
  if (bundled) return bundled.commit;
  if (!root) return 'dev';
  try {
    const file = path.join(root, 'build-info.json');
    if (existsSync(file)) {
      const commit = JSON.parse(readFileSync(file, 'utf8')).commit;
      if (typeof commit === 'string' && SHORT_COMMIT.test(commit)) return commit.slice(0, 7);
    }
  } catch {
    // fall through to git
  }
  try {
    if (!existsSync(path.join(root, '.git'))) return 'dev';
    const out = execFileSync('git', ['rev-parse', '--short=7', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 2_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return SHORT_COMMIT.test(out) ? out : 'dev';
  } catch {
    return 'dev';
  }
}

export function versionLine(): string {
  const root = packageRoot();
  return `Dokkup v${packageVersion(root)}, build ${buildCommit(root)}`;
}
