import { CLI_JSON_SCHEMA_VERSION, type HistoryJson, HistoryJsonSchema } from '../../protocol/cli-json.js';
import { type Command, jobReadFlags } from '../command.js';
import { jsonNodeOf, labelOf, loadJobTarget, unlessUnknownJob } from '../context.js';
import { runRead } from '../operation.js';
import { renderHistory } from '../render/tables.js';

export const historyJobCommand: Command = {
  path: ['history', 'job'],
  summary: "Show a job's deployed versions on each node (newest first)",
  usage: '[options] FILE',
  description:
    'CURRENT true marks the version running now; roll back to any listed version with\n`dokkup rollback job --to VERSION FILE`.',
  flags: { ...jobReadFlags },
  examples: [
    { does: "Show the job's versions on each node, newest first", run: 'dokkup history job web.yaml' },
    { does: 'As JSON', run: 'dokkup history job --json web.yaml' },
  ],
  args: { min: 1, max: 1, names: 'FILE' },
  async run(context) {
    const target = await loadJobTarget(context, { variables: 'lenient' });
    const job = target.job.spec.name;
    return runRead(context, target.nodes, {
      read: (client) => unlessUnknownJob(client.history(job), () => ({ job, current: null, entries: [] })),
      json: (run, exitCode) =>
        HistoryJsonSchema.parse({
          schema: CLI_JSON_SCHEMA_VERSION,
          command: 'history job',
          exitCode,
          job,
          nodes: run.results.map((r) => ({ ...jsonNodeOf(r), history: r.value ?? null })),
        } satisfies HistoryJson),
      render: (run) =>
        renderHistory(
          run.results.map((r) => ({ name: r.node.name, label: labelOf(r), history: r.value })),
          context.style,
        ),
      skipped: 'its history is not shown',
    });
  },
};
