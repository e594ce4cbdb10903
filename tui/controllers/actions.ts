/**
 * The keys that change things — d (deploy/update), s (scale), r (rollback), x (stop), p (purge)
 * — go through the CLI's own rollout (`src/client/rollout.ts`): plan on every target node → the
 * confirmation pane (the rollout's confirm step) with the CLI's plan tables and the equivalent
 * CLI command → the operation on the nodes whose plan changes something, with NDJSON progress
 * per node on the rollout board. The reducer decides when (`plan`, `execute`, `decline`
 * effects); this carries them out and reports back.
 */
import type { Cluster } from '../../src/client/cluster.js';
import {
  deployOperation,
  type PlannedRollout,
  planRollout,
  type RolloutOperation,
  rollbackOperation,
  stopOperation,
} from '../../src/client/rollout.js';
import { checkJobAgainstInventory, credentialsOfRun, type LoadedJob } from '../../src/config/index.js';
import { jobImages, primaryImage } from '../../src/core/entries.js';
import { changeLines } from '../../src/core/format.js';
import { nodeLabel } from '../../src/core/outcome.js';
import {
  deploymentSummaryLines,
  jobSummaryOf,
  nodeStatusLines,
  stopSummaryLines,
} from '../../src/core/summary.js';
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
  /** `${VAR}`s of job files and the Docker client configuration (default: the process's). */
  env?: Record<string, string | undefined>;
}

const TITLES: Readonly<Record<OperationKind, string>> = {
  deploy: 'Deploy',
  scale: 'Scale',
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
  /** The rollout planned for the request the confirmation pane shows (one at a time). */
  private pending: { request: OperationRequest; planned: PlannedRollout | null } | null = null;

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
      default:
        return this.planJobOperation(intent.op, intent.job, intent.reporting, intent.image);
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
    let nodes: InventoryNode[];
    try {
      nodes = this.targetsOf(loaded.job);
    } catch (error) {
      this.store.dispatch({ type: 'flash', text: describeError(error), level: 'error' });
      return;
    }
    const spec = loaded.job.spec;
    const registryAuth = await this.credentialsFor(loaded.job);
    if (!registryAuth) return;
    await this.planOn(
      { id: this.nextId++, op: 'deploy', job: spec.name, nodes: nodes.map((n) => n.name), file, count: null },
      deployOperation(spec, registryAuth),
      deploymentSummaryLines(jobSummaryOf(spec)),
    );
  }

  private async planScale(job: string, count: number): Promise<void> {
    const files = await candidateJobFiles(
      this.options.jobFiles,
      this.options.cwd,
      this.options.inventoryPath,
    );
    const found = await findJobFile(this.options.cwd, files, job, { env: this.env });
    if (!found) {
      this.store.dispatch({
        type: 'flash',
        text: `No job file defines ${job}: pass it on the command line (dokkup tui ${job}.yaml) to scale it`,
        level: 'error',
      });
      return;
    }
    let nodes: InventoryNode[];
    try {
      nodes = this.targetsOf(found.job);
    } catch (error) {
      this.store.dispatch({ type: 'flash', text: describeError(error), level: 'error' });
      return;
    }
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
        ? rollbackOperation(job, undefined, {
            source: credentialsOfRun(this.env, found?.job ?? null, this.options.inventory),
            images: found ? jobImages(found.job.spec) : [],
          })
        : stopOperation(job, op === 'purge'),
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
    this.pending = { request, planned: null };
    this.store.dispatch({ type: 'planStarted', request, title });
    let planned: PlannedRollout;
    try {
      planned = await planRollout({
        cluster: this.cluster,
        job: request.job,
        operation,
        nodes: this.nodesOf(request.nodes),
      });
    } catch (error) {
      if (this.pending?.request === request) this.pending = null;
      this.store.dispatch({ type: 'planFailed', request, error: describeError(error) });
      return;
    }
    // Cancelled (or replaced) while the nodes were answering: nothing to keep.
    if (this.pending?.request !== request) return;
    this.pending.planned = planned;
    const changing = new Set(planned.changing);
    const nodes: NodePlan[] = planned.nodes.map((record) => ({
      node: record.node.name,
      status: record.plan.status,
      plan: record.plan.value ?? null,
      error: record.plan.error?.message ?? null,
      changes: changing.has(record),
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
    if (changing.size === 0) lines.push('', 'Nothing to do: every reachable node is already up to date.');
    else {
      // What would change, as `dokkup plan job` shows it: environment keys, never values.
      const planned = nodes.flatMap((n) => (n.plan && n.changes ? [{ name: n.node, plan: n.plan }] : []));
      lines.push('', ...changeLines(planned));
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

  /** The `decline` effect: the operator cancelled; the planned rollout is dropped. */
  decline(request: OperationRequest): void {
    if (this.pending?.request.id !== request.id) return;
    this.pending.planned?.decline();
    this.pending = null;
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
    try {
      await pending.planned.execute({
        onNodeStart: (node) => dispatch({ type: 'rolloutProgress', node: node.name, message: 'Starting' }),
        onProgress: (node, line) =>
          dispatch({
            type: 'rolloutProgress',
            node: node.name,
            message: line.message,
            phase: line.phase,
            ...(line.current !== undefined ? { current: line.current } : {}),
            ...(line.total !== undefined ? { total: line.total } : {}),
          }),
        onNodeDone: (record) =>
          dispatch({
            type: 'rolloutNode',
            node: record.node.name,
            status: record.outcome,
            message: record.message,
          }),
      });
    } catch (error) {
      dispatch({ type: 'flash', text: describeError(error), level: 'error' });
    } finally {
      this.running = false;
      dispatch({ type: 'rolloutFinished', at: (this.options.now ?? Date.now)() });
    }
  }
}
