import { CLI_JSON_SCHEMA_VERSION, type HistoryJson, HistoryJsonSchema } from '../../protocol/cli-json.js';
import { booleanFlag, type Command, jobReadFlags } from '../command.js';
import {
  jsonNodeOf,
  labelOf,
  loadJobTarget,
  makeCluster,
  readExitCode,
  unlessUnknownJob,
  warnSkipped,
  writeJson,
  writeLines,
} from '../context.js';
import { renderHistory } from '../render/tables.js';

export const historyJobCommand: Command = {
  path: ['history', 'job'],
  summary: "Show a job's deployed versions on each node (newest first)",
  usage: '[options] FILE',
  description:
    'CURRENT true marks the version running now; roll back to any listed version with\n`dokkup rollback job --to VERSION FILE`.',
  flags: { ...jobReadFlags },
  args: { min: 1, max: 1, names: 'FILE' },
  async run(context) {
    const target = await loadJobTarget(context);
    const job = target.job.spec.name;
    const cluster = makeCluster(context, target.nodes);
    try {
      const run = await cluster.run(
        (client) => unlessUnknownJob(client.history(job), () => ({ job, current: null, entries: [] })),
        { signal: context.signal },
      );
      const exitCode = readExitCode(run);
      if (booleanFlag(context.flags, 'json')) {
        const document: HistoryJson = {
          schema: CLI_JSON_SCHEMA_VERSION,
          command: 'history job',
          exitCode,
          job,
          nodes: run.results.map((r) => ({ ...jsonNodeOf(r), history: r.value ?? null })),
        };
        writeJson(context.io.stdout, HistoryJsonSchema.parse(document));
      } else {
        const rows = run.results.map((r) => ({ name: r.node.name, label: labelOf(r), history: r.value }));
        writeLines(context.io.stdout, renderHistory(rows, context.style));
        warnSkipped(context.io.stderr, run.results, 'its history is not shown');
      }
      return exitCode;
    } finally {
      cluster.close();
    }
  },
};
