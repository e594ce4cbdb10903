/**
 * JSON Schemas of the files users write (job files, inventories), generated from the zod
 * schemas that validate them, so editors complete and check exactly what dokkup accepts.
 * Committed as `schemas/*.schema.json` (`npm run schemas`; a test keeps them in step) and
 * printed by `dokkup schema job|inventory`.
 *
 * Draft 7: the draft editors' YAML and JSON language servers support best.
 */
import { z } from 'zod';
import { InventoryFileSchema } from './inventory.js';
import { JobFileSchema } from './job.js';

export const SCHEMA_FILES = {
  job: { schema: JobFileSchema, title: 'dokkup job file', file: 'schemas/job.schema.json' },
  inventory: {
    schema: InventoryFileSchema,
    title: 'dokkup inventory',
    file: 'schemas/inventory.schema.json',
  },
} as const;
export type SchemaName = keyof typeof SCHEMA_FILES;
export const SCHEMA_NAMES = Object.keys(SCHEMA_FILES) as SchemaName[];

export function jsonSchemaOf(name: SchemaName): Record<string, unknown> {
  const { schema, title } = SCHEMA_FILES[name];
  return fileJsonSchema(schema, title);
}

/** The JSON Schema (draft 7) of what a file checked by `schema` may hold, as written. */
export function fileJsonSchema(schema: z.ZodType, title: string): Record<string, unknown> {
  const generated = z.toJSONSchema(schema, {
    target: 'draft-7',
    io: 'input',
    unrepresentable: 'throw',
    override: ({ zodSchema }) => {
      // A JSON Schema pattern has no flags: `/…/i` would silently reject what dokkup accepts.
      for (const pattern of patternsOf(zodSchema)) {
        if (pattern.flags !== '')
          throw new Error(`${pattern} has flags a JSON Schema pattern cannot express`);
      }
    },
  });
  const { $schema, ...rest } = generated;
  return { $schema, title, ...rest };
}

/** The text of `schemas/<name>.schema.json`: two-space JSON and a newline. */
export function jsonSchemaText(name: SchemaName): string {
  return `${JSON.stringify(jsonSchemaOf(name), null, 2)}\n`;
}

interface CheckedSchema {
  _zod: { def: { checks?: { _zod: { def: { pattern?: unknown } } }[] } };
}

/** The regular expressions of a string schema's `.regex()` checks. */
function patternsOf(schema: unknown): RegExp[] {
  const checks = (schema as CheckedSchema)._zod.def.checks ?? [];
  return checks.map((c) => c._zod.def.pattern).filter((p): p is RegExp => p instanceof RegExp);
}
