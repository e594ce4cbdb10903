import { CLI_JSON_SCHEMA_VERSION, type ShowNodesJson, ShowNodesJsonSchema } from '../../protocol/cli-json.js';
import { booleanFlag, type Command, fanOutFlags, inventoryFlag, jsonFlag } from '../command.js';
import {
  jsonNodeOf,
  labelOf,
  loadInventory,
  makeCluster,
  readExitCode,
  warnSkipped,
  writeJson,
  writeLines,
} from '../context.js';
import { renderShowNodes } from '../render/tables.js';

export const showNodesCommand: Command = {
  path: ['show', 'nodes'],
  summary: 'Show every inventory node: status, agent and Docker version, jobs, containers, latency',
  usage: '[options]',
  flags: { ...inventoryFlag, ...fanOutFlags, ...jsonFlag },
  args: { min: 0, max: 0 },
  async run(context) {
    const inventory = await loadInventory(context);
    const cluster = makeCluster(context, inventory.nodes);
    try {
      const run = await cluster.run((client) => client.info(), { signal: context.signal });
      const exitCode = readExitCode(run);
      if (booleanFlag(context.flags, 'json')) {
        const document: ShowNodesJson = {
          schema: CLI_JSON_SCHEMA_VERSION,
          command: 'show nodes',
          exitCode,
          nodes: run.results.map((r) => ({ ...jsonNodeOf(r), info: r.value ?? null })),
        };
        writeJson(context.io.stdout, ShowNodesJsonSchema.parse(document));
      } else {
        const rows = run.results.map((r) => ({
          name: r.node.name,
          location: r.node.location,
          label: labelOf(r),
          info: r.value,
          latencyMs: r.status === 'ok' ? r.latencyMs : undefined,
        }));
        writeLines(context.io.stdout, renderShowNodes(rows, context.style));
        warnSkipped(context.io.stderr, run.results, 'see the message for why');
      }
      return exitCode;
    } finally {
      cluster.close();
    }
  },
};
