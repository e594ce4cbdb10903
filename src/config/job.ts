/** Job files: YAML text → interpolated, validated, normalised `JobSpec` (+ its version). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDotenv } from '../core/dotenv.js';
import { InputError, InputErrors } from '../core/errors.js';
import type { VariableLookup } from '../core/interpolation.js';
import type { FieldPath } from '../core/spec.js';
import { normalizeJob } from '../core/spec.js';
import { nameHint, resolveTargets } from '../core/targets.js';
import { specVersion } from '../core/version.js';
import type { Inventory, InventoryNode } from '../protocol/inventory.js';
import { JobFileSchema, type JobSpec, MASKABLE_FIELDS, type MaskableField } from '../protocol/job.js';
import type { RegistryAuth } from '../protocol/registry.js';
import { type InterpolatedField, interpolateSource, withMaskedValues } from './interpolate.js';
import { readEnvFileSync, readUserFile } from './read-file.js';
import { registriesOf } from './registries.js';
import {
  type FileKind,
  parseYamlSource,
  positionOf,
  sortErrors,
  validateSource,
  valueAt,
  withPositions,
  type YamlSource,
} from './yaml-source.js';

const JOB: FileKind = { noun: 'job file', article: 'a', expects: 'name, group and container' };

/** The operator's environment, as `process.env`. */
export type Environment = Record<string, string | undefined>;

export interface ParsedJob {
  spec: JobSpec;
  /** The job file's `registries:` (interpolated, servers normalised). */
  registries: RegistryAuth[];
  /** The variables the file refers to, in order of first use. */
  variables: string[];
}

export interface JobVariablesOptions {
  /**
   * `required` (default): an unset variable is an error. `lenient`: it reads as empty, for the
   * commands that only use the job's name and targets (show, history, stop, logs…), so they work
   * without the job's secrets in the environment. Never for a deploy.
   */
  variables?: 'required' | 'lenient';
}

/**
 * Parses, interpolates and normalises a job file's text; throws `InputErrors` with
 * `file:line:col` for every problem. `${VAR}` reads `env` first, then the `env_file:`s (paths
 * relative to `file`).
 */
export function parseJob(
  text: string,
  file: string,
  env: Environment = {},
  options: JobVariablesOptions = {},
): ParsedJob {
  const src = parseYamlSource(text, file, JOB);
  const fromFiles = readEnvFiles(src, file, env);
  const lookup: VariableLookup = (name) => env[name] ?? fromFiles.get(name);
  const lenient = options.variables === 'lenient';
  const fields = interpolateSource(src, lookup, {
    // Credentials are of no use to the commands that read leniently: left as written, unused.
    skip: (p) => p[0] === 'env_file' || (lenient && p[0] === 'registries'),
    cast: castJobField,
    missing: lenient ? 'empty' : 'error',
  });
  const current = (p: FieldPath) => valueAt(src.data, p);
  const jobFile = withMaskedValues(fields, current, () => validateSource(src, JobFileSchema, normalizeJob));
  const spec = withMaskedValues(fields, current, () => withPositions(src, () => normalizeJob(jobFile)));
  spec.container.forEach((entry, index) => {
    const masked = maskedFieldsOf(fields, index);
    if (masked.length > 0) entry.maskedFields = masked;
  });
  const errors: InputError[] = [];
  const registries = lenient ? [] : registriesOf(src, jobFile.registries, errors);
  if (errors.length > 0) throw new InputErrors(sortErrors(errors));
  const variables = [...new Set(fields.flatMap((f) => f.variables))];
  return { spec, registries, variables };
}

/** `parseJob`'s spec. */
export function parseJobText(text: string, file: string, env: Environment = {}): JobSpec {
  return parseJob(text, file, env).spec;
}

export interface LoadedJob extends ParsedJob {
  /** 7-hex version (see `src/core/version.ts`). */
  version: string;
  /** The path as given. */
  file: string;
}

export async function loadJobFile(
  file: string,
  env: Environment = process.env,
  options: JobVariablesOptions = {},
): Promise<LoadedJob> {
  const text = await readUserFile(file);
  const parsed = parseJob(text, file, env, options);
  return { ...parsed, version: specVersion(parsed.spec), file };
}

/**
 * Fields of the entry `container[index]` whose value came from interpolation and that plans
 * would show (the normalised entries keep the file's order).
 */
function maskedFieldsOf(fields: readonly InterpolatedField[], index: number): MaskableField[] {
  const masked = new Set<MaskableField>();
  for (const { path: p } of fields) {
    const field = p[2];
    if (p[0] === 'container' && p[1] === index && (MASKABLE_FIELDS as readonly unknown[]).includes(field))
      masked.add(field as MaskableField);
  }
  return MASKABLE_FIELDS.filter((f) => masked.has(f));
}

// ---------------------------------------------------------------------------------------------
// Types of interpolated values: `count: ${REPLICAS}` is a number, as compose casts it.

const INTEGER = /^-?\d+$/;
const NUMBER = /^\d+(\.\d+)?$/;

function castJobField(p: FieldPath, value: string): unknown {
  const [top, , field, sub, leaf] = p;
  const asInt = () => (INTEGER.test(value) ? Number(value) : value);
  const asNumber = () => (NUMBER.test(value) ? Number(value) : value);
  const asBool = () => (value === 'true' ? true : value === 'false' ? false : value);
  if (p.length === 1 && top === 'count') return asInt();
  if (top === 'update' && p.length === 2) return asNumber();
  if (top !== 'container') return value;
  if (p.length === 3) {
    if (field === 'stop_grace_period') return asNumber();
    if (field === 'stop_signal') return asInt();
    if (field === 'init') return asBool();
  }
  if (field === 'ports' && p.length === 5 && (leaf === 'in' || leaf === 'out')) return asInt();
  if (field === 'healthcheck' && p.length === 4) {
    if (sub === 'retries') return asInt();
    if (sub === 'disable') return asBool();
    if (sub === 'interval' || sub === 'timeout' || sub === 'start_period') return asNumber();
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// env_file

interface EnvFileRef {
  given: string;
  required: boolean;
  at: FieldPath;
}

/** `env_file:` as written; a wrong shape is left to the schema to report. */
function envFileRefs(data: unknown): EnvFileRef[] {
  const raw = (data as Record<string, unknown>)['env_file'];
  if (typeof raw === 'string') return raw ? [{ given: raw, required: true, at: ['env_file'] }] : [];
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((entry, i): EnvFileRef[] => {
    if (typeof entry === 'string' && entry) return [{ given: entry, required: true, at: ['env_file', i] }];
    if (entry && typeof entry === 'object' && typeof (entry as { path?: unknown }).path === 'string') {
      const { path: given, required } = entry as { path: string; required?: unknown };
      return [{ given, required: required !== false, at: ['env_file', i, 'path'] }];
    }
    return [];
  });
}

/**
 * The variables of the job's env files, later files overriding earlier ones. Values may use
 * `${VAR}` from the environment and from earlier files.
 */
function readEnvFiles(src: YamlSource, jobFile: string, env: Environment): Map<string, string> {
  const values = new Map<string, string>();
  const errors: InputError[] = [];
  const dir = path.dirname(jobFile);
  for (const ref of envFileRefs(src.data)) {
    const file = path.resolve(dir, ref.given);
    let text: string;
    try {
      text = readEnvFileSync(file);
    } catch (error) {
      const missing = error instanceof InputErrors && error.message.endsWith(': no such file');
      if (missing && !ref.required) continue;
      const why = error instanceof InputErrors ? error.errors[0]!.message : (error as Error).message;
      errors.push(new InputError(`env file ${why}`, positionOf(src, ref.at), 'env_file'));
      continue;
    }
    const shown = path.isAbsolute(ref.given) ? ref.given : path.join(dir, ref.given);
    const parsed = parseDotenv(text, (name) => env[name] ?? values.get(name));
    for (const problem of parsed.problems)
      errors.push(new InputError(problem.message, { file: shown, line: problem.line, col: problem.col }));
    for (const [key, entry] of parsed.entries) values.set(key, entry.value);
  }
  if (errors.length > 0) throw new InputErrors(errors);
  return values;
}

// ---------------------------------------------------------------------------------------------

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
