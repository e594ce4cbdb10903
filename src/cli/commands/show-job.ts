import type { JobStatus } from '../../protocol/api.js';
import { CLI_JSON_SCHEMA_VERSION, type ShowJobJson, ShowJobJsonSchema } from '../../protocol/cli-json.js';
import { type Command, jobReadFlags } from '../command.js';
import { jsonNodeOf, labelOf, loadJobTarget, unlessUnknownJob } from '../context.js';
import { runRead } from '../operation.js';
import { renderShowJob } from '../render/tables.js';

/** A job the node has never heard of: shown as 0/0, not as an error. */
export function emptyStatus(job: string): JobStatus {
  return { name: job, version: null, image: null, desired: null, running: 0, total: 0, containers: [] };
}

export const showJobCommand: Command = {
  path: ['show', 'job'],
  summary: "Show a job's containers on each of its nodes",
  usage: '[options] FILE',
  description: 'Per node: status, image, running/total containers and version, then each container.',
  flags: { ...jobReadFlags },
  examples: [
    { does: "Show the job's containers on each of its nodes", run: 'dokkup show job web.yaml' },
    { does: 'The same with another inventory, as JSON', run: 'dokkup show job -i prod.yaml --json web.yaml' },
  ],
  args: { min: 1, max: 1, names: 'FILE' },
  async run(context) {
    const target = await loadJobTarget(context, { variables: 'lenient' });
    const job = target.job.spec.name;
    return runRead(context, target.nodes, {
      read: (client) => unlessUnknownJob(client.status(job), () => emptyStatus(job)),
      json: (run, exitCode) =>
        ShowJobJsonSchema.parse({
          schema: CLI_JSON_SCHEMA_VERSION,
          command: 'show job',
          exitCode,
          job,
          nodes: run.results.map((r) => ({ ...jsonNodeOf(r), job: r.value ?? null })),
        } satisfies ShowJobJson),
      render: (run) =>
        renderShowJob(
          run.results.map((r) => ({
            name: r.node.name,
            location: r.node.location,
            label: labelOf(r),
            job,
            status: r.value,
          })),
          context.style,
        ),
      skipped: 'its containers are not shown',
    });
  },
};
