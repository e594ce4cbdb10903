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
      .describe(
        "The agent's address: host:port (https), https://host:port, or http://host:port for an agent run with --insecure-http",
      ),
    key: z
      .string()
      .min(1, 'must not be empty')
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the inventory's own ${ENV} syntax
      .describe("The agent's API key, or ${ENV_VAR} to read it from the environment"),
    fingerprint: z.string().min(1, 'must not be empty').optional().describe(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the inventory's own ${ENV} syntax
      "The agent's TLS certificate, pinned: SHA256:<64 hex> as `dokkup agent` prints it on first start (and `dokkup agent --fingerprint` any time), or ${ENV_VAR}. The certificate must be exactly this one; no CA is involved",
    ),
    ca: z
      .string()
      .min(1, 'must not be empty')
      .optional()
      .describe(
        "Instead of a fingerprint: a PEM file of the CA(s) the agent's certificate must chain to (path relative to the inventory file); the certificate must also name the location's host",
      ),
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
  /** `SHA256:<64 lowercase hex>`: the agent's certificate must be this one. */
  fingerprint?: string;
  /** Absolute path of a PEM file of CAs the agent's certificate must chain to (with its host name). */
  ca?: string;
}
export interface Inventory {
  /** Path of the file it came from (or a label such as `embedded`). */
  source: string;
  nodes: InventoryNode[];
  groups: Record<string, string[]>;
  /** `registries:`, servers normalised (absent when the inventory names none). */
  registries?: RegistryAuth[];
}
