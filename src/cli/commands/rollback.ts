import { rollbackOperation } from '../../client/rollout.js';
import { jobImages } from '../../core/entries.js';
import { type Command, jobReadFlags, optionalStringFlag, UsageError, yesFlag } from '../command.js';
import { loadJobTarget } from '../context.js';
import { runOperation } from '../operation.js';
import { jobSummaryOf, renderDeploymentSummary } from '../render/tables.js';

export const rollbackJobCommand: Command = {
  path: ['rollback', 'job'],
  summary: 'Go back to the previous version of a job (or to --to VERSION)',
  usage: '[options] FILE',
  description: `Deploys the version before the current one (or the one named by --to, from
\`dokkup history job\`) through the same zero-downtime path as an update, in waves
(update.max_parallel). While a canary is out (and no --to is given) only the canary nodes go
back, to the version they ran before it. ROLLBACK false: that node has nothing to go back to.`,
  flags: {
    ...jobReadFlags,
    ...yesFlag,
    to: { type: 'string', valueName: 'VERSION', description: 'Version to go back to (7 hex characters)' },
  },
  examples: [
    { does: 'Go back to the version before the current one', run: 'dokkup rollback job web.yaml' },
    {
      does: 'Go back to a version listed by `dokkup history job`, without asking',
      run: 'dokkup rollback job --to 55dab35 -y web.yaml',
    },
  ],
  args: { min: 1, max: 1, names: 'FILE' },
  async run(context) {
    const to = optionalStringFlag(context.flags, 'to');
    if (to !== undefined && !/^[0-9a-f]{7}$/.test(to)) {
      throw new UsageError(`--to must be a 7-character version like 55dab35, got "${to}"`);
    }
    const target = await loadJobTarget(context);
    const { spec } = target.job;
    return runOperation(context, target, {
      kind: 'rollback',
      command: 'rollback job',
      operation: rollbackOperation(spec.name, to, spec.update, {
        source: target.credentials,
        images: jobImages(spec),
      }),
      summary: renderDeploymentSummary(jobSummaryOf(spec), context.style),
      version: to ?? null,
      nothingToDo: 'Nothing to do: no reachable node has a version to roll back to.',
    });
  },
};
