/** Job files: YAML text → validated, normalised `JobSpec` (+ its version). */
import { readFileSync } from 'node:fs';
import { InputError, InputErrors } from '../core/errors.js';
import { normalizeJob } from '../core/spec.js';
import { nameHint, resolveTargets } from '../core/targets.js';
import { specVersion } from '../core/version.js';
import type { Inventory, InventoryNode } from '../protocol/inventory.js';
import { JobFileSchema, type JobSpec } from '../protocol/job.js';
import { readUserFile } from './read-file.js';
import {
  type FileKind,
  parseYamlSource,
  positionOf,
  sortErrors,
  validateSource,
  withPositions,
} from './yaml-source.js';

const JOB: FileKind = { noun: 'job file', article: 'a', expects: 'name, group and container' };

/** Parses and normalises a job file's text; throws `InputErrors` with `file:line:col` for every problem. */
export function parseJobText(text: string, file: string): JobSpec {
  const src = parseYamlSource(text, file, JOB);
  const jobFile = validateSource(src, JobFileSchema, normalizeJob);
  return withPositions(src, () => normalizeJob(jobFile));
}

export interface LoadedJob {
  spec: JobSpec;
  /** 7-hex version (see `src/core/version.ts`). */
  version: string;
  /** The path as given. */
  file: string;
}

export async function loadJobFile(path: string): Promise<LoadedJob> {
  const text = await readUserFile(path);
  const spec = parseJobText(text, path);
  return { spec, version: specVersion(spec), file: path };
}

/**
 * The inventory nodes the job targets. Throws `InputErrors` for an unknown group or node,
 * positioned in the job file (its text is re-read from `jobFile` when not given).
 */
export function checkJobAgainstInventory(
  spec: JobSpec,
  inventory: Inventory,
  jobFile: string,
  jobText?: string,
): InventoryNode[] {
  const known = new Set(inventory.nodes.map((n) => n.name));
  const problems: { field: (string | number)[]; message: string }[] = [];
  const target = spec.target;
  if (target.kind === 'group') {
    if (!inventory.groups[target.group]) {
      problems.push({
        field: ['group'],
        message: `unknown group "${target.group}" (not in ${inventory.source})${nameHint(target.group, Object.keys(inventory.groups), 'groups')}`,
      });
    }
  } else {
    target.nodes.forEach((name, i) => {
      if (!known.has(name)) {
        problems.push({
          field: ['nodes', i],
          message: `unknown node "${name}" (not in ${inventory.source})${nameHint(name, [...known], 'nodes')}`,
        });
      }
    });
  }
  if (problems.length === 0) return resolveTargets(inventory, target);

  let src: ReturnType<typeof parseYamlSource> | undefined;
  try {
    src = parseYamlSource(jobText ?? readFileSync(jobFile, 'utf8'), jobFile, JOB);
  } catch {
    src = undefined;
  }
  // `node: x` is stored as `nodes: [x]`; point at what the user actually wrote.
  const data = src?.data as Record<string, unknown> | undefined;
  const errors = problems.map(({ field, message }) => {
    const path = field[0] === 'nodes' && data && 'node' in data ? ['node'] : field;
    const fieldName = path.length === 2 ? `${path[0]}[${path[1]}]` : String(path[0]);
    return new InputError(message, src ? positionOf(src, path) : undefined, fieldName);
  });
  throw new InputErrors(sortErrors(errors));
}
