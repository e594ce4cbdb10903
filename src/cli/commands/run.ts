import { deployOperation, promoteOperation } from '../../client/rollout.js';
import { parseDurationMs } from '../../core/duration.js';
import { jobImages } from '../../core/entries.js';
import { type Command, jobReadFlags, optionalStringFlag, UsageError, yesFlag } from '../command.js';
import { loadJobTarget } from '../context.js';
import { runOperation } from '../operation.js';
import { jobSummaryOf, renderDeploymentSummary } from '../render/tables.js';

export const runJobCommand: Command = {
  path: ['run', 'job'],
  summary: 'Deploy a job, or bring it up to date, on its nodes',
  usage: '[options] FILE',
  description: `Shows what would happen on every node (\`lab1*\`: fresh deploy) and the waves it goes out in,
asks, then converges each node to exactly \`count\` running containers of the job's version: new
containers start and must be healthy before old ones stop. A wave of nodes (update.max_parallel)
starts once every node of the one before is healthy on the new version; when a node fails, no
further wave starts and the nodes already moved go back (update.auto_revert). With update.canary
only the canary nodes move: \`dokkup promote job\` rolls out the rest. Nodes that are OFFLINE or
UNAUTHORIZED are skipped with a warning and make the exit code 3.`,
  flags: {
    ...jobReadFlags,
    ...yesFlag,
    promoteAfter: {
      type: 'string',
      valueName: 'DURATION',
      description:
        'With update.canary: watch the canary this long (e.g. 5m) and promote it if it stays healthy (default: update.auto_promote)',
    },
  },
  examples: [
    {
      does: 'Deploy web.yaml to the nodes it names in inventory.yaml, asking before any change',
      run: 'dokkup run job web.yaml',
    },
    {
      does: 'Deploy with another inventory, without asking (scripts, CI)',
      run: 'dokkup run job -i prod.yaml -y web.yaml',
    },
    {
      does: 'Put a canary out (update.canary), watch it five minutes, promote it if it stayed healthy',
      run: 'dokkup run job --promote-after 5m web.yaml',
    },
  ],
  args: { min: 1, max: 1, names: 'FILE' },
  async run(context) {
    const given = optionalStringFlag(context.flags, 'promoteAfter');
    let promoteAfterMs: number | undefined;
    if (given !== undefined) {
      try {
        promoteAfterMs = parseDurationMs(given);
      } catch {
        throw new UsageError(`--promote-after must be a duration like 5m or 90s, got "${given}"`);
      }
      if (promoteAfterMs <= 0) throw new UsageError('--promote-after must be longer than 0s');
    }
    const target = await loadJobTarget(context);
    const { spec, version } = target.job;
    if (promoteAfterMs !== undefined && !spec.update.canary) {
      throw new UsageError('--promote-after needs a canary: set update.canary in the job file');
    }
    const watchMs = promoteAfterMs ?? spec.update.autoPromoteMs;
    const registryAuth = await target.credentials.forImages(jobImages(spec));
    return runOperation(context, target, {
      kind: 'run',
      command: 'run job',
      operation: deployOperation(spec, registryAuth),
      summary: renderDeploymentSummary(jobSummaryOf(spec), context.style),
      version,
      nothingToDo: 'Nothing to do: every reachable node is already up to date.',
      ...(watchMs !== undefined
        ? { promoteAfter: { ms: watchMs, promote: promoteOperation(spec, registryAuth) } }
        : {}),
    });
  },
};
