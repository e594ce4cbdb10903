/**
 * The keys that change things — d (deploy/update), s (scale), P (promote a canary), r (rollback),
 * x (stop), p (purge) — go through the CLI's own rollout (`src/client/rollout.ts`): the job's
 * lease and a plan on every target node → the confirmation pane (the rollout's confirm step) with
 * the CLI's plan tables, the waves and the equivalent CLI command → the operation wave by wave on
 * the nodes the rollout carries out, with NDJSON progress per node on the rollout board. The
 * reducer decides when (`plan`, `execute`, `decline` effects); this carries them out and reports
 * back. The lease is given back when the rollout ends or is declined.
 */
import type { Cluster } from '../../src/client/cluster.js';
import { FleetLease, type LeaseHolder, localHolder } from '../../src/client/lease.js';
import {
  deployOperation,
  type PlannedRollout,
  planRollout,
  promoteOperation,
  type RolloutOperation,
  type RolloutResult,
  rollbackOperation,
  stopOperation,
  whereNodesStand,
} from '../../src/client/rollout.js';
import { checkJobAgainstInventory, credentialsOfRun, type LoadedJob } from '../../src/config/index.js';
import { jobImages, primaryImage } from '../../src/core/entries.js';
import { changeLines } from '../../src/core/format.js';
import { defaultLeaseTtlMs } from '../../src/core/lease.js';
import { nodeLabel } from '../../src/core/outcome.js';
import {
  deploymentSummaryLines,
  jobSummaryOf,
  nodeStatusLines,
  stopSummaryLines,
} from '../../src/core/summary.js';
import { nodeList, scheduleLines } from '../../src/core/waves.js';
import type { Inventory, InventoryNode } from '../../src/protocol/inventory.js';
import type { PlanIntent } from '../store/effects.js';
import type { NodePlan, OperationKind, OperationRequest } from '../store/state.js';
import type { Store } from '../store/store.js';
import { candidateJobFiles, describeError, findJobFile, loadJob } from './job-files.js';

export interface ActionsOptions {
  inventory: Inventory;
  /** Path to show in CLI commands (`-i …`); null in embedded mode. */
  inventoryPath: string | null;
  /** Job files given on the command line. */
  jobFiles: readonly string[];
  cwd: string;
  /** Embedded mode: every job goes to the one local node, whatever its target says. */
  embedded: boolean;
  /** When a rollout finished (default: the wall clock). */
  now?: () => number;
  /** Who takes the job's lease for a command (default: this machine's operator, see lease.ts). */
  holder?: (command: string) => LeaseHolder;
  /** `${VAR}`s of job files and the Docker client configuration (default: the process's). */
  env?: Record<string, string | undefined>;
}

const TITLES: Readonly<Record<OperationKind, string>> = {
  deploy: 'Deploy',
  scale: 'Scale',
  promote: 'Promote',
  rollback: 'Rollback',
  stop: 'Stop',
  purge: 'Purge',
};

function quote(arg: string): string {
  return /^[\w./:@%+=,-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export class ActionsController {
  private nextId = 1;
  private running = false;
  /** The rollout planned for the request the confirmation pane shows (one at a time), and its lease. */
  private pending: { request: OperationRequest; planned: PlannedRollout | null; lease: FleetLease } | null =
    null;

  constructor(
    private readonly store: Store,
    private readonly cluster: Cluster,
    private readonly options: ActionsOptions,
  ) {}

  // -------------------------------------------------------------------------------------------
  // Choosing and planning

  /** The `listJobFiles` effect: the files `d` offers. */
  async listJobFiles(): Promise<void> {
    const files = await candidateJobFiles(
      this.options.jobFiles,
      this.options.cwd,
      this.options.inventoryPath,
    );
    this.store.dispatch({ type: 'jobFilesListed', files });
  }

  /** The `plan` effect: load what the operation needs, then ask every target node for a plan. */
  async plan(intent: PlanIntent): Promise<void> {
    switch (intent.op) {
      case 'deploy':
        return this.planDeployFile(intent.file);
      case 'scale':
        return this.planScale(intent.job, intent.count);
      case 'promote':
        return this.planPromote(intent.job);
      default:
        return this.planJobOperation(intent.op, intent.job, intent.reporting, intent.image);
    }
  }

  /** The job's targets, or null after a flash saying what is wrong with them. */
  private targetsOrFlash(loaded: LoadedJob): InventoryNode[] | null {
    try {
      return this.targetsOf(loaded);
    } catch (error) {
      this.store.dispatch({ type: 'flash', text: describeError(error), level: 'error' });
      return null;
    }
  }

  private targetsOf(loaded: LoadedJob): InventoryNode[] {
    if (this.options.embedded) return [...this.options.inventory.nodes];
    return checkJobAgainstInventory(loaded.spec, this.options.inventory, loaded.file);
  }

  private async planDeployFile(file: string): Promise<void> {
    const loaded = await loadJob(this.options.cwd, file, { env: this.env });
    if ('error' in loaded) {
      this.store.dispatch({ type: 'flash', text: loaded.error, level: 'error' });
      return;
    }
    const nodes = this.targetsOrFlash(loaded.job);
    if (!nodes) return;
    const spec = loaded.job.spec;
    const registryAuth = await this.credentialsFor(loaded.job);
    if (!registryAuth) return;
    await this.planOn(
      { id: this.nextId++, op: 'deploy', job: spec.name, nodes: nodes.map((n) => n.name), file, count: null },
      deployOperation(spec, registryAuth),
      deploymentSummaryLines(jobSummaryOf(spec)),
    );
  }

  /** The job file that defines `job`, or a flash saying how to give one (`what`: to scale it). */
  private async jobFileFor(job: string, what: string) {
    const files = await candidateJobFiles(
      this.options.jobFiles,
      this.options.cwd,
      this.options.inventoryPath,
    );
    const found = await findJobFile(this.options.cwd, files, job, { env: this.env });
    if (!found) {
      this.store.dispatch({
        type: 'flash',
        text: `No job file defines ${job}: pass it on the command line (dokkup tui ${job}.yaml) to ${what}`,
        level: 'error',
      });
    }
    return found;
  }

  private async planPromote(job: string): Promise<void> {
    const found = await this.jobFileFor(job, 'promote it');
    if (!found) return;
    const nodes = this.targetsOrFlash(found.job);
    if (!nodes) return;
    const spec = found.job.spec;
    const registryAuth = await this.credentialsFor(found.job);
    if (!registryAuth) return;
    await this.planOn(
      {
        id: this.nextId++,
        op: 'promote',
        job,
        nodes: nodes.map((n) => n.name),
        file: found.file,
        count: null,
      },
      promoteOperation(spec, registryAuth),
      deploymentSummaryLines(jobSummaryOf(spec)),
    );
  }

  private async planScale(job: string, count: number): Promise<void> {
    const found = await this.jobFileFor(job, 'scale it');
    if (!found) return;
    const nodes = this.targetsOrFlash(found.job);
    if (!nodes) return;
    const spec = { ...found.job.spec, count };
    const registryAuth = await this.credentialsFor(found.job);
    if (!registryAuth) return;
    await this.planOn(
      { id: this.nextId++, op: 'scale', job, nodes: nodes.map((n) => n.name), file: found.file, count },
      deployOperation(spec, registryAuth),
      deploymentSummaryLines(jobSummaryOf(spec)),
    );
  }

  private async planJobOperation(
    op: 'rollback' | 'stop' | 'purge',
    job: string,
    reporting: readonly string[],
    reportedImage: string | null,
  ): Promise<void> {
    const files = await candidateJobFiles(
      this.options.jobFiles,
      this.options.cwd,
      this.options.inventoryPath,
    );
    // A stop needs only the job's name and targets: its secrets need not be set.
    const variables = op === 'rollback' ? 'required' : 'lenient';
    const found = await findJobFile(this.options.cwd, files, job, { env: this.env, variables });
    let nodes: string[];
    if (found) {
      try {
        nodes = this.targetsOf(found.job).map((n) => n.name);
      } catch (error) {
        this.store.dispatch({ type: 'flash', text: describeError(error), level: 'error' });
        return;
      }
    } else {
      // No job file: the nodes that report the job.
      nodes = [...reporting];
    }
    if (nodes.length === 0) {
      this.store.dispatch({ type: 'flash', text: `No node has ${job}`, level: 'info' });
      return;
    }
    const image = (found ? primaryImage(found.job.spec) : undefined) ?? reportedImage ?? '-';
    const policy = found?.job.spec.update ?? {};
    const group = found ? jobSummaryOf(found.job.spec).group : nodes.join(',');
    const summary =
      op === 'rollback'
        ? found
          ? deploymentSummaryLines(jobSummaryOf(found.job.spec))
          : ['Rollback summary:', '', `NAME     IMAGE`, `${job}     ${image}`]
        : stopSummaryLines(found ? jobSummaryOf(found.job.spec) : { name: job, image, group });
    await this.planOn(
      { id: this.nextId++, op, job, nodes, file: found?.file ?? null, count: null },
      op === 'rollback'
        ? rollbackOperation(job, undefined, policy, {
            source: credentialsOfRun(this.env, found?.job ?? null, this.options.inventory),
            images: found ? jobImages(found.job.spec) : [],
          })
        : stopOperation(job, op === 'purge', policy),
      summary,
    );
  }

  private get env(): Record<string, string | undefined> {
    return this.options.env ?? process.env;
  }

  /**
   * The operator's credentials for the job's images, the CLI's way (src/config): the job file's
   * and the inventory's registries:, then the Docker client configuration. Looked up afresh for
   * every plan (a token may have been renewed since the TUI started). Null (and a flash) when a
   * credential helper fails.
   */
  private async credentialsFor(job: LoadedJob) {
    try {
      return await credentialsOfRun(this.env, job, this.options.inventory).forImages(jobImages(job.spec));
    } catch (error) {
      this.store.dispatch({ type: 'flash', text: describeError(error), level: 'error' });
      return null;
    }
  }

  private nodesOf(names: readonly string[]): InventoryNode[] {
    return names
      .map((n) => this.options.inventory.nodes.find((x) => x.name === n))
      .filter((n): n is InventoryNode => !!n);
  }

  private async planOn(
    request: OperationRequest,
    operation: RolloutOperation,
    summary: string[],
  ): Promise<void> {
    const title = `${TITLES[request.op]} ${request.job}`;
    // The CLI's default TTL for a fleet of this size (DOKKUP_LEASE_TTL is the CLI's own setting).
    const ttlMs = defaultLeaseTtlMs(request.nodes.length);
    const holder = (this.options.holder ?? ((command) => localHolder(command, process.env, ttlMs)))(
      `tui: ${
        this.cliCommand(request)
          .replace(/^dokkup /, '')
          .split('   #')[0]
      }`,
    );
    const lease = new FleetLease(this.cluster, request.job, holder);
    this.pending = { request, planned: null, lease };
    this.store.dispatch({ type: 'planStarted', request, title });
    let planned: PlannedRollout;
    try {
      planned = await planRollout({
        cluster: this.cluster,
        job: request.job,
        operation,
        nodes: this.nodesOf(request.nodes),
        lease,
      });
    } catch (error) {
      void lease.release();
      if (this.pending?.request === request) this.pending = null;
      this.store.dispatch({ type: 'planFailed', request, error: describeError(error) });
      return;
    }
    // Cancelled (or replaced) while the nodes were answering: nothing to keep.
    if (this.pending?.request !== request) {
      void lease.release();
      return;
    }
    if (planned.refused || (planned.blocked && !planned.blocked.nothing)) {
      void lease.release();
      this.pending = null;
      const why = planned.refused
        ? `${planned.refused.message} (on ${planned.refused.node.name}); nothing was changed`
        : `${planned.blocked!.message}; nothing was changed`;
      this.store.dispatch({ type: 'planFailed', request, error: why });
      return;
    }
    this.pending.planned = planned;
    const scheduled = new Set(planned.scheduled);
    const nodes: NodePlan[] = planned.nodes.map((record) => ({
      node: record.node.name,
      status: record.plan.status,
      plan: record.plan.value ?? null,
      error: record.plan.error?.message ?? null,
      changes: scheduled.has(record),
      wave: record.wave,
      canary: record.canary,
      outcome: record.outcome,
      message: record.message,
    }));
    const kind =
      request.op === 'rollback'
        ? 'rollback'
        : request.op === 'stop' || request.op === 'purge'
          ? 'stop'
          : 'run';
    const table = nodeStatusLines(
      kind,
      nodes.map((n) => ({ name: n.node, label: nodeLabel(n.status), ...(n.plan ? { plan: n.plan } : {}) })),
      { purge: request.op === 'purge' },
    );
    const lines = [...summary, '', ...table];
    if (request.op === 'scale') lines.push('', `Count per node: ${request.count}`);
    const waves = scheduleLines(planned.schedule, this.waysOn(request));
    if (waves.length > 0) lines.push('', ...waves);
    if (scheduled.size === 0 && planned.schedule.held === null) {
      lines.push(
        '',
        planned.blocked?.message ?? 'Nothing to do: every reachable node is already up to date.',
      );
    } else {
      // What would change, as `dokkup plan job` shows it: environment keys, never values.
      const changes = nodes.flatMap((n) => (n.plan && n.changes ? [{ name: n.node, plan: n.plan }] : []));
      if (changes.length > 0) lines.push('', ...changeLines(changes));
    }
    this.store.dispatch({
      type: 'planReady',
      request,
      title,
      summary: lines,
      nodes,
      command: this.cliCommand(request),
    });
  }

  /** The `decline` effect: the operator cancelled; the planned rollout is dropped, its lease given back. */
  decline(request: OperationRequest): void {
    if (this.pending?.request.id !== request.id) return;
    this.pending.planned?.decline();
    void this.pending.lease.release();
    this.pending = null;
  }

  /** The commands that go on from a canary, as the pane spells them. */
  private waysOn(request: OperationRequest): { promote: string; rollback: string } {
    return {
      promote: this.cliCommand({ ...request, op: 'promote' }),
      rollback: this.cliCommand({ ...request, op: 'rollback' }),
    };
  }

  /** The CLI command that does the same. */
  cliCommand(request: OperationRequest): string {
    const inv = this.options.inventoryPath ? ` -i ${quote(this.options.inventoryPath)}` : '';
    const file = request.file ? quote(request.file) : `<${request.job}.yaml>`;
    const embedded = this.options.embedded ? '   # embedded agent: with an inventory of this machine' : '';
    switch (request.op) {
      case 'deploy':
        return `dokkup run job${inv} ${file}${embedded}`;
      case 'scale':
        return `dokkup run job${inv} ${file}   # with count: ${request.count} in ${file}${embedded ? ';' : ''}${embedded}`;
      case 'promote':
        return `dokkup promote job${inv} ${file}${embedded}`;
      case 'rollback':
        return `dokkup rollback job${inv} ${file}${embedded}`;
      case 'stop':
        return `dokkup stop job${inv} ${file}${embedded}`;
      case 'purge':
        return `dokkup stop job --purge${inv} ${file}${embedded}`;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Carrying it out

  /** The `execute` effect: the confirmed rollout, on the nodes whose plan changes something. */
  async execute(request: OperationRequest): Promise<void> {
    const dispatch = this.store.dispatch.bind(this.store);
    const pending = this.pending;
    if (this.running || pending?.request.id !== request.id || !pending.planned) {
      // Not the plan that was confirmed (the keys cannot do this): the board must not wait forever.
      dispatch({ type: 'rolloutFinished', at: (this.options.now ?? Date.now)() });
      return;
    }
    this.pending = null;
    this.running = true;
    const reverting = new Set<string>();
    // What the board shows of each node (from the plan, then from each node's settling).
    const shown = new Map(pending.planned.nodes.map((r) => [r.node.name, `${r.outcome}\u0000${r.message}`]));
    let after: string[] = [];
    try {
      const result = await pending.planned.execute({
        onWaveStart: (wave) =>
          dispatch({ type: 'rolloutWave', index: wave.index, count: wave.count, phase: wave.phase }),
        onNodeStart: (node, phase) => {
          if (phase === 'revert') reverting.add(node.name);
          dispatch({
            type: 'rolloutProgress',
            node: node.name,
            message: phase === 'revert' ? 'Reverting' : 'Starting',
            reverting: phase === 'revert',
          });
        },
        onProgress: (node, line) =>
          dispatch({
            type: 'rolloutProgress',
            node: node.name,
            message: line.message,
            phase: line.phase,
            ...(line.current !== undefined ? { current: line.current } : {}),
            ...(line.total !== undefined ? { total: line.total } : {}),
          }),
        onNodeDone: (record, phase) => {
          shown.set(record.node.name, `${record.outcome}\u0000${record.message}`);
          dispatch({
            type: 'rolloutNode',
            node: record.node.name,
            status: record.outcome,
            message: record.message,
            phase,
          });
        },
      });
      // Outcomes settled after the waves (not started, promoted) reach the board too.
      for (const record of result.nodes) {
        if (shown.get(record.node.name) === `${record.outcome}\u0000${record.message}`) continue;
        dispatch({
          type: 'rolloutNode',
          node: record.node.name,
          status: record.outcome,
          message: record.message,
        });
      }
      after = afterLines(result, this.waysOn(request));
    } catch (error) {
      dispatch({ type: 'flash', text: describeError(error), level: 'error' });
    } finally {
      await pending.lease.release();
      this.running = false;
      dispatch({ type: 'rolloutFinished', at: (this.options.now ?? Date.now)(), after });
    }
  }
}

/** What the board says under its nodes once the rollout ended: where the fleet stands, how to go on. */
function afterLines(result: RolloutResult, ways: { promote: string; rollback: string }): string[] {
  const lines: string[] = [];
  const versioned = result.schedule.mode !== 'stop';
  const stand = whereNodesStand(result.nodes)
    .map((g) => `${g.version} on ${nodeList(g.nodes)}`)
    .join(' · ');
  if (result.stopped?.reason === 'failed') {
    lines.push(`Stopped after ${result.stopped.node} failed: no further wave started.`);
    if (result.reverted.length > 0) lines.push(`Reverted: ${nodeList(result.reverted)}.`);
  } else if (result.stopped?.reason === 'lease-lost') {
    lines.push(`Stopped: the lease on ${result.stopped.node} was lost.`);
  } else if (result.schedule.canary && result.schedule.mode === 'deploy' && result.ended === 'executed') {
    lines.push(`Canary out on ${nodeList(result.schedule.canary.nodes)}.`);
    lines.push(`P promotes it (${ways.promote}); r takes it back (${ways.rollback}).`);
  }
  if (versioned && stand && lines.length > 0) lines.push(`Now: ${stand}.`);
  return lines;
}
