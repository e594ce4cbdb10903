import { CLI_JSON_SCHEMA_VERSION, type PlanJson, PlanJsonSchema } from '../../protocol/cli-json.js';
import { booleanFlag, type Command, jobReadFlags } from '../command.js';
import {
  failureOutcome,
  jsonNodeOf,
  labelOf,
  loadJobTarget,
  makeCluster,
  warnSkipped,
  writeJson,
  writeLines,
} from '../context.js';
import { planExitCode } from '../exit-codes.js';
import { renderChanges } from '../render/diff.js';
import { jobSummaryOf, renderDeploymentSummary, renderNodeStatuses } from '../render/tables.js';

export const planJobCommand: Command = {
  path: ['plan', 'job'],
  summary: 'Show what `run job` would change on each node, without changing anything',
  usage: '[options] FILE',
  description: `The \`run job\` tables plus, per node, what would change: image, count, environment and
label keys (never values), ports, command, other fields. Exit code 0: no changes; 1: changes;
2: error; 3: some nodes unreachable or unauthorized (the convention of \`nomad job plan\`).`,
  flags: { ...jobReadFlags },
  args: { min: 1, max: 1, names: 'FILE' },
  async run(context) {
    const target = await loadJobTarget(context);
    const { spec, version } = target.job;
    const cluster = makeCluster(context, target.nodes);
    try {
      const run = await cluster.run((client) => client.plan(spec.name, { operation: 'deploy', spec }), {
        signal: context.signal,
      });
      const nodes = run.results.map((r) => ({
        ...(r.status === 'ok' ? { outcome: 'unchanged' as const } : failureOutcome(r)),
        changes: r.value?.changes ?? false,
      }));
      const exitCode = planExitCode(nodes, run.interrupted);
      const changes = nodes.some((n) => n.changes);
      if (booleanFlag(context.flags, 'json')) {
        const document: PlanJson = {
          schema: CLI_JSON_SCHEMA_VERSION,
          command: 'plan job',
          exitCode,
          job: spec.name,
          version,
          changes,
          nodes: run.results.map((r) => ({ ...jsonNodeOf(r), plan: r.value ?? null })),
        };
        writeJson(context.io.stdout, PlanJsonSchema.parse(document));
      } else {
        const rows = run.results.map((r) => ({ name: r.node.name, label: labelOf(r), plan: r.value }));
        const planned = run.results.flatMap((r) => (r.value ? [{ name: r.node.name, plan: r.value }] : []));
        writeLines(context.io.stdout, [
          ...renderDeploymentSummary(jobSummaryOf(spec), context.style),
          '',
          ...renderNodeStatuses('run', rows, { style: context.style }),
          '',
          ...renderChanges(planned, context.style),
        ]);
        warnSkipped(context.io.stderr, run.results, 'it was not planned');
      }
      return exitCode;
    } finally {
      cluster.close();
    }
  },
};
