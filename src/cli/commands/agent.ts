/**
 * `dokkup agent`: runs the node agent (agent/main.ts, loaded only here) with the options parsed
 * like every other command's. The agent handles SIGTERM/SIGINT itself: a graceful shutdown.
 */
import path from 'node:path';
import { packageVersion } from '../../build-info.js';
import { booleanFlag, type Command, type FlagValues, stringListFlag, UsageError } from '../command.js';
import type { CliIO } from '../io.js';

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '0.0.0.0';

/** What `agent/main.ts` `runAgent` takes (declared here so parsing never loads the agent). */
export interface ParsedAgentOptions {
  port: number;
  host: string;
  /** Absent: the agent's default (`/config` if writable, else `~/.config/dokkup-agent`). */
  dataDir?: string;
  rotateKey: boolean;
  /** `--bind-root`, absolute (the agent checks them when it starts). */
  bindRoots: string[];
  allowHostBinds: boolean;
  allowHostNetwork: boolean;
}

function parsePort(value: string, from: string): number {
  const trimmed = value.trim();
  if (!/^\d{1,5}$/.test(trimmed) || Number(trimmed) > 65535) {
    throw new UsageError(`${from} must be a port number from 0 to 65535 (got "${value}")`);
  }
  return Number(trimmed);
}

/** Flags first, then the environment (`PORT`, `DOKKUP_CONFIG`), then the defaults. */
export function agentOptionsOf(flags: FlagValues, env: CliIO['env'], cwd: string): ParsedAgentOptions {
  const portFlag = flags['port'] as string | undefined;
  const portText = portFlag ?? env['PORT'];
  const port =
    portText === undefined ? DEFAULT_PORT : parsePort(portText, portFlag !== undefined ? '--port' : 'PORT');
  const host = String(flags['host'] ?? DEFAULT_HOST);
  if (host.trim() === '') throw new UsageError('--host must not be empty');
  const configFlag = flags['config'] as string | undefined;
  const config = configFlag ?? env['DOKKUP_CONFIG'];
  if (config !== undefined && config.trim() === '') {
    throw new UsageError(`${configFlag !== undefined ? '--config' : 'DOKKUP_CONFIG'} must name a directory`);
  }
  return {
    port,
    host,
    ...(config === undefined ? {} : { dataDir: path.resolve(cwd, config) }),
    rotateKey: booleanFlag(flags, 'rotateKey'),
    bindRoots: stringListFlag(flags, 'bindRoot').map((root) => {
      if (!path.isAbsolute(root))
        throw new UsageError(`--bind-root must be an absolute path (got "${root}")`);
      return root;
    }),
    allowHostBinds: booleanFlag(flags, 'allowHostBinds'),
    allowHostNetwork: booleanFlag(flags, 'allowHostNetwork'),
  };
}

export const agentCommand: Command = {
  path: ['agent'],
  summary: "Run the node agent beside this server's Docker engine",
  usage: '[options]',
  description: `On first start it prints the node's API key once ("Your new API key is: ..."); put it in
your inventory.

Jobs may bind no host directory unless it lies under a --bind-root (named volumes need
nothing), and may not use network: host or container:NAME unless --allow-host-network is given.
Every change (and every refused attempt) is recorded in audit.log in the data directory.

Environment:
  DOCKER_HOST    Docker engine to drive (unix://, tcp://; default the local socket)
  PORT           Port to listen on when --port is not given
  DOKKUP_CONFIG  Data directory when --config is not given
  LOG_LEVEL      trace, debug, info (default), warn, error, fatal, silent
  LOG_FORMAT     json or pretty (default: pretty on a terminal, json otherwise)`,
  flags: {
    port: {
      type: 'string',
      valueName: 'N',
      description: `Port to listen on (env PORT, default ${DEFAULT_PORT})`,
    },
    host: {
      type: 'string',
      default: DEFAULT_HOST,
      valueName: 'ADDR',
      description: `Address to listen on (default ${DEFAULT_HOST})`,
    },
    config: {
      type: 'string',
      valueName: 'DIR',
      description:
        'Data directory: key digest, job history, audit log (env DOKKUP_CONFIG; default /config if writable, else ~/.config/dokkup-agent)',
    },
    rotateKey: {
      type: 'boolean',
      default: false,
      description:
        'Issue a new API key, print it and exit (the old key stops working, also in a running agent)',
    },
    bindRoot: {
      type: 'string',
      isMultiple: true,
      valueName: 'DIR',
      description:
        'A host directory jobs may bind (repeat for more; default none). It must exist and may not hold or lie in a system path',
    },
    allowHostBinds: {
      type: 'boolean',
      default: false,
      description:
        'Let jobs bind anything: the Docker socket, / and other host system paths (such a container controls the host)',
    },
    allowHostNetwork: {
      type: 'boolean',
      default: false,
      description:
        'Let jobs use network: host or container:NAME (they can reach services on the host loopback)',
    },
    version: { type: 'boolean', default: false, description: 'Print the agent version' },
  },
  examples: [
    {
      does: 'Run the agent on port 8080 with its data in /var/lib/dokkup',
      run: 'dokkup agent --config /var/lib/dokkup',
    },
    {
      does: 'Let jobs bind host directories under /srv/dokkup (none by default)',
      run: 'dokkup agent --config /var/lib/dokkup --bind-root /srv/dokkup',
    },
    {
      does: 'Issue a new API key (the old one stops working at once)',
      run: 'dokkup agent --config /var/lib/dokkup --rotate-key',
    },
  ],
  args: { min: 0, max: 0 },
  exitCodes: `Exit codes:
  0    stopped cleanly (SIGTERM/SIGINT), or --rotate-key / --version done
  1    could not start: the key file, the port, the data directory (owned by another user,
       writable by others, or holding a symlink)
  2    invalid options or environment (PORT, DOKKUP_CONFIG, LOG_LEVEL, LOG_FORMAT, a --bind-root)
`,
  ownsSignals: true,
  async run(context) {
    if (booleanFlag(context.flags, 'version')) {
      context.io.stdout.write(`${packageVersion()}\n`);
      return 0;
    }
    const options = agentOptionsOf(context.flags, context.io.env, context.io.cwd);
    const { runAgent, processAgentIO } = await import('../../../agent/main.js');
    const { stdout, stderr, env } = context.io;
    return runAgent(options, processAgentIO(stdout, stderr, env));
  },
};
