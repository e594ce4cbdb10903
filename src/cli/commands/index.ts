/**
 * Every CLI command, one file each, loaded only when needed: `dokkup version` must not pay for
 * the HTTP client, the YAML parser or the feeds, and `run job` not for `logs` or `top`. To add a
 * command: write `commands/<name>.ts` exporting a `Command` and add a line here (order = order
 * in `dokkup --help`; the path must be the command's own, a test checks it).
 */
import type { Command } from '../command.js';

export interface CommandLoader {
  /** The words that select it: the same as the loaded command's `path`. */
  path: readonly string[];
  load(): Promise<Command>;
}

export const commandLoaders: readonly CommandLoader[] = [
  { path: ['run', 'job'], load: async () => (await import('./run.js')).runJobCommand },
  { path: ['plan', 'job'], load: async () => (await import('./plan.js')).planJobCommand },
  { path: ['promote', 'job'], load: async () => (await import('./promote.js')).promoteJobCommand },
  { path: ['rollback', 'job'], load: async () => (await import('./rollback.js')).rollbackJobCommand },
  { path: ['stop', 'job'], load: async () => (await import('./stop.js')).stopJobCommand },
  { path: ['show', 'job'], load: async () => (await import('./show-job.js')).showJobCommand },
  { path: ['show', 'nodes'], load: async () => (await import('./show-nodes.js')).showNodesCommand },
  { path: ['history', 'job'], load: async () => (await import('./history.js')).historyJobCommand },
  { path: ['lock', 'status', 'job'], load: async () => (await import('./lock.js')).lockStatusCommand },
  { path: ['lock', 'release', 'job'], load: async () => (await import('./lock.js')).lockReleaseCommand },
  { path: ['tui'], load: async () => (await import('./tui.js')).tuiCommand },
  { path: ['logs', 'job'], load: async () => (await import('./logs.js')).logsJobCommand },
  { path: ['events'], load: async () => (await import('./events.js')).eventsCommand },
  { path: ['audit'], load: async () => (await import('./audit.js')).auditCommand },
  { path: ['top', 'job'], load: async () => (await import('./top.js')).topJobCommand },
  { path: ['version'], load: async () => (await import('./version.js')).versionCommand },
  { path: ['schema'], load: async () => (await import('./schema.js')).schemaCommand },
  { path: ['completion'], load: async () => (await import('./completion.js')).completionCommand },
  { path: ['agent'], load: async () => (await import('./agent.js')).agentCommand },
];

/** Every command (for the command list, and argv that names none by its leading words). */
export function loadCommands(): Promise<Command[]> {
  return Promise.all(commandLoaders.map((c) => c.load()));
}
