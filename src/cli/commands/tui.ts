import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { loadInventoryFile } from '../../config/index.js';
import type { Inventory } from '../../protocol/inventory.js';
import { type Command, optionalStringFlag, UsageError } from '../command.js';
import { userPath, warnPlainHttp } from '../context.js';
import { colorEnabled } from '../io.js';

export const tuiCommand: Command = {
  path: ['tui'],
  summary: 'Full-screen control center: every node, job and container, live',
  usage: '[-i inventory.yaml] [JOB.yaml …]',
  description: `Watch the whole fleet and deploy (d), scale (s), roll back (r), stop (x) and purge (p) from
the keyboard, with the plan and a confirmation before anything changes. Press ? for every key.
Job files given here (and *.yaml in the working directory) are offered by d.

Without an inventory (no -i and no inventory.yaml here), dokkup starts an agent inside this
process against the local Docker engine (DOCKER_HOST or the default socket), on 127.0.0.1
with a throwaway key and a throwaway TLS certificate (pinned in process), and shows this
machine as the node \`local\`.`,
  flags: {
    inventory: {
      type: 'string',
      shortFlag: 'i',
      valueName: 'FILE',
      description: 'Inventory file (default: inventory.yaml here; none: an embedded local agent)',
    },
  },
  examples: [
    {
      does: 'Open the control center on inventory.yaml (or, without one, an embedded agent on this machine)',
      run: 'dokkup tui',
    },
    {
      does: 'Open it on another inventory, offering these job files to deploy with `d`',
      run: 'dokkup tui -i prod.yaml web.yaml hello.yaml',
    },
  ],
  args: { min: 0, max: Number.MAX_SAFE_INTEGER, names: 'JOB.yaml …' },
  async run(context) {
    const { io } = context;
    if (io.stdout.isTTY !== true || io.stdin.isTTY !== true) {
      throw new UsageError('dokkup tui needs a terminal (stdin and stdout must be a TTY)');
    }
    for (const file of context.args) {
      if (!existsSync(userPath(context, file))) throw new UsageError(`job file not found: ${file}`);
    }
    const given = optionalStringFlag(context.flags, 'inventory');
    const defaultPath = userPath(context, 'inventory.yaml');
    const inventoryFile = given ? userPath(context, given) : existsSync(defaultPath) ? defaultPath : null;
    const color = colorEnabled(io.stdout, io.env, context.flags['color'] as boolean | undefined);
    const { runTui } = await import('../../../tui/app.js');

    if (inventoryFile) {
      const inventory = await loadInventoryFile(inventoryFile, io.env);
      // Before the screen takes over: it is still there, above the prompt, after quitting.
      warnPlainHttp(context, inventory.nodes);
      await runTui({
        inventory,
        inventoryName: path.basename(inventoryFile),
        inventoryPath: given ?? 'inventory.yaml',
        embedded: false,
        jobFiles: context.args,
        cwd: io.cwd,
        color,
      });
      return 0;
    }

    // No inventory: this machine's Docker engine through an agent in this process.
    const { startEmbeddedAgent } = await import('../../../agent/embedded.js');
    // The job history persists between sessions (rollback after a restart); the key does not.
    const agent = await startEmbeddedAgent({
      dataDir: embeddedDataDir(io.env),
      ...(io.env['DOCKER_HOST'] ? { dockerHost: io.env['DOCKER_HOST'] } : {}),
    });
    const inventory: Inventory = {
      source: 'embedded',
      nodes: [
        {
          name: 'local',
          location: agent.baseUrl.replace(/^https:\/\//, ''),
          baseUrl: agent.baseUrl,
          key: agent.key,
          // Its certificate lives only in this process: pinned, like any node's.
          fingerprint: agent.fingerprint,
        },
      ],
      groups: {},
    };
    try {
      await runTui({
        inventory,
        inventoryName: 'local (embedded agent)',
        inventoryPath: null,
        embedded: true,
        jobFiles: context.args,
        cwd: io.cwd,
        color,
      });
    } finally {
      await agent.close();
    }
    return 0;
  },
};

/** `$DOKKUP_EMBEDDED_DIR`, else `$XDG_STATE_HOME/dokkup/embedded` (default `~/.local/state`). */
export function embeddedDataDir(env: NodeJS.ProcessEnv): string {
  if (env['DOKKUP_EMBEDDED_DIR']) return env['DOKKUP_EMBEDDED_DIR'];
  const state = env['XDG_STATE_HOME'] || path.join(env['HOME'] || homedir(), '.local', 'state');
  return path.join(state, 'dokkup', 'embedded');
}
