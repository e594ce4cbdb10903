/**
 * `dokkup agent` as a command of the CLI's registry: its options (flags, then environment, then
 * defaults), its usage errors, help and version; `--rotate-key` runs the real agent code (key
 * file) through the lazy import. Serving and stopping are covered by agent/main.test.ts.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { DokkupError } from '../../core/errors.js';
import { UsageError } from '../command.js';
import type { CliIO } from '../io.js';
import { runCli } from '../main.js';
import { agentOptionsOf } from './agent.js';

const dir = mkdtempSync(path.join(tmpdir(), 'dokkup-agent-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    stdin: new PassThrough(),
    env,
    cwd: dir,
  };
  const code = await runCli(['agent', ...argv], { io, handleSignals: false });
  return { code, stdout, stderr };
}

describe('agent options', () => {
  const flags = (given: Record<string, string | boolean | string[]>) => ({
    host: '0.0.0.0',
    rotateKey: false,
    allowHostBinds: false,
    ...given,
  });

  it("has the documented defaults (the data directory is the agent's to choose)", () => {
    expect(agentOptionsOf(flags({}), {}, '/work')).toEqual({
      port: 8080,
      host: '0.0.0.0',
      rotateKey: false,
      bindRoots: [],
      allowHostBinds: false,
      allowHostNetwork: false,
      // TLS with its own certificate, by default.
      fingerprint: false,
      rotateCert: false,
      insecureHttp: false,
      tlsSans: [],
    });
  });

  it('takes the TLS options: extra names, a certificate of the operator, plain HTTP', () => {
    expect(
      agentOptionsOf(flags({ tlsSan: ['agent.example', '10.0.0.5,[::2]'] } as never), {}, '/work'),
    ).toMatchObject({ tlsSans: ['agent.example', '10.0.0.5', '::2'] });
    expect(agentOptionsOf(flags({ tlsCert: 'c.pem', tlsKey: '/k.pem' }), {}, '/work')).toMatchObject({
      tlsCert: '/work/c.pem',
      tlsKey: '/k.pem',
    });
    expect(agentOptionsOf(flags({ insecureHttp: true }), {}, '/work')).toMatchObject({ insecureHttp: true });
    const refused: [Record<string, string | boolean | string[]>, RegExp][] = [
      [{ tlsCert: 'c.pem' }, /--tls-cert and --tls-key go together/],
      [{ tlsKey: 'k.pem' }, /--tls-cert and --tls-key go together/],
      [{ insecureHttp: true, tlsCert: 'c', tlsKey: 'k' }, /--insecure-http serves no certificate/],
      [{ insecureHttp: true, tlsSan: ['a'] }, /--insecure-http serves no certificate/],
      [{ insecureHttp: true, rotateCert: true }, /do not go together/],
      [{ tlsCert: 'c', tlsKey: 'k', rotateCert: true }, /replace your files/],
      [{ tlsCert: 'c', tlsKey: 'k', tlsSan: ['a'] }, /carries its own names/],
      [{ tlsSan: ['not a name'] }, /--tls-san must be a host name or an IP address \(got "not a name"\)/],
    ];
    for (const [given, message] of refused)
      expect(() => agentOptionsOf(flags(given as never), {}, '/work')).toThrow(message);
  });

  it('takes options from flags first, then the environment', () => {
    expect(agentOptionsOf(flags({}), { PORT: '9000', DOKKUP_CONFIG: '/data' }, '/work')).toMatchObject({
      port: 9000,
      dataDir: '/data',
    });
    expect(
      agentOptionsOf(
        flags({
          port: '9100',
          host: '127.0.0.1',
          config: 'cfg',
          rotateKey: true,
          bindRoot: ['/srv/a', '/srv/b'],
          allowHostBinds: true,
          allowHostNetwork: true,
        }),
        { PORT: '9000', DOKKUP_CONFIG: '/data' },
        '/work',
      ),
    ).toMatchObject({
      port: 9100,
      host: '127.0.0.1',
      dataDir: '/work/cfg',
      rotateKey: true,
      bindRoots: ['/srv/a', '/srv/b'],
      allowHostBinds: true,
      allowHostNetwork: true,
    });
    expect(() => agentOptionsOf(flags({ bindRoot: ['srv'] }), {}, '/')).toThrow(
      /--bind-root must be an absolute path/,
    );
    expect(agentOptionsOf(flags({ port: '0' }), {}, '/')).toMatchObject({ port: 0 });
  });

  it('names a bad PORT from the environment', () => {
    expect(() => agentOptionsOf(flags({}), { PORT: 'http' }, '/')).toThrow(
      'PORT must be a port number from 0 to 65535 (got "http")',
    );
    expect(() => agentOptionsOf(flags({}), { DOKKUP_CONFIG: ' ' }, '/')).toThrow(
      'DOKKUP_CONFIG must name a directory',
    );
    // A usage error is a DokkupError like every other error dokkup throws on purpose.
    expect(() => agentOptionsOf(flags({ port: 'x' }), {}, '/')).toThrow(UsageError);
    expect(new UsageError('x')).toBeInstanceOf(DokkupError);
    expect(new UsageError('x').code).toBe('usage');
  });
});

describe('dokkup agent', () => {
  it.each([
    [['--port', 'abc'], /--port must be a port number.*"abc"/],
    [['--port', '70000'], /--port must be a port number/],
    [['--port', '-1'], /port/],
    [['--port'], /--port must be a port number/],
    [['--prot', '80'], /unknown option --prot/],
    [['--port=80', '-x'], /unknown option -x/],
    [['--verbose'], /unknown option --verbose/],
    [['serve'], /unexpected argument "serve"/],
    [['--port', '1', '--port', '2'], /only be set once/],
    [['--config', ''], /--config must name a directory/],
    [['--host', ' '], /--host must not be empty/],
    [['--bind-root', 'relative/dir'], /--bind-root must be an absolute path/],
  ])('refuses %j with exit 2 and a pointer to its help', async (argv, message) => {
    const ran = await cli(argv);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toMatch(message);
    expect(ran.stderr).toContain('Run `dokkup agent --help` for usage.');
    expect(ran.stderr).not.toMatch(/\n\s+at /);
    expect(ran.stdout).toBe('');
  });

  it('--help lists its options, environment and exit codes; the top help lists it', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: dokkup agent \[options\]/);
    for (const text of [
      '--port N',
      '--host ADDR',
      '--config DIR',
      '--rotate-key',
      '--allow-host-binds',
      '--bind-root DIR',
      '--allow-host-network',
      'DOCKER_HOST',
    ]) {
      expect(help.stdout).toContain(text);
    }
    expect(help.stdout).toMatch(/Exit codes:\n {2}0 {4}stopped cleanly/);
    expect((await cli(['-h'])).stdout).toBe(help.stdout);

    let top = '';
    const io: CliIO = {
      stdout: { write: (s: string) => (top += s) },
      stderr: { write: () => true },
      stdin: new PassThrough(),
      env: {},
      cwd: dir,
    };
    await runCli(['--help'], { io, handleSignals: false });
    expect(top).toMatch(/\n {2}agent {3,}Run the node agent/);
  });

  it('--version prints the package version', async () => {
    const ran = await cli(['--version']);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/^\d+\.\d+\.\d+\S*\n$/);
  });

  it('--rotate-key writes a new key into the data directory, prints it once and exits 0', async () => {
    const dataDir = path.join(dir, 'data');
    const ran = await cli(['--rotate-key', '--config', 'data']);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/^Your new API key is: [A-Za-z0-9_-]{43}\n$/);
    expect(ran.stderr).toContain(`also in an agent already running on ${dataDir}`);
    expect(statSync(path.join(dataDir, 'agent-key.json')).mode & 0o777).toBe(0o600);
  });
});
