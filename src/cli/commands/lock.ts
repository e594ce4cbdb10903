/**
 * `dokkup lock status job FILE` and `dokkup lock release job FILE` (Kamal's `kamal lock` is the
 * anchor): who holds the job's lease on every node (a rollout in progress, or one whose CLI died
 * and whose lease has not lapsed yet), and breaking it.
 */
import { isoSecond, leaseHolder } from '../../core/lease.js';
import type { LeaseInfo } from '../../protocol/api.js';
import { CLI_JSON_SCHEMA_VERSION, type LockJson, LockJsonSchema } from '../../protocol/cli-json.js';
import { type Command, jobReadFlags } from '../command.js';
import { jsonNodeOf, labelOf, loadJobTarget } from '../context.js';
import type { Style } from '../io.js';
import { runRead } from '../operation.js';
import { renderTable } from '../render/table.js';
import { styleNodeLabel } from '../render/tables.js';

const UNKNOWN = '-';

interface LockRow {
  name: string;
  label: string;
  lease: LeaseInfo | null | undefined;
}

/** NODE STATUS HOLDER COMMAND SINCE EXPIRES (`-` where nobody holds the lease). */
export function renderLocks(rows: readonly LockRow[], style: Style, released = false): string[] {
  const header = released
    ? ['NODE', 'STATUS', 'RELEASED', 'COMMAND', 'SINCE']
    : ['NODE', 'STATUS', 'HOLDER', 'COMMAND', 'SINCE', 'EXPIRES'];
  const body = rows.map(({ name, label, lease }) => {
    if (!lease)
      return released
        ? [name, label, 'none', UNKNOWN, UNKNOWN]
        : [name, label, 'none', UNKNOWN, UNKNOWN, UNKNOWN];
    const cells = [name, label, leaseHolder(lease), lease.command, isoSecond(lease.acquiredAt)];
    return released ? cells : [...cells, isoSecond(lease.expiresAt)];
  });
  return renderTable(
    header,
    body,
    style.enabled
      ? (column, text, row) =>
          row === -1 ? style.bold(text) : column === 1 ? styleNodeLabel(text, style) : text
      : undefined,
  );
}

function lockJson(
  command: LockJson['command'],
  job: string,
  exitCode: number,
  results: Parameters<typeof jsonNodeOf>[0][],
  leases: (LeaseInfo | null)[],
): LockJson {
  return LockJsonSchema.parse({
    schema: CLI_JSON_SCHEMA_VERSION,
    command,
    exitCode,
    job,
    nodes: results.map((r, i) => ({ ...jsonNodeOf(r), lease: leases[i] ?? null })),
  } satisfies LockJson);
}

export const lockStatusCommand: Command = {
  path: ['lock', 'status', 'job'],
  summary: "Show who holds a job's lease on each node (a rollout in progress)",
  usage: '[options] FILE',
  description:
    "A rollout, promote, rollback, stop or purge takes the job's lease on every target node first and " +
    'gives it back at the end; a second operator is refused while it is held. A CLI that was killed ' +
    'leaves a lease that lapses by itself (30s by default, DOKKUP_LEASE_TTL).',
  flags: { ...jobReadFlags },
  examples: [
    { does: "Who holds web.yaml's lease on each of its nodes", run: 'dokkup lock status job web.yaml' },
    { does: 'The same as one JSON document', run: 'dokkup lock status job --json web.yaml' },
  ],
  args: { min: 1, max: 1, names: 'FILE' },
  async run(context) {
    const target = await loadJobTarget(context);
    const job = target.job.spec.name;
    return runRead(context, target.nodes, {
      read: (client) => client.lease(job),
      json: (run, exitCode) =>
        lockJson(
          'lock status job',
          job,
          exitCode,
          run.results,
          run.results.map((r) => r.value?.lease ?? null),
        ),
      render: (run) =>
        renderLocks(
          run.results.map((r) => ({ name: r.node.name, label: labelOf(r), lease: r.value?.lease })),
          context.style,
        ),
      skipped: 'its lease is not shown',
    });
  },
};

export const lockReleaseCommand: Command = {
  path: ['lock', 'release', 'job'],
  summary: "Break a job's lease on each node (when its holder is gone)",
  usage: '[options] FILE',
  description:
    'Breaks the lease whoever holds it. A rollout still running under it stops before its next wave ' +
    '(its CLI finds the lease gone when it renews it); its node in flight finishes.',
  flags: { ...jobReadFlags },
  examples: [
    {
      does: "Break web.yaml's lease on every node (its holder's CLI is gone)",
      run: 'dokkup lock release job web.yaml',
    },
    {
      does: 'Break it with another inventory and print what was broken as JSON',
      run: 'dokkup lock release job -i prod.yaml --json web.yaml',
    },
  ],
  args: { min: 1, max: 1, names: 'FILE' },
  async run(context) {
    const target = await loadJobTarget(context);
    const job = target.job.spec.name;
    return runRead(context, target.nodes, {
      read: (client) => client.releaseLease(job, { force: true }),
      json: (run, exitCode) =>
        lockJson(
          'lock release job',
          job,
          exitCode,
          run.results,
          run.results.map((r) => r.value?.released ?? null),
        ),
      render: (run) =>
        renderLocks(
          run.results.map((r) => ({ name: r.node.name, label: labelOf(r), lease: r.value?.released })),
          context.style,
          true,
        ),
      skipped: 'its lease was not released',
    });
  },
};
