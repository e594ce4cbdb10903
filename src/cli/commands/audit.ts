/**
 * `dokkup audit`: what was changed on the nodes, by which key, from where, and how it ended —
 * every node's audit log (`GET /v1/audit`), merged in time order.
 */
import { AgentHttpError } from '../../client/errors.js';
import { parseDurationMs } from '../../core/duration.js';
import { DokkupError } from '../../core/errors.js';
import { AUDIT_MAX_LIMIT, type AuditList } from '../../protocol/audit.js';
import { type AuditJson, AuditJsonSchema, CLI_JSON_SCHEMA_VERSION } from '../../protocol/cli-json.js';
import type { InventoryNode } from '../../protocol/inventory.js';
import {
  type Command,
  fanOutFlags,
  inventoryFlag,
  jsonFlag,
  optionalStringFlag,
  positiveIntFlag,
  UsageError,
} from '../command.js';
import { jsonNodeOf, loadInventory } from '../context.js';
import { runRead } from '../operation.js';
import { mergeAudit, renderAudit } from '../render/audit.js';

/** `--since`: a duration (each agent counts it back on its own clock) or an ISO-8601 time. */
export function auditSince(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d{4}-\d\d-\d\d/.test(text) && !Number.isNaN(Date.parse(text))) return text;
  try {
    parseDurationMs(text);
    return text;
  } catch {
    throw new UsageError(
      `--since must be a duration like 30m, 1h or 24h, or a time like 2025-05-01T10:00:00Z (got ${JSON.stringify(value)})`,
    );
  }
}

/** `--node NAME`: that inventory node only. */
function selectNode(nodes: readonly InventoryNode[], name: string | undefined): InventoryNode[] {
  if (name === undefined) return [...nodes];
  const node = nodes.find((n) => n.name === name);
  if (!node)
    throw new UsageError(`--node ${name}: not in the inventory (${nodes.map((n) => n.name).join(', ')})`);
  return [node];
}

/** An agent older than the audit log answers 404 for the route: say so rather than "no such route". */
async function readAudit(read: Promise<AuditList>): Promise<AuditList> {
  try {
    return await read;
  } catch (error) {
    if (error instanceof AgentHttpError && error.status === 404) {
      throw new DokkupError('not_found', 'this agent keeps no audit log (it is older than dokkup 0.4)');
    }
    throw error;
  }
}

export const auditCommand: Command = {
  path: ['audit'],
  summary: "Show the nodes' audit logs: every change, refused attempt and key rotation, merged in time order",
  usage: '[options]',
  description: `Each agent records every deploy, update, scale, rollback, stop and purge, every attempt it
refused after the key was accepted (its policy, a busy job, a bad spec), and every key rotation:
when, from which address, with which key (a short id, never the key), the versions and container
counts from and to, the result and how long it took.`,
  examples: [
    { does: 'Everything changed in the last hour, on every node', run: 'dokkup audit --since 1h' },
    { does: "One node's last day", run: 'dokkup audit --node lab1 --since 24h' },
    {
      does: 'Since a given time, as JSON for a script',
      run: 'dokkup audit --json --since 2025-05-01T00:00:00Z',
    },
  ],
  flags: {
    ...inventoryFlag,
    node: { type: 'string', valueName: 'NAME', description: 'Only this node' },
    since: {
      type: 'string',
      valueName: 'WHEN',
      description:
        'Only operations that ended since a duration ago (30m, 24h, by each agent clock) or a time (ISO-8601)',
    },
    limit: {
      type: 'number',
      valueName: 'N',
      default: 500,
      description: `The newest N entries of each node (default 500, at most ${AUDIT_MAX_LIMIT})`,
    },
    ...fanOutFlags,
    ...jsonFlag(),
  },
  args: { min: 0, max: 0 },
  async run(context) {
    const since = auditSince(optionalStringFlag(context.flags, 'since'));
    const limit = positiveIntFlag(context.flags, 'limit', AUDIT_MAX_LIMIT);
    const nodes = selectNode((await loadInventory(context)).nodes, optionalStringFlag(context.flags, 'node'));
    return runRead(context, nodes, {
      read: (client) => readAudit(client.audit({ ...(since ? { since } : {}), limit })),
      json: (run, exitCode) => {
        const answered = run.results.map((r) => ({ name: r.node.name, entries: r.value?.entries ?? [] }));
        return AuditJsonSchema.parse({
          schema: CLI_JSON_SCHEMA_VERSION,
          command: 'audit',
          exitCode,
          since: since ?? null,
          nodes: run.results.map((r) => ({
            ...jsonNodeOf(r),
            entries: r.value?.entries ?? null,
            truncated: r.value?.truncated ?? null,
          })),
          entries: mergeAudit(answered),
        } satisfies AuditJson);
      },
      render: (run) => {
        const merged = mergeAudit(
          run.results.map((r) => ({ name: r.node.name, entries: r.value?.entries ?? [] })),
        );
        const cut = run.results.filter((r) => r.value?.truncated).map((r) => r.node.name);
        const note = cut.length
          ? ['', `Older entries of ${cut.join(', ')} were left out (--limit ${limit}); narrow with --since.`]
          : [];
        return [...renderAudit(merged, context.style), ...note];
      },
      skipped: 'its audit log is not shown',
    });
  },
};
