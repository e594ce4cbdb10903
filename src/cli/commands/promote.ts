import { promoteOperation } from '../../client/rollout.js';
import { jobImages } from '../../core/entries.js';
import { type Command, jobReadFlags, yesFlag } from '../command.js';
import { loadJobTarget } from '../context.js';
import { runOperation } from '../operation.js';
import { jobSummaryOf, renderDeploymentSummary } from '../render/tables.js';

export const promoteJobCommand: Command = {
  path: ['promote', 'job'],
  summary: 'Roll a canary out to the rest of its nodes, in waves',
  usage: '[options] FILE',
  description: `After \`dokkup run job\` put a canary out (update.canary), rolls the canary's version out to the
other target nodes in waves (update.max_parallel), then clears the canary marks: the version is
the job's own. FILE must be the job file the canary came from (its version is the canary's). When
a node fails, no further wave starts and, with update.auto_revert, every node goes back to the
version it ran before, the canaries included.`,
  flags: { ...jobReadFlags, ...yesFlag },
  examples: [
    {
      does: "Roll web.yaml's canary out to the other nodes, asking first",
      run: 'dokkup promote job web.yaml',
    },
    {
      does: 'Promote without asking, with another inventory (scripts, CI)',
      run: 'dokkup promote job -i prod.yaml -y web.yaml',
    },
  ],
  args: { min: 1, max: 1, names: 'FILE' },
  async run(context) {
    const target = await loadJobTarget(context);
    const { spec, version } = target.job;
    const registryAuth = await target.credentials.forImages(jobImages(spec));
    return runOperation(context, target, {
      kind: 'run',
      command: 'promote job',
      operation: promoteOperation(spec, registryAuth),
      summary: renderDeploymentSummary(jobSummaryOf(spec), context.style),
      version,
      nothingToDo: 'Nothing to do: every reachable node already runs the canary version.',
    });
  },
};
