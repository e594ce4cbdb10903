import { deployOperation, scheduleOf } from '../../client/rollout.js';
import { jobImages } from '../../core/entries.js';
import { outcomeOfStatus, planExitCode } from '../../core/outcome.js';
import { scheduleLines } from '../../core/waves.js';
import { CLI_JSON_SCHEMA_VERSION, type PlanJson, PlanJsonSchema } from '../../protocol/cli-json.js';
import { type Command, jobReadFlags } from '../command.js';
import { jsonNodeOf, labelOf, loadJobTarget } from '../context.js';
import { runRead, waysOn } from '../operation.js';
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
  examples: [
    {
      does: 'Show what `run job` would change on each node; exit code 1 when something would',
      run: 'dokkup plan job web.yaml',
    },
    {
      does: 'Plan against another inventory, 100 nodes at a time',
      run: 'dokkup plan job -i prod.yaml --parallel 100 web.yaml',
    },
    { does: 'Plan as JSON, e.g. for a CI check', run: 'dokkup plan job --json web.yaml' },
  ],
  args: { min: 1, max: 1, names: 'FILE' },
  async run(context) {
    const target = await loadJobTarget(context);
    const { spec, version } = target.job;
    // Sent so that each node can say whether it could pull the image with them.
    const registryAuth = await target.credentials.forImages(jobImages(spec));
    const operation = deployOperation(spec, registryAuth);
    const request = operation.planRequest;
    const ways = waysOn(context);
    return runRead(context, target.nodes, {
      read: (client) => client.plan(spec.name, request),
      exitCode: (run) =>
        planExitCode(
          run.results.map((r) => ({
            outcome: outcomeOfStatus(r.status).outcome,
            changes: r.value?.changes ?? false,
          })),
          run.interrupted,
        ),
      json: (run, exitCode) => {
        const schedule = scheduleOf(operation, run.results);
        return PlanJsonSchema.parse({
          schema: CLI_JSON_SCHEMA_VERSION,
          command: 'plan job',
          exitCode,
          job: spec.name,
          version,
          changes: run.results.some((r) => r.value?.changes ?? false),
          waves: schedule.waves,
          canary: schedule.canary,
          held: schedule.held?.nodes ?? [],
          nodes: run.results.map((r) => ({ ...jsonNodeOf(r), plan: r.value ?? null })),
        } satisfies PlanJson);
      },
      render: (run) => {
        const rows = run.results.map((r) => ({ name: r.node.name, label: labelOf(r), plan: r.value }));
        const planned = run.results.flatMap((r) => (r.value ? [{ name: r.node.name, plan: r.value }] : []));
        const waves = scheduleLines(scheduleOf(operation, run.results), ways);
        return [
          ...renderDeploymentSummary(jobSummaryOf(spec), context.style),
          '',
          ...renderNodeStatuses('run', rows, { style: context.style }),
          '',
          ...renderChanges(planned, context.style),
          ...(waves.length > 0 ? ['', ...waves] : []),
        ];
      },
      skipped: 'it was not planned',
    });
  },
};
