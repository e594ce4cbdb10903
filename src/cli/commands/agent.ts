/**
 * `dokkup agent`: runs the node agent (agent/main.ts, loaded only here) with the options parsed
 * like every other command's. The agent handles SIGTERM/SIGINT itself: a graceful shutdown.
 */
import path from 'node:path';
import { packageVersion } from '../../build-info.js';
import { booleanFlag, type Command, type FlagValues, UsageError } from '../command.js';
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
  allowHostBinds: boolean;
  /** The node proxy's image; absent: the agent's default. */
  proxyImage?: string;
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
    allowHostBinds: booleanFlag(flags, 'allowHostBinds'),
    ...proxyImageOf(flags),
  };
}

function proxyImageOf(flags: FlagValues): { proxyImage?: string } {
  const image = flags['proxyImage'] as string | undefined;
  if (image === undefined) return {};
  if (image.trim() === '' || /\s/.test(image))
    throw new UsageError('--proxy-image must be an image reference');
  return { proxyImage: image };
}

export const agentCommand: Command = {
  path: ['agent'],
  summary: "Run the node agent beside this server's Docker engine",
  usage: '[options]',
  description: `On first start it prints the node's API key once ("Your new API key is: ..."); put it in
your inventory.

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
        'Data directory: key hash and job history (env DOKKUP_CONFIG; default /config if writable, else ~/.config/dokkup-agent)',
    },
    rotateKey: {
      type: 'boolean',
      default: false,
      description:
        'Issue a new API key, print it and exit (the old key stops working, also in a running agent)',
    },
    allowHostBinds: {
      type: 'boolean',
      default: false,
      description:
        'Let jobs bind the Docker socket, / and other host system paths (refused by default: such a container controls the host)',
    },
    proxyImage: {
      type: 'string',
      valueName: 'IMAGE',
      description:
        "Image of the node's proxy (Caddy), started when a job has a proxy: block (default caddy:2.6.2-alpine)",
    },
    version: { type: 'boolean', default: false, description: 'Print the agent version' },
  },
  examples: [
    {
      does: 'Run the agent on port 8080 with its data in /var/lib/dokkup',
      run: 'dokkup agent --config /var/lib/dokkup',
    },
    { does: 'Listen on one address and port only', run: 'dokkup agent --host 10.0.0.5 --port 9090' },
    {
      does: 'Issue a new API key (the old one stops working at once)',
      run: 'dokkup agent --config /var/lib/dokkup --rotate-key',
    },
  ],
  args: { min: 0, max: 0 },
  exitCodes: `Exit codes:
  0    stopped cleanly (SIGTERM/SIGINT), or --rotate-key / --version done
  1    could not start: the key file, the port, the data directory
  2    invalid options or environment (PORT, DOKKUP_CONFIG, LOG_LEVEL, LOG_FORMAT)
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
