import { z } from 'zod';

const name = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'must use only letters, digits, _ . -');

export const InventoryNodeSchema = z.strictObject({
  name,
  /** `host:port`, `http://host:port` or `https://host:port`. */
  location: z.string().min(1, 'must not be empty'),
  /** The agent's API key, or `${ENV_VAR}` to read it from the environment. */
  key: z.string().min(1, 'must not be empty'),
});

export const InventoryGroupSchema = z.strictObject({
  name,
  nodes: z.array(z.string().min(1)).min(1, 'must name at least one node'),
});

export const InventoryFileSchema = z.strictObject({
  nodes: z.array(InventoryNodeSchema).min(1, 'must list at least one node'),
  groups: z.array(InventoryGroupSchema).optional(),
});
export type InventoryFile = z.infer<typeof InventoryFileSchema>;

/** An inventory after validation: keys resolved, locations turned into base URLs. */
export interface InventoryNode {
  name: string;
  /** As written in the file, for tables. */
  location: string;
  /** `http(s)://host:port`, no trailing slash. */
  baseUrl: string;
  key: string;
}
export interface Inventory {
  /** Path of the file it came from (or a label such as `embedded`). */
  source: string;
  nodes: InventoryNode[];
  groups: Record<string, string[]>;
}
