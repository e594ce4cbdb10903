import { stopOperation } from '../../client/rollout.js';
import { booleanFlag, type Command, jobReadFlags, yesFlag } from '../command.js';
import { loadJobTarget } from '../context.js';
import { runOperation } from '../operation.js';
import { jobSummaryOf, renderStopSummary } from '../render/tables.js';

export const stopJobCommand: Command = {
  path: ['stop', 'job'],
  summary: "Stop a job's containers (--purge: and remove them and the job's history)",
  usage: '[options] FILE',
  description: `Stops the job's containers on every node and keeps them, so \`dokkup run job\` can start
them again, in waves (update.max_parallel). With --purge the containers and the job's history are
removed (volumes and images are kept); rollback cannot undo a purge.`,
  flags: {
    ...jobReadFlags,
    ...yesFlag,
    purge: {
      type: 'boolean',
      default: false,
      description: "Also remove the containers and the job's history",
    },
  },
  examples: [
    {
      does: "Stop the job's containers and keep them (`run job` starts them again)",
      run: 'dokkup stop job web.yaml',
    },
    {
      does: "Remove the job's containers and its history on every node, without asking",
      run: 'dokkup stop job --purge -y web.yaml',
    },
  ],
  args: { min: 1, max: 1, names: 'FILE' },
  async run(context) {
    const purge = booleanFlag(context.flags, 'purge');
    const target = await loadJobTarget(context, { variables: 'lenient' });
    const { spec } = target.job;
    return runOperation(context, target, {
      kind: 'stop',
      command: 'stop job',
      operation: stopOperation(spec.name, purge, spec.update),
      summary: renderStopSummary(jobSummaryOf(spec), context.style),
      version: null,
      purge,
      nothingToDo: purge
        ? 'Nothing to do: the job has nothing left to remove on any reachable node.'
        : 'Nothing to do: the job is not running on any reachable node.',
    });
  },
};
