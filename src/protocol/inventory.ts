import { z } from 'zod';
import type { RegistryAuth } from './registry.js';
import { RegistryFileSchema } from './registry.js';

const name = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'must use only letters, digits, _ . -');

export const InventoryNodeSchema = z
  .strictObject({
    name: name.describe('Node name (unique): letters, digits, _ . -'),
    location: z
      .string()
      .min(1, 'must not be empty')
      .describe("The agent's address: host:port, http://host:port or https://host:port"),
    key: z
      .string()
      .min(1, 'must not be empty')
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the inventory's own ${ENV} syntax
      .describe("The agent's API key, or ${ENV_VAR} to read it from the environment"),
  })
  .describe('A server running the dokkup agent');

export const InventoryGroupSchema = z
  .strictObject({
    name: name.describe('Group name (unique): letters, digits, _ . -'),
    nodes: z
      .array(z.string().min(1))
      .min(1, 'must name at least one node')
      .describe('Names of the nodes in the group'),
  })
  .describe('A named set of nodes that jobs can target with group:');

export const InventoryFileSchema = z
  .strictObject({
    nodes: z.array(InventoryNodeSchema).min(1, 'must list at least one node').describe('The agents'),
    groups: z.array(InventoryGroupSchema).optional().describe('Named sets of nodes'),
    registries: z.array(RegistryFileSchema).optional().describe(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the file's own ${VAR} syntax
      "Credentials for private registries (values as ${ENV_VAR}); they win over the operator's Docker client configuration",
    ),
  })
  .describe('A dokkup inventory: the agents the CLI and the TUI talk to');
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
  /** `registries:`, servers normalised (absent when the inventory names none). */
  registries?: RegistryAuth[];
}
