/**
 * Step 4 of a rollout (src/client/rollout.ts): the waves of one confirmed rollout, then its
 * revert (auto_revert, after a failure) or its promotion (the canaries' marks cleared once every
 * node runs the canary's version). Each node's record is settled in place.
 */

import { NOT_CARRIED_OUT, outcomeOfResult, outcomeOfStatus } from '../core/outcome.js';
import { DEFAULT_AUTO_REVERT, splitIntoWaves } from '../core/waves.js';
import type { OperationResult } from '../protocol/api.js';
import type { InventoryNode } from '../protocol/inventory.js';
import type { AgentClient, ProgressCallback, RequestOptions } from './agent-client.js';
import type { NodeResult } from './cluster.js';
import type {
  ExecuteHooks,
  PlannedRollout,
  RolloutNode,
  RolloutPhase,
  RolloutResult,
  RolloutStop,
} from './rollout.js';

/** The waves of one confirmed rollout, then its revert or its promotion. */
export class Execution {
  private readonly byName: Map<string, RolloutNode>;
  private readonly signal: AbortSignal | undefined;
  /** Nodes this rollout moved to another version, in the order they were moved. */
  private readonly moved: RolloutNode[] = [];
  private stopped: RolloutStop | null = null;

  constructor(
    private readonly planned: PlannedRollout,
    private readonly hooks: ExecuteHooks,
  ) {
    this.byName = new Map(planned.nodes.map((record) => [record.node.name, record]));
    this.signal = hooks.signal ?? planned.options.signal;
  }

  /** A node's request options: its lease (which the request renews), if the rollout holds one. */
  private request(node: InventoryNode): RequestOptions {
    return this.planned.options.lease?.requestFor(node) ?? {};
  }

  /**
   * The options of a node's operation in the waves: when nothing can follow it on that node in
   * this rollout (no revert can reach it, no promotion, nothing under the same lease after the
   * rollout), the agent is asked to give the lease back at its end (`FleetLease.lastRequestFor`).
   */
  private waveRequest(record: RolloutNode): RequestOptions {
    const { lease, leaseEndsWithRollout } = this.planned.options;
    if (!lease) return {};
    return leaseEndsWithRollout && this.isLastRequest(record)
      ? lease.lastRequestFor(record.node)
      : lease.requestFor(record.node);
  }

  /** Whether the wave's operation is the last request this rollout sends to the node. */
  private isLastRequest(record: RolloutNode): boolean {
    const { operation } = this.planned.options;
    switch (this.planned.schedule.mode) {
      // Neither is reverted (see `revert`) nor followed by anything.
      case 'rollback':
      case 'stop':
        return true;
      // A revert reaches only nodes that ran a version before (see `revert`).
      case 'deploy':
        return (
          !(operation.policy.autoRevert ?? DEFAULT_AUTO_REVERT) || record.plan.value?.versionFrom === null
        );
      // The canaries' marks are cleared after the waves; a failure takes every node back.
      default:
        return false;
    }
  }

  async run(): Promise<RolloutResult> {
    const { schedule, options } = this.planned;
    const waves = schedule.waves.map((wave) => wave.map((name) => this.byName.get(name)!));
    for (let index = 0; index < waves.length && !this.stopped; index++) {
      const lost = options.lease?.lost();
      if (this.signal?.aborted) this.stopped = { reason: 'interrupted' };
      else if (lost) this.stopped = { reason: 'lease-lost', node: lost.node, message: lost.message };
      else await this.rolloutWave(waves[index]!, index, waves.length);
    }
    // Nodes of waves that never started.
    for (const record of this.planned.scheduled) if (!record.run) this.notStarted(record);

    const reverted = this.stopped?.reason === 'failed' ? await this.revert() : [];
    const promoted = !this.stopped && schedule.mode === 'promote' ? await this.promoteCanaries() : [];
    return this.planned.end(
      'executed',
      this.stopped?.reason === 'interrupted' || (this.signal?.aborted ?? false),
      {
        stopped: this.stopped,
        reverted,
        promoted,
      },
    );
  }

  private async rolloutWave(wave: RolloutNode[], index: number, count: number): Promise<void> {
    const { operation } = this.planned.options;
    const canaries = new Set(this.planned.schedule.canary?.nodes ?? []);
    const phase: RolloutPhase = 'rollout';
    this.hooks.onWaveStart?.({ index, count, nodes: wave.map((r) => r.node.name), phase });
    await this.runWave(
      wave,
      phase,
      (client, node, onProgress) =>
        operation.execute(client, onProgress, {
          node,
          canary: canaries.has(node.name),
          request: this.waveRequest(this.byName.get(node.name)!),
          plan: this.byName.get(node.name)?.plan.value ?? null,
        }),
      (record, result) => {
        record.run = result;
        settle(record, result);
        const value = result.value;
        if (record.outcome === 'succeeded' || record.outcome === 'unchanged') {
          if (value && value.versionTo !== value.versionFrom) this.moved.push(record);
          return true;
        }
        this.stopped ??= { reason: 'failed', node: record.node.name, message: record.message };
        return false;
      },
    );
  }

  /**
   * One wave: its nodes at once (bounded by the cluster's concurrency). A node that fails stops
   * the dispatch of the wave's other nodes; the ones in flight finish.
   */
  private async runWave(
    records: RolloutNode[],
    phase: RolloutPhase,
    task: (
      client: AgentClient,
      node: InventoryNode,
      onProgress: ProgressCallback,
    ) => Promise<OperationResult>,
    done: (record: RolloutNode, result: NodeResult<OperationResult>) => boolean,
  ): Promise<void> {
    const waveStop = new AbortController();
    const onAbort = () => waveStop.abort();
    if (this.signal?.aborted) waveStop.abort();
    this.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.planned.options.cluster.run(
        (client, node) => {
          this.hooks.onNodeStart?.(node, phase);
          return task(client, node, (line) => this.hooks.onProgress?.(node, line));
        },
        {
          signal: waveStop.signal,
          onSettled: (result) => {
            this.planned.options.lease?.operationEnded(result.node);
            const record = this.byName.get(result.node.name)!;
            if (!done(record, result)) waveStop.abort();
            this.hooks.onNodeDone?.(record, phase);
          },
        },
        records.map((record) => record.node),
      );
    } finally {
      this.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** A scheduled node whose wave (or turn in it) never came: not contacted. */
  private notStarted(record: RolloutNode): void {
    record.run = { node: record.node, status: 'skipped', latencyMs: 0 };
    const stop = this.stopped;
    if (stop?.reason === 'failed') {
      Object.assign(record, {
        outcome: 'untouched',
        message: `not started: the rollout stopped after ${stop.node} failed`,
      });
    } else if (stop?.reason === 'lease-lost') {
      Object.assign(record, {
        outcome: 'untouched',
        message: `not started: the lease on ${stop.node} was lost (${stop.message})`,
      });
    } else {
      Object.assign(record, { outcome: 'skipped', message: NOT_CARRIED_OUT });
    }
  }

  /**
   * auto_revert: every node this rollout moved goes back to the version it ran before (a
   * rollback to it, the same zero-downtime path), in waves of the same size. A promote that
   * fails takes its canaries back too, so the fleet ends on the version it ran before. A rollback
   * that fails is not undone: it is usually the way out of a bad version, and undoing it would
   * put the bad version back on the nodes that got away from it.
   */
  private async revert(): Promise<string[]> {
    const { options, schedule } = this.planned;
    if (schedule.mode !== 'deploy' && schedule.mode !== 'promote') return [];
    if (!(options.operation.policy.autoRevert ?? DEFAULT_AUTO_REVERT)) return [];
    const back = new Map<string, string>();
    const revertable: RolloutNode[] = [];
    for (const record of this.moved) {
      const from = record.run?.value?.versionFrom ?? null;
      if (from === null) {
        record.message = `${record.message} (kept: it ran no earlier version to go back to)`;
        continue;
      }
      back.set(record.node.name, from);
      revertable.push(record);
    }
    if (schedule.mode === 'promote') {
      for (const record of this.planned.nodes) {
        const mark = record.plan.value?.canary;
        if (
          mark &&
          mark.version === options.operation.version &&
          mark.from !== null &&
          !back.has(record.node.name)
        ) {
          back.set(record.node.name, mark.from);
          revertable.push(record);
        }
      }
    }
    const failed = this.stopped?.node;
    const reverted: string[] = [];
    const waves = splitIntoWaves(revertable, schedule.waveSize);
    for (let index = 0; index < waves.length; index++) {
      const wave = waves[index]!;
      if (this.signal?.aborted) {
        for (const record of waves.slice(index).flat()) {
          const runs = record.run?.value?.versionTo ?? record.plan.value?.versionFrom ?? '-';
          Object.assign(record, {
            outcome: 'skipped',
            message: `not reverted: interrupted (it runs ${runs})`,
          });
        }
        break;
      }
      this.hooks.onWaveStart?.({
        index,
        count: waves.length,
        nodes: wave.map((r) => r.node.name),
        phase: 'revert',
      });
      await this.runWave(
        wave,
        'revert',
        (client, node, onProgress) =>
          client.rollback(options.job, back.get(node.name), onProgress, {
            ...this.request(node),
            // The credentials this run brought for the job's images: the version a node goes
            // back to was pulled before, and is pulled again only if the engine lost it.
            ...(options.operation.registryAuth?.length
              ? { registryAuth: options.operation.registryAuth }
              : {}),
          }),
        (record, result) => {
          record.revert = result;
          const to = back.get(record.node.name)!;
          const value = result.value;
          if (result.status === 'online' && value?.ok) {
            reverted.push(record.node.name);
            Object.assign(record, {
              outcome: 'reverted',
              message: `reverted to ${to} after ${failed} failed`,
            });
          } else {
            const why =
              result.status === 'online'
                ? outcomeOfResult(value!).message
                : (result.error?.message ?? 'failed');
            Object.assign(record, { outcome: 'failed', message: `the revert to ${to} failed: ${why}` });
          }
          // A revert that fails does not stop the others: put back as much as can be.
          return true;
        },
      );
    }
    return reverted;
  }

  /** promote, every node on the version: the canaries' marks are cleared. */
  private async promoteCanaries(): Promise<string[]> {
    const { options } = this.planned;
    const version = options.operation.version!;
    const marked = this.planned.nodes.filter((r) => r.plan.value?.canary?.version === version);
    if (marked.length === 0) return [];
    const promoted: string[] = [];
    const run = await options.cluster.run(
      (client, node) => client.promote(options.job, version, this.request(node)),
      {},
      marked.map((r) => r.node),
    );
    for (const result of run.results) {
      const record = this.byName.get(result.node.name)!;
      if (result.status === 'online') {
        promoted.push(record.node.name);
        Object.assign(record, { outcome: 'succeeded', message: `Canary of ${version} promoted` });
      } else {
        Object.assign(record, {
          outcome: 'failed',
          message: `could not clear its canary mark: ${result.error?.message ?? result.status}`,
        });
      }
    }
    return promoted;
  }
}

function settle(record: RolloutNode, result: NodeResult<OperationResult>): void {
  if (result.status === 'online') Object.assign(record, outcomeOfResult(result.value!));
  else if (result.status === 'skipped')
    Object.assign(record, { outcome: 'skipped', message: NOT_CARRIED_OUT });
  else Object.assign(record, outcomeOfStatus(result.status, result.error?.message));
}
