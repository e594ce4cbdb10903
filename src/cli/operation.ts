/**
 * The flow shared by `run job`, `rollback job` and `stop job`:
 *   1. plan on every target node at once (bounded fan-out);
 *   2. print the summary and the `Node statuses:` table, warn about nodes left out;
 *   3. ask (unless `-y`; refuse without a terminal), or stop here when nothing would change;
 *   4. carry the operation out on the nodes that change, showing progress per node;
 *   5. print the per-node outcome summary and exit with the code the outcomes call for.
 */
import type { AgentClient, ProgressCallback } from '../client/agent-client.js';
import type { ClusterRun, NodeResult } from '../client/cluster.js';
import type { OperationResult, Plan, PlanRequest } from '../protocol/api.js';
import {
  CLI_JSON_SCHEMA_VERSION,
  type CliOutcome,
  type OperationJson,
  OperationJsonSchema,
} from '../protocol/cli-json.js';
import { booleanFlag, type CommandContext } from './command.js';
import {
  failureOutcome,
  type JobTarget,
  jsonErrorOf,
  jsonStatusOf,
  labelOf,
  makeCluster,
  roundMs,
  warnSkipped,
  writeJson,
  writeLines,
} from './context.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import { plainStyle } from './io.js';
import { createProgressReporter, type ProgressReporter } from './progress.js';
import { confirm, NO_TERMINAL_MESSAGE } from './prompt.js';
import { type NodeOutcome, type OperationKind, renderNodeStatuses, renderOutcomes } from './render/tables.js';

export interface OperationDefinition {
  kind: OperationKind;
  command: OperationJson['command'];
  planRequest: PlanRequest;
  execute(client: AgentClient, onProgress: ProgressCallback): Promise<OperationResult>;
  /** `Deployment summary:` or `Stop job summary:` with its table. */
  summary: string[];
  /** For the JSON document (see `OperationJsonSchema.version`). */
  version: string | null;
  purge?: boolean;
  /** Outcome message of a node where nothing changes: `Already up to date`, … */
  unchangedMessage: string;
  /** Overrides the outcome of a node whose plan changes nothing (e.g. `rollback --to` a version it lacks). */
  unchangedOutcome?: (plan: Plan) => { outcome: CliOutcome; message: string };
  /** Printed when no node would change. */
  nothingToDo: string;
}

interface NodeRecord {
  plan?: NodeResult<Plan>;
  run?: NodeResult<OperationResult>;
  outcome: CliOutcome;
  message: string;
}

/** The final line of a node's progress and its outcome, from the agent's result. */
export function outcomeOfResult(result: OperationResult): { outcome: CliOutcome; message: string } {
  if (result.ok)
    return { outcome: result.action === 'noop' ? 'unchanged' : 'succeeded', message: result.message };
  const restored =
    result.restored === true
      ? result.action === 'fresh'
        ? ' (the new containers were removed)'
        : ' (the previous version was left running)'
      : result.restored === false
        ? ' (nothing was restored)'
        : '';
  return { outcome: 'failed', message: `${result.message}${restored}` };
}

export async function runOperation(
  context: CommandContext,
  target: JobTarget,
  def: OperationDefinition,
): Promise<number> {
  const { io, signal, style } = context;
  const json = booleanFlag(context.flags, 'json');
  const out = io.stdout;
  const err = io.stderr;
  const job = target.job.spec.name;
  const cluster = makeCluster(context, target.nodes);

  const records: NodeRecord[] = target.nodes.map(() => ({
    outcome: 'skipped',
    message: 'not contacted: interrupted',
  }));
  let confirmed = false;
  let interrupted = false;

  const finish = (code?: number): number => {
    const outcomes: NodeOutcome[] = records.map((record, index) => ({
      name: target.nodes[index]!.name,
      outcome: record.outcome,
      message: record.message,
    }));
    const exitCode = code ?? exitCodeFor(outcomes, interrupted);
    if (json) {
      const document: OperationJson = {
        schema: CLI_JSON_SCHEMA_VERSION,
        command: def.command,
        exitCode,
        job,
        version: def.version,
        ...(def.purge === undefined ? {} : { purge: def.purge }),
        confirmed,
        interrupted,
        nodes: records.map((record, index) => {
          const node = target.nodes[index]!;
          const last = record.run ?? record.plan;
          const latency = (record.plan?.latencyMs ?? 0) + (record.run?.latencyMs ?? 0);
          return {
            node: node.name,
            location: node.location,
            status: last ? jsonStatusOf(last) : 'skipped',
            error: jsonErrorOf(last?.error),
            latencyMs: last && last.status !== 'skipped' ? roundMs(latency) : null,
            plan: record.plan?.value ?? null,
            result: record.run?.value ?? null,
            outcome: record.outcome,
            message: record.message,
          };
        }),
      };
      writeJson(out, OperationJsonSchema.parse(document));
    } else if (code === undefined) {
      writeLines(out, ['', ...renderOutcomes(outcomes, style)]);
    }
    return exitCode;
  };

  try {
    // 1. Plan everywhere.
    const planned = await cluster.run((client) => client.plan(job, def.planRequest), { signal });
    planned.results.forEach((result, index) => {
      const record = records[index]!;
      record.plan = result;
      if (result.status === 'ok' && result.value!.changes) {
        record.outcome = 'skipped';
        record.message = 'not carried out: interrupted';
      } else if (result.status === 'ok') {
        Object.assign(
          record,
          def.unchangedOutcome?.(result.value!) ?? { outcome: 'unchanged', message: def.unchangedMessage },
        );
      } else Object.assign(record, outcomeFields(failureOutcome(result)));
    });

    // 2. Tables and warnings.
    if (!json) {
      const rows = planned.results.map((result) => ({
        name: result.node.name,
        label: labelOf(result),
        plan: result.value,
      }));
      writeLines(out, [
        ...def.summary,
        '',
        ...renderNodeStatuses(def.kind, rows, { purge: def.purge, style }),
      ]);
    }
    warnSkipped(err, planned.results, 'it will be skipped');
    if (planned.interrupted) {
      interrupted = true;
      return finish();
    }

    const toChange = planned.results.flatMap((result, index) =>
      result.status === 'ok' && result.value!.changes ? [index] : [],
    );
    if (toChange.length === 0) {
      if (!json) writeLines(out, ['', def.nothingToDo]);
      return finish();
    }

    // 3. Ask.
    const answer = await confirm(io, json ? err : out, { yes: booleanFlag(context.flags, 'yes'), signal });
    if (answer !== 'yes') {
      for (const index of toChange) {
        const record = records[index]!;
        record.outcome = answer === 'interrupted' ? 'skipped' : 'declined';
        record.message =
          answer === 'interrupted' ? 'not carried out: interrupted' : 'declined; nothing was changed';
      }
      if (answer === 'interrupted') {
        interrupted = true;
        return finish(ExitCode.interrupted);
      }
      if (answer === 'no-terminal') err.write(`${NO_TERMINAL_MESSAGE}\n`);
      else if (!json) out.write('Aborted: nothing was changed.\n');
      return finish(ExitCode.declined);
    }
    confirmed = true;

    // 4. Carry it out, with progress.
    const progressOut = json ? err : out;
    const reporter: ProgressReporter | undefined =
      json && err.isTTY !== true ? undefined : createProgressReporter(progressOut, json ? plainStyle : style);
    if (!json) out.write('\n');
    let executed: ClusterRun<OperationResult>;
    try {
      executed = await cluster.run(
        async (client, node) => {
          reporter?.begin(node.name);
          const result = await def.execute(client, (line) => reporter?.update(node.name, line.message));
          const { outcome, message } = outcomeOfResult(result);
          reporter?.finish(node.name, message, outcome !== 'failed');
          return result;
        },
        {
          signal,
          onSettled: (result) => {
            if (result.status !== 'ok') {
              reporter?.finish(
                result.node.name,
                `${labelOf(result)}: ${result.error?.message ?? 'failed'}`,
                false,
              );
            }
          },
        },
        toChange.map((index) => target.nodes[index]!),
      );
    } finally {
      reporter?.close();
    }
    executed.results.forEach((result, index) => {
      const record = records[toChange[index]!]!;
      record.run = result;
      if (result.status === 'ok') Object.assign(record, outcomeOfResult(result.value!));
      else if (result.status === 'skipped') {
        record.outcome = 'skipped';
        record.message = 'not carried out: interrupted';
      } else Object.assign(record, outcomeFields(failureOutcome(result)));
    });
    interrupted = executed.interrupted || signal.aborted;
    return finish();
  } finally {
    cluster.close();
  }
}

function outcomeFields(outcome: NodeOutcome): Pick<NodeRecord, 'outcome' | 'message'> {
  return { outcome: outcome.outcome, message: outcome.message };
}
