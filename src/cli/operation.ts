/**
 * The two shapes every fan-out command has.
 *
 * `runOperation` (`run job`, `promote job`, `rollback job`, `stop job`) drives a rollout
 * (src/client/rollout.ts) and renders it:
 *   1. take the job's lease on every target node (a second operator is refused here) and plan;
 *   2. print the summary, the `Node statuses:` table and the waves; warn about nodes left out;
 *   3. ask (unless `-y`; refuse without a terminal), or stop here when nothing would change;
 *   4. carry the operation out wave by wave, showing progress per node;
 *   5. print the per-node outcome summary (and, after a canary, the two ways on), give the lease
 *      back, and exit with the code the outcomes call for.
 *
 * `runRead` (`show job`, `show nodes`, `history job`, `plan job`): ask every node one question,
 * print a table (warning about nodes that did not answer) or one JSON document.
 */
import type { AgentClient } from '../client/agent-client.js';
import type { Cluster, ClusterRun } from '../client/cluster.js';
import { FleetLease, localHolder } from '../client/lease.js';
import {
  type PlannedRollout,
  planRollout,
  type RolloutNode,
  type RolloutOperation,
  type RolloutResult,
  rollbackOperation,
  rolloutExitCode,
  versionAfter,
  whereNodesStand,
} from '../client/rollout.js';
import { formatDurationMs, parseDurationMs } from '../core/duration.js';
import { defaultLeaseTtlMs } from '../core/lease.js';
import { nodeLabel } from '../core/outcome.js';
import { terminalText } from '../core/terminal-text.js';
import { nodeList, scheduleLines } from '../core/waves.js';
import { CLI_JSON_SCHEMA_VERSION, type OperationJson, OperationJsonSchema } from '../protocol/cli-json.js';
import type { InventoryNode } from '../protocol/inventory.js';
import { booleanFlag, type CommandContext, UsageError } from './command.js';
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
  /**
   * run job: once its canary is out, watch it this long and promote it with `promote` if it
   * stayed healthy (`--promote-after`, `update.auto_promote`).
   */
  promoteAfter?: { ms: number; promote: RolloutOperation };
}

/**
 * `DOKKUP_LEASE_TTL` (a duration) or the default for a fleet of `nodes` (30 s, longer on fleets of
 * over 1,500 nodes: see `defaultLeaseTtlMs`): how long a killed CLI's lease blocks the job.
 */
export function leaseTtlOf(env: Record<string, string | undefined>, nodes = 0): number {
  const text = env['DOKKUP_LEASE_TTL'];
  if (text === undefined || text.trim() === '') return defaultLeaseTtlMs(nodes);
  let ms: number;
  try {
    ms = parseDurationMs(text);
  } catch {
    throw new UsageError(`DOKKUP_LEASE_TTL must be a duration like 30s, got "${text}"`);
  }
  if (ms < 1000 || ms > 600_000) throw new UsageError('DOKKUP_LEASE_TTL must be from 1s to 10m');
  return ms;
}

/** How a command on the same job file is spelled, for the lines that say how to go on. */
export function commandLine(context: Pick<CommandContext, 'flags' | 'args'>, words: string): string {
  const inventory = context.flags['inventory'];
  const inv = typeof inventory === 'string' && inventory !== 'inventory.yaml' ? ` -i ${inventory}` : '';
  return `dokkup ${words}${inv} ${context.args[0] ?? 'FILE'}`;
}

/** The two ways on from a canary. */
export function waysOn(context: Pick<CommandContext, 'flags' | 'args'>): {
  promote: string;
  rollback: string;
} {
  return { promote: commandLine(context, 'promote job'), rollback: commandLine(context, 'rollback job') };
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
  const lease = new FleetLease(
    cluster,
    job,
    localHolder(
      `${def.command} ${context.args[0] ?? ''}`.trim(),
      io.env,
      leaseTtlOf(io.env, target.nodes.length),
    ),
  );
  const ways = waysOn(context);

  /** The summary table (unless the operator was asked and said no), or the JSON document. */
  const finish = (result: RolloutResult, after: string[] = []): number => {
    const exitCode = rolloutExitCode(result);
    if (json) writeJson(out, operationJson(def, job, exitCode, result));
    else if (result.ended !== 'declined' && result.ended !== 'confirm-interrupted') {
      writeLines(out, ['', ...renderOutcomes(outcomesOf(result), style), ...after]);
    }
    return exitCode;
  };

  try {
    // 1. The lease, then the plans.
    // Without --promote-after nothing follows the rollout under its lease: each node's last
    // request gives it back (one request per node fewer; the rest is given back below).
    const planned = await planRollout({
      cluster,
      job,
      operation: def.operation,
      signal,
      lease,
      leaseEndsWithRollout: def.promoteAfter === undefined,
    });
    if (planned.refused) {
      err.write(
        `dokkup: ${terminalText(planned.refused.message)} (on ${planned.refused.node.name}); nothing was changed.\n` +
          `  ${commandLine(context, 'lock status job')}    shows the lease\n` +
          `  ${commandLine(context, 'lock release job')}   breaks it (if its holder is gone)\n`,
      );
      const result = planned.unasked();
      const exitCode = rolloutExitCode(result);
      if (json) writeJson(out, operationJson(def, job, exitCode, result));
      return exitCode;
    }
    for (const node of planned.acquisition?.leaseless ?? []) {
      err.write(`Warning: ${node.name}'s agent predates leases (before 0.4): rolled out without one\n`);
    }

    // 2. Tables, waves and warnings.
    const plans = planned.nodes.map((r) => r.plan);
    if (!json) {
      const rows = plans.map((result) => ({
        name: result.node.name,
        label: nodeLabel(result.status),
        plan: result.value,
      }));
      const waves = planned.blocked ? [] : scheduleLines(planned.schedule, ways);
      writeLines(out, [
        ...def.summary,
        '',
        ...renderNodeStatuses(def.kind, rows, { purge: def.purge, style }),
        ...(waves.length > 0 ? ['', ...waves] : []),
      ]);
    }
    warnSkipped(err, plans, 'it will be skipped');
    if (planned.blocked && !planned.blocked.nothing) {
      err.write(`dokkup: ${terminalText(planned.blocked.message)}; nothing was changed.\n`);
      return finish(planned.unasked());
    }
    if (!planned.needsConfirmation) {
      const result = planned.unasked();
      if (result.ended === 'nothing-to-change' && !json) {
        const canaryOut = planned.schedule.held?.reason === 'canary-out';
        writeLines(out, ['', planned.blocked?.message ?? (canaryOut ? 'Nothing to do.' : def.nothingToDo)]);
      }
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
    if (!json) out.write('\n');
    const result = await carryOut(context, planned, json);
    const canaryDone = canaryIsOut(result);
    if (canaryDone && def.promoteAfter && !json) {
      writeLines(out, ['', ...renderOutcomes(outcomesOf(result), style)]);
    }
    if (canaryDone && def.promoteAfter) {
      return await promoteAfterWatch(context, planned, result, def, lease, ways);
    }
    return finish(result, afterLines(result, def, ways, commandLine(context, words(def))));
  } finally {
    await lease.release();
    cluster.close();
  }
}

function words(def: OperationDefinition): string {
  return def.command;
}

/** The summary's rows: each node's outcome, with the times of its operation when it ran. */
function outcomesOf(result: RolloutResult): NodeOutcome[] {
  return result.nodes.map((r) => {
    const ran = r.run?.status === 'online' ? r.run.value : undefined;
    return {
      name: r.node.name,
      outcome: r.outcome,
      message: r.message,
      ...(ran?.cutoverMs !== undefined ? { cutoverMs: ran.cutoverMs } : {}),
      ...(ran?.durationMs !== undefined ? { totalMs: ran.durationMs } : {}),
    };
  });
}

/** A canary phase that went through: the canaries run the new version, the rest is held. */
function canaryIsOut(result: RolloutResult): boolean {
  return (
    result.ended === 'executed' &&
    result.stopped === null &&
    result.schedule.canary !== null &&
    result.schedule.mode === 'deploy'
  );
}

/** The waves, with the live (or plain) progress of every node; resolves with the result. */
async function carryOut(
  context: CommandContext,
  planned: PlannedRollout,
  json: boolean,
): Promise<RolloutResult> {
  const { io, style } = context;
  const out = json ? io.stderr : io.stdout;
  const reporter: ProgressReporter | undefined =
    json && io.stderr.isTTY !== true ? undefined : createProgressReporter(out, json ? plainStyle : style);
  try {
    return await planned.execute({
      onWaveStart: (wave) => {
        if (wave.count === 1 && wave.phase === 'rollout') return;
        const what = wave.phase === 'revert' ? 'Reverting, wave' : 'Wave';
        reporter?.note(style.bold(`${what} ${wave.index + 1}/${wave.count}: ${nodeList(wave.nodes)}`));
      },
      onNodeStart: (node) => reporter?.begin(node.name),
      onProgress: (node, line) => reporter?.update(node.name, terminalText(line.message), line.phase),
      onNodeDone: (record, phase) => {
        const result = phase === 'revert' ? record.revert! : record.run!;
        if (result.status === 'online')
          reporter?.finish(result.node.name, terminalText(record.message), record.outcome !== 'failed');
        else
          reporter?.finish(
            result.node.name,
            `${nodeLabel(result.status)}: ${terminalText(result.error?.message ?? 'failed')}`,
            false,
          );
      },
    });
  } finally {
    // The live lines are gone (and the plain ones flushed) before the summary is printed.
    reporter?.close();
  }
}

/** What follows the summary: where the fleet stands and how to go on. */
function afterLines(
  result: RolloutResult,
  def: OperationDefinition,
  ways: { promote: string; rollback: string },
  again: string,
): string[] {
  if (result.ended !== 'executed') return [];
  const versioned = def.operation.mode !== 'stop';
  const stand = versioned
    ? whereNodesStand(result.nodes)
        .map((g) => `${g.version} on ${nodeList(g.nodes)}`)
        .join(' · ')
    : '';
  const lines: string[] = [];
  const stop = result.stopped;
  if (stop?.reason === 'failed') {
    lines.push(
      `The rollout stopped after ${stop.node} failed: no further wave started.` +
        (result.reverted.length > 0 ? ` Reverted: ${nodeList(result.reverted)}.` : ''),
    );
    if (stand) lines.push(`Now: ${stand}.`);
  } else if (stop?.reason === 'lease-lost') {
    lines.push(
      `The rollout stopped: the lease on ${stop.node} was lost (${terminalText(stop.message ?? '')}).`,
    );
    if (stand) lines.push(`Now: ${stand}.`);
  } else if (result.interrupted) {
    lines.push('Interrupted: no further wave was started.');
    if (stand) lines.push(`Now: ${stand}. Run \`${again}\` again to go on.`);
  } else if (canaryIsOut(result)) {
    const canary = result.schedule.canary!;
    lines.push(
      `Canary: ${nodeList(canary.nodes)} run${canary.nodes.length === 1 ? 's' : ''} ${canary.version}.` +
        (stand ? ` Now: ${stand}.` : ''),
      `  ${ways.promote}    rolls it out to the other nodes, in waves`,
      `  ${ways.rollback}   takes the canary back`,
    );
  }
  return lines.length > 0 ? ['', ...lines] : [];
}

/** `--promote-after`: watch the canaries, then promote them (same lease) or take them back. */
async function promoteAfterWatch(
  context: CommandContext,
  planned: PlannedRollout,
  canaryResult: RolloutResult,
  def: OperationDefinition,
  lease: FleetLease,
  ways: { promote: string; rollback: string },
): Promise<number> {
  const { io, signal, style } = context;
  const json = booleanFlag(context.flags, 'json');
  const out = json ? io.stderr : io.stdout;
  const { cluster, job } = planned.options;
  const canary = canaryResult.schedule.canary!;
  const canaryNodes = planned.nodes.filter((r) => canary.nodes.includes(r.node.name)).map((r) => r.node);
  const { ms, promote } = def.promoteAfter!;
  out.write(
    `\nWatching the canary (${nodeList(canary.nodes)}) for ${formatDurationMs(ms)}: it is promoted if it stays healthy.\n`,
  );
  let lastReport = Date.now();
  // Loaded only when a canary is watched: it opens feeds (ws), which `run` otherwise never needs.
  const { watchCanaries } = await import('../client/canary-watch.js');
  const verdict = await watchCanaries({
    cluster,
    job,
    version: canary.version,
    nodes: canaryNodes,
    durationMs: ms,
    signal,
    request: { lease: lease.id },
    onTick: (left) => {
      if (Date.now() - lastReport < 30_000 || left === 0) return;
      lastReport = Date.now();
      out.write(`  healthy so far; ${formatDurationMs(Math.round(left / 1000) * 1000)} to go\n`);
    },
  });
  if (verdict.kind === 'interrupted') {
    const result = { ...canaryResult, interrupted: true };
    const exitCode = rolloutExitCode(result);
    if (json) writeJson(io.stdout, operationJson(def, job, exitCode, result));
    else
      writeLines(io.stdout, [
        '',
        `Interrupted while watching: the canary stays out (${nodeList(canary.nodes)} on ${canary.version}).`,
        `  ${ways.promote}    rolls it out to the other nodes`,
        `  ${ways.rollback}   takes it back`,
      ]);
    return exitCode;
  }
  const next =
    verdict.kind === 'healthy'
      ? { operation: promote, say: `The canary stayed healthy for ${formatDurationMs(ms)}: promoting it.` }
      : {
          // With the credentials this run brought (the canary's previous image is usually still there).
          operation: rollbackOperation(job, undefined, def.operation.policy, {
            source: { forImages: async () => [...(def.operation.registryAuth ?? [])] },
            images: [],
          }),
          say: `The canary is not healthy: ${verdict.node}: ${terminalText(verdict.reason)}. Taking it back.`,
        };
  out.write(`${style.bold(next.say)}\n`);
  const second = await planRollout({ cluster, job, operation: next.operation, signal, lease });
  if (!json) {
    const waves = scheduleLines(second.schedule, ways);
    if (waves.length > 0) writeLines(out, waves);
  }
  const result = second.needsConfirmation ? await carryOut(context, second, json) : second.unasked();
  const exitCode =
    verdict.kind === 'healthy' ? rolloutExitCode(result) : Math.max(1, rolloutExitCode(result));
  // The second step's records are the command's last word on every node (the canary's own run
  // was summarised before the watch).
  if (json) writeJson(io.stdout, operationJson(def, job, exitCode, result));
  else writeLines(io.stdout, ['', ...renderOutcomes(outcomesOf(result), style)]);
  return exitCode;
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
    waves: result.schedule.waves,
    canary: result.schedule.canary,
    held: result.schedule.held?.nodes ?? [],
    stopped: result.stopped
      ? {
          reason: result.stopped.reason,
          node: result.stopped.node ?? null,
          message: result.stopped.message ?? null,
        }
      : null,
    reverted: result.reverted,
    promoted: result.promoted,
    refused: result.refused
      ? {
          node: result.refused.node.name,
          message: result.refused.message,
          lease: result.refused.error.body.lease ?? null,
        }
      : null,
    nodes: result.nodes.map((record: RolloutNode) => {
      const last = record.revert ?? record.run ?? record.plan;
      const latency = record.plan.latencyMs + (record.run?.latencyMs ?? 0) + (record.revert?.latencyMs ?? 0);
      return {
        node: record.node.name,
        location: record.node.location,
        status: jsonStatusOf(last),
        error: jsonErrorOf(last.error),
        latencyMs: last.status !== 'skipped' ? roundMs(latency) : null,
        plan: record.plan.value ?? null,
        result: record.run?.value ?? null,
        revert: record.revert?.value ?? null,
        outcome: record.outcome,
        message: record.message,
        wave: record.wave,
        canary: record.canary,
        versionAfter: def.operation.mode === 'stop' ? null : versionAfter(record),
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
  cluster: Cluster = makeCluster(context, nodes),
): Promise<number> {
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
