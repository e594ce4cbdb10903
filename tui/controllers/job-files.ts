/**
 * Job files the `d` key offers: the ones given on the command line, then `*.yaml` / `*.yml` in
 * the working directory, without the inventory (the one in use, and any file that looks like
 * one). Loaded through `src/config`, so errors read `file:line:col field: message`.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { type LoadedJob, loadJobFile } from '../../src/config/index.js';
import { InputError, InputErrors } from '../../src/core/errors.js';

/** An inventory has top-level `nodes:` with `location:` entries and no `container:`. */
export function looksLikeInventory(text: string): boolean {
  return /^nodes\s*:/m.test(text) && /\blocation\s*:/.test(text) && !/^container\s*:/m.test(text);
}

export async function candidateJobFiles(
  given: readonly string[],
  cwd: string,
  inventoryPath: string | null,
): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  const inventory = inventoryPath ? path.resolve(cwd, inventoryPath) : null;
  const add = (file: string) => {
    const abs = path.resolve(cwd, file);
    if (seen.has(abs) || abs === inventory) return;
    seen.add(abs);
    out.push(file);
  };
  for (const file of given) add(file);
  let entries: string[] = [];
  try {
    entries = (await readdir(cwd)).filter((f) => /\.ya?ml$/i.test(f)).sort();
  } catch {
    entries = [];
  }
  for (const file of entries) {
    const abs = path.resolve(cwd, file);
    if (seen.has(abs) || abs === inventory) continue;
    try {
      const text = await readFile(abs, 'utf8');
      if (looksLikeInventory(text)) continue;
    } catch {
      continue;
    }
    add(file);
  }
  return out;
}

/** How job files are read: their `${VAR}`s from `env`, and whether unset ones are an error. */
export interface JobReading {
  env?: Record<string, string | undefined>;
  variables?: 'required' | 'lenient';
}

/** A job file's spec, or the message to show (never a stack trace). */
export async function loadJob(
  cwd: string,
  file: string,
  reading: JobReading = {},
): Promise<{ job: LoadedJob } | { error: string }> {
  try {
    const options = reading.variables ? { variables: reading.variables } : {};
    return { job: await loadJobFile(path.resolve(cwd, file), reading.env ?? process.env, options) };
  } catch (error) {
    return { error: describeError(error) };
  }
}

export function describeError(error: unknown): string {
  if (error instanceof InputErrors) return error.errors.map((e) => e.format()).join('; ');
  if (error instanceof InputError) return error.format();
  return error instanceof Error ? error.message : String(error);
}

/** The job file among the candidates that defines `job`, if any. */
export async function findJobFile(
  cwd: string,
  files: readonly string[],
  job: string,
  reading: JobReading = {},
): Promise<{ file: string; job: LoadedJob } | null> {
  for (const file of files) {
    const loaded = await loadJob(cwd, file, reading);
    if ('job' in loaded && loaded.job.spec.name === job) return { file, job: loaded.job };
  }
  return null;
}
