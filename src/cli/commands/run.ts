import { deployOperation } from '../../client/rollout.js';
import { jobImages } from '../../core/entries.js';
import { type Command, jobReadFlags, yesFlag } from '../command.js';
import { loadJobTarget } from '../context.js';
import { runOperation } from '../operation.js';
import { jobSummaryOf, renderDeploymentSummary } from '../render/tables.js';

export const runJobCommand: Command = {
  path: ['run', 'job'],
  summary: 'Deploy a job, or bring it up to date, on its nodes',
  usage: '[options] FILE',
  description: `Shows what would happen on every node (\`lab1*\`: fresh deploy), asks, then converges each
node to exactly \`count\` running containers of the job's version: new containers start and
must be healthy before old ones stop. Nodes that are OFFLINE or UNAUTHORIZED are skipped with
a warning and make the exit code 3.`,
  flags: { ...jobReadFlags, ...yesFlag },
  examples: [
    {
      does: 'Deploy web.yaml to the nodes it names in inventory.yaml, asking before any change',
      run: 'dokkup run job web.yaml',
    },
    {
      does: 'Deploy with another inventory, without asking (scripts, CI)',
      run: 'dokkup run job -i prod.yaml -y web.yaml',
    },
    { does: 'Deploy and print the outcome as one JSON document', run: 'dokkup run job -y --json web.yaml' },
  ],
  args: { min: 1, max: 1, names: 'FILE' },
  async run(context) {
    const target = await loadJobTarget(context);
    const { spec, version } = target.job;
    const registryAuth = await target.credentials.forImages(jobImages(spec));
    return runOperation(context, target, {
      kind: 'run',
      command: 'run job',
      operation: deployOperation(spec, registryAuth),
      summary: renderDeploymentSummary(jobSummaryOf(spec), context.style),
      version,
      nothingToDo: 'Nothing to do: every reachable node is already up to date.',
    });
  },
};
