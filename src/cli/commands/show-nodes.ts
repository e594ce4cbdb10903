import { CLI_JSON_SCHEMA_VERSION, type ShowNodesJson, ShowNodesJsonSchema } from '../../protocol/cli-json.js';
import { type Command, fanOutFlags, inventoryFlag, jsonFlag } from '../command.js';
import { jsonNodeOf, labelOf, loadInventory } from '../context.js';
import { runRead } from '../operation.js';
import { renderShowNodes } from '../render/tables.js';

export const showNodesCommand: Command = {
  path: ['show', 'nodes'],
  summary: 'Show every inventory node: status, agent and Docker version, jobs, containers, latency',
  usage: '[options]',
  flags: { ...inventoryFlag, ...fanOutFlags, ...jsonFlag() },
  examples: [
    { does: 'Show every node of inventory.yaml', run: 'dokkup show nodes' },
    {
      does: 'Show the nodes of another inventory, 5 seconds per node at most',
      run: 'dokkup show nodes -i prod.yaml --timeout 5',
    },
    { does: 'As JSON', run: 'dokkup show nodes --json' },
  ],
  args: { min: 0, max: 0 },
  async run(context) {
    const inventory = await loadInventory(context);
    return runRead(context, inventory.nodes, {
      read: (client) => client.info(),
      json: (run, exitCode) =>
        ShowNodesJsonSchema.parse({
          schema: CLI_JSON_SCHEMA_VERSION,
          command: 'show nodes',
          exitCode,
          nodes: run.results.map((r) => ({ ...jsonNodeOf(r), info: r.value ?? null })),
        } satisfies ShowNodesJson),
      render: (run) =>
        renderShowNodes(
          run.results.map((r) => ({
            name: r.node.name,
            location: r.node.location,
            label: labelOf(r),
            info: r.value,
            latencyMs: r.status === 'online' ? r.latencyMs : undefined,
          })),
          context.style,
        ),
      skipped: 'see the message for why',
    });
  },
};
