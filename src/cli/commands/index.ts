/**
 * Every CLI command, one file each. To add a command: write `commands/<name>.ts` exporting a
 * `Command` and add it to this list (order = order in `dokkup --help`).
 */
import type { Command } from '../command.js';
import { agentCommand } from './agent.js';
import { completionCommand } from './completion.js';
import { eventsCommand } from './events.js';
import { historyJobCommand } from './history.js';
import { logsJobCommand } from './logs.js';
import { planJobCommand } from './plan.js';
import { rollbackJobCommand } from './rollback.js';
import { runJobCommand } from './run.js';
import { schemaCommand } from './schema.js';
import { showJobCommand } from './show-job.js';
import { showNodesCommand } from './show-nodes.js';
import { stopJobCommand } from './stop.js';
import { topJobCommand } from './top.js';
import { tuiCommand } from './tui.js';
import { versionCommand } from './version.js';

export const commands: readonly Command[] = [
  runJobCommand,
  planJobCommand,
  rollbackJobCommand,
  stopJobCommand,
  showJobCommand,
  showNodesCommand,
  historyJobCommand,
  tuiCommand,
  logsJobCommand,
  eventsCommand,
  topJobCommand,
  versionCommand,
  schemaCommand,
  completionCommand,
  agentCommand,
];
