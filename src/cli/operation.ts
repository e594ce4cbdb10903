/**
 * The two shapes every fan-out command has.
 *
 * `runOperation` (`run job`, `rollback job`, `stop job`) drives a rollout (src/client/rollout.ts)
 * and renders it:
 *   1. plan on every target node at once (bounded fan-out);
 *   2. print the summary and the `Node statuses:` table, warn about nodes left out;
 *   3. ask (unless `-y`; refuse without a terminal), or stop here when nothing would change;
 *   4. carry the operation out on the nodes that change, showing progress per node;
 *   5. print the per-node outcome summary and exit with the code the outcomes call for.
 *
 * `runRead` (`show job`, `show nodes`, `history job`, `plan job`): ask every node one question,
 * print a table (warning about nodes that did not answer) or one JSON document.
 */
import type { AgentClient } from '../client/agent-client.js';
import type { ClusterRun } from '../client/cluster.js';
import {
  planRollout,
  type RolloutNode,
  type RolloutOperation,
  type RolloutResult,
} from '../client/rollout.js';
import { exitCodeFor, nodeLabel } from '../core/outcome.js';
import { terminalText } from '../core/terminal-text.js';
import { CLI_JSON_SCHEMA_VERSION, type OperationJson, OperationJsonSchema } from '../protocol/cli-json.js';
import type { InventoryNode } from '../protocol/inventory.js';
import { booleanFlag, type CommandContext } from './command.js';
import {
  type JobTarget,
  jsonErrorOf,
  jsonStatusOf,
  makeCluster,
  readExitCode,
  roundMs,
  warnSkipped,
  writeJson,
  writeLines,
} from './context.js';
import { plainStyle } from './io.js';
import { createProgressReporter, type ProgressReporter } from './progress.js';
import { confirm, NO_TERMINAL_MESSAGE } from './prompt.js';
import { type NodeOutcome, type OperationKind, renderNodeStatuses, renderOutcomes } from './render/tables.js';

export interface OperationDefinition {
  kind: OperationKind;
  command: OperationJson['command'];
  /** What is rolled out (`deployOperation(spec)`, …: src/client/rollout.ts). */
  operation: RolloutOperation;
  /** `Deployment summary:` or `Stop job summary:` with its table. */
  summary: string[];
  /** For the JSON document (see `OperationJsonSchema.version`). */
  version: string | null;
  purge?: boolean;
  /** Printed when no node would change. */
  nothingToDo: string;
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

  /** The summary table (unless the operator was asked and said no), or the JSON document. */
  const finish = (result: RolloutResult): number => {
    const exitCode = exitCodeFor(result.nodes, result.interrupted);
    if (json) writeJson(out, operationJson(def, job, exitCode, result));
    else if (result.ended !== 'declined' && result.ended !== 'confirm-interrupted') {
      const outcomes: NodeOutcome[] = result.nodes.map((r) => {
        const ran = r.run?.status === 'online' ? r.run.value : undefined;
        return {
          name: r.node.name,
          outcome: r.outcome,
          message: r.message,
          ...(ran?.cutoverMs !== undefined ? { cutoverMs: ran.cutoverMs } : {}),
          ...(ran?.durationMs !== undefined ? { totalMs: ran.durationMs } : {}),
        };
      });
      writeLines(out, ['', ...renderOutcomes(outcomes, style)]);
    }
    return exitCode;
  };

  try {
    // 1. Plan everywhere.
    const planned = await planRollout({ cluster, job, operation: def.operation, signal });

    // 2. Tables and warnings.
    const plans = planned.nodes.map((r) => r.plan);
    if (!json) {
      const rows = plans.map((result) => ({
        name: result.node.name,
        label: nodeLabel(result.status),
        plan: result.value,
      }));
      writeLines(out, [
        ...def.summary,
        '',
        ...renderNodeStatuses(def.kind, rows, { purge: def.purge, style }),
      ]);
    }
    warnSkipped(err, plans, 'it will be skipped');
    if (!planned.needsConfirmation) {
      const result = planned.unasked();
      if (result.ended === 'nothing-to-change' && !json) writeLines(out, ['', def.nothingToDo]);
      return finish(result);
    }

    // 3. Ask.
    const answer = await confirm(io, json ? err : out, { yes: booleanFlag(context.flags, 'yes'), signal });
    if (answer !== 'yes') {
      const result = planned.decline(answer === 'interrupted' ? 'interrupted' : 'no');
      if (answer === 'no-terminal') err.write(`${NO_TERMINAL_MESSAGE}\n`);
      else if (answer === 'no' && !json) out.write('Aborted: nothing was changed.\n');
      return finish(result);
    }

    // 4. Carry it out, with progress.
    const reporter: ProgressReporter | undefined =
      json && err.isTTY !== true
        ? undefined
        : createProgressReporter(json ? err : out, json ? plainStyle : style);
    if (!json) out.write('\n');
    let result: RolloutResult;
    try {
      result = await planned.execute({
        onNodeStart: (node) => reporter?.begin(node.name),
        onProgress: (node, line) => reporter?.update(node.name, terminalText(line.message), line.phase),
        onNodeDone: (record) => {
          const run = record.run!;
          if (run.status === 'online')
            reporter?.finish(run.node.name, terminalText(record.message), record.outcome !== 'failed');
          else
            reporter?.finish(
              run.node.name,
              `${nodeLabel(run.status)}: ${terminalText(run.error?.message ?? 'failed')}`,
              false,
            );
        },
      });
    } finally {
      // The live lines are gone (and the plain ones flushed) before the summary is printed.
      reporter?.close();
    }
    return finish(result);
  } finally {
    cluster.close();
  }
}

function operationJson(
  def: OperationDefinition,
  job: string,
  exitCode: number,
  result: RolloutResult,
): OperationJson {
  const document: OperationJson = {
    schema: CLI_JSON_SCHEMA_VERSION,
    command: def.command,
    exitCode,
    job,
    version: def.version,
    ...(def.purge === undefined ? {} : { purge: def.purge }),
    confirmed: result.confirmed,
    interrupted: result.interrupted,
    nodes: result.nodes.map((record: RolloutNode) => {
      const last = record.run ?? record.plan;
      const latency = record.plan.latencyMs + (record.run?.latencyMs ?? 0);
      return {
        node: record.node.name,
        location: record.node.location,
        status: jsonStatusOf(last),
        error: jsonErrorOf(last.error),
        latencyMs: last.status !== 'skipped' ? roundMs(latency) : null,
        plan: record.plan.value ?? null,
        result: record.run?.value ?? null,
        outcome: record.outcome,
        message: record.message,
      };
    }),
  };
  return OperationJsonSchema.parse(document);
}

export interface ReadDefinition<T> {
  /** The question every node is asked. */
  read(client: AgentClient, node: InventoryNode): Promise<T>;
  /** The `--json` document (checked against its schema by the command). */
  json(run: ClusterRun<T>, exitCode: number): unknown;
  /** The table, as lines. */
  render(run: ClusterRun<T>): string[];
  /** How a node that did not answer is warned about: `…; ${skipped}`. */
  skipped: string;
  /** Default: nodes that answered are fine; the others decide (`readExitCode`). */
  exitCode?(run: ClusterRun<T>): number;
}

export async function runRead<T>(
  context: CommandContext,
  nodes: readonly InventoryNode[],
  def: ReadDefinition<T>,
): Promise<number> {
  const cluster = makeCluster(context, nodes);
  try {
    const run = await cluster.run(def.read, { signal: context.signal });
    const exitCode = (def.exitCode ?? readExitCode)(run);
    if (booleanFlag(context.flags, 'json')) writeJson(context.io.stdout, def.json(run, exitCode));
    else {
      writeLines(context.io.stdout, def.render(run));
      warnSkipped(context.io.stderr, run.results, def.skipped);
    }
    return exitCode;
  } finally {
    cluster.close();
  }
}
