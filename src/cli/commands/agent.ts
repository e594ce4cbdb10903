/**
 * `dokkup agent`: runs the node agent (agent/main.ts, loaded only here) with the options parsed
 * like every other command's. The agent handles SIGTERM/SIGINT itself: a graceful shutdown.
 */
import { isIP } from 'node:net';
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
  /** Print the certificate's fingerprint and exit. */
  fingerprint: boolean;
  /** Make a new self-signed certificate, print its fingerprint and exit. */
  rotateCert: boolean;
  /** Serve plain HTTP (no certificate at all). */
  insecureHttp: boolean;
  /** Extra names (DNS or IP) of the self-signed certificate. */
  tlsSans: string[];
  /** A certificate (and its key) the operator brings, absolute paths; both or neither. */
  tlsCert?: string;
  tlsKey?: string;
}

/** A DNS name (letters, digits, hyphens, dots; a leading `*.` wildcard) or an IP address. */
const DNS_NAME = /^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

function parseSans(given: FlagValues[string]): string[] {
  const values = Array.isArray(given) ? given : given === undefined ? [] : [String(given)];
  const names = values.flatMap((value) => value.split(',')).map((name) => name.trim());
  for (const name of names) {
    const bare = name.replace(/^\[|\]$/g, '');
    if (!isIP(bare) && !(DNS_NAME.test(name) && name.length <= 253)) {
      throw new UsageError(`--tls-san must be a host name or an IP address (got "${name}")`);
    }
  }
  return [...new Set(names.map((name) => name.replace(/^\[|\]$/g, '')))];
}

function tlsOptionsOf(flags: FlagValues, cwd: string) {
  const file = (name: 'tlsCert' | 'tlsKey') => {
    const value = flags[name] as string | undefined;
    if (value === undefined) return undefined;
    if (value.trim() === '')
      throw new UsageError(`--${name === 'tlsCert' ? 'tls-cert' : 'tls-key'} must name a file`);
    return path.resolve(cwd, value);
  };
  const tlsCert = file('tlsCert');
  const tlsKey = file('tlsKey');
  const tlsSans = parseSans(flags['tlsSan']);
  const insecureHttp = booleanFlag(flags, 'insecureHttp');
  const rotateCert = booleanFlag(flags, 'rotateCert');
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together: the certificate and its private key');
  }
  const conflicts: [boolean, string][] = [
    [
      insecureHttp && tlsCert !== undefined,
      '--insecure-http serves no certificate: drop --tls-cert/--tls-key',
    ],
    [insecureHttp && tlsSans.length > 0, '--insecure-http serves no certificate: drop --tls-san'],
    [insecureHttp && rotateCert, '--insecure-http and --rotate-cert do not go together'],
    [
      tlsCert !== undefined && tlsSans.length > 0,
      '--tls-san names go into the certificate the agent makes; a certificate given with --tls-cert carries its own names',
    ],
    [
      tlsCert !== undefined && rotateCert,
      '--rotate-cert makes a new self-signed certificate; with --tls-cert, replace your files instead (the agent reloads them)',
    ],
  ];
  for (const [conflict, message] of conflicts) if (conflict) throw new UsageError(message);
  return {
    fingerprint: booleanFlag(flags, 'fingerprint'),
    rotateCert,
    insecureHttp,
    tlsSans,
    ...(tlsCert !== undefined && tlsKey !== undefined ? { tlsCert, tlsKey } : {}),
  };
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
    ...tlsOptionsOf(flags, cwd),
  };
}

export const agentCommand: Command = {
  path: ['agent'],
  summary: "Run the node agent beside this server's Docker engine",
  usage: '[options]',
  description: `On first start it prints the node's API key once ("Your new API key is: ...") and the
fingerprint of its TLS certificate ("Certificate fingerprint: SHA256:..."); put both in your
inventory (key, fingerprint). It serves HTTPS and WSS on its one port.

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
        'Data directory: key digest, TLS certificate, job history, audit log (env DOKKUP_CONFIG; default /config if writable, else ~/.config/dokkup-agent)',
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
    fingerprint: {
      type: 'boolean',
      default: false,
      description: "Print the TLS certificate's fingerprint (for the inventory's fingerprint) and exit",
    },
    rotateCert: {
      type: 'boolean',
      default: false,
      description:
        'Make a new self-signed certificate, print its fingerprint and exit (a running agent serves it within seconds; clients must pin the new fingerprint)',
    },
    tlsSan: {
      type: 'string',
      isMultiple: true,
      valueName: 'NAME',
      description:
        "Another DNS name or IP address for the agent's certificate (repeatable, or comma-separated), besides its host name, 127.0.0.1 and ::1",
    },
    tlsCert: {
      type: 'string',
      valueName: 'FILE',
      description:
        'Serve this PEM certificate (chain) instead of a self-signed one, e.g. from your own CA; reloaded on SIGHUP or when the file changes',
    },
    tlsKey: { type: 'string', valueName: 'FILE', description: 'The private key (PEM) of --tls-cert' },
    insecureHttp: {
      type: 'boolean',
      default: false,
      description:
        'Serve plain HTTP, no TLS: the key travels unencrypted (only on a network you trust); inventories must say http://',
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
  0    stopped cleanly (SIGTERM/SIGINT), or --rotate-key / --rotate-cert / --fingerprint / --version done
  1    could not start: the key file, the certificate, the port, the data directory (owned by
       another user, writable by others, or holding a symlink)
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
