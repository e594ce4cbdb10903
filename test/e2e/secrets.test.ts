// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` is the job-file syntax under test
/**
 * Secrets out of job files, end to end: a job file that reads its secrets with compose's
 * `${VAR}` forms from the operator's environment and from an `env_file:` beside it, deployed by
 * the built CLI to a real agent on a harness engine. The container gets the values; a missing
 * variable is a `file:line:col` error naming it; a changed secret is a new version that `plan`
 * (text and `--json`) and the TUI (in tmux) name without its value. Then every CLI output, the
 * agent's logs, its data directory (except the job's private history, which needs the values for
 * a rollback) and everything the TUI showed are searched for the values: they are in none.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HistoryJsonSchema, OperationJsonSchema, PlanJsonSchema } from '../../src/protocol/cli-json.js';
import { type AgentProcess, startAgentProcess } from '../harness/agent-process.js';
import { CliRunner, TuiTerminal } from '../harness/cli-run.js';
import {
  describeDocker,
  docker,
  engine,
  images,
  resetEngine,
  runningContainers,
} from '../harness/context.js';

const JOB = `name: secret
node: lab1
env_file: secrets.env
update:
  min_healthy_time: 1s
container:
  - image: "IMAGE"
    environment:
      DB_PASSWORD: \${DB_PASSWORD}
      LOG_LEVEL: \${LOG_LEVEL:-info}
      REPLICA_NAME: \${REPLICA:?set REPLICA to this deployment's name}
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; httpd -f -p 8000 -h /www & wait", "--", "\${API_TOKEN}"]
`;

describeDocker(
  'secrets: ${VAR} interpolation from the environment and an env_file, values shown nowhere',
  () => {
    const node = engine('node2');
    const secret = (name: string) => `${name}-${randomBytes(8).toString('hex')}`;
    const values = {
      db1: secret('db-one'),
      db2: secret('db-two'),
      db3: secret('db-three'),
      token1: secret('tok-one'),
      token2: secret('tok-two'),
      shell: secret('db-shell'),
    };
    let agent: AgentProcess;
    let dir: string;
    let cli: CliRunner;
    let term: TuiTerminal | undefined;

    const envFile = (db: string, token: string) =>
      writeFileSync(join(dir, 'secrets.env'), `# not committed\nDB_PASSWORD=${db}\nAPI_TOKEN="${token}"\n`);
    /** The environment the job's container really got. */
    const containerEnv = async () => {
      const [c] = await runningContainers(node, { 'dokkup.job.name': 'secret' });
      const out = await docker(node.dockerHost, ['inspect', '--format', '{{json .Config.Env}}', c!.id]);
      return JSON.parse(out.stdout) as string[];
    };

    beforeAll(async () => {
      await resetEngine(node);
      agent = await startAgentProcess({
        dockerHost: node.dockerHost,
        env: { LOG_LEVEL: 'debug', LOG_FORMAT: 'json' },
      });
      dir = mkdtempSync(join(tmpdir(), 'dokkup-secrets-'));
      writeFileSync(
        join(dir, 'inventory.yaml'),
        // TLS, the agent's certificate pinned.
        `nodes:\n  - name: lab1\n    location: 127.0.0.1:${agent.port}\n    key: ${agent.key}\n    fingerprint: "${agent.fingerprint}"\n`,
      );
      writeFileSync(join(dir, 'secret.yaml'), JOB.replace('IMAGE', images().webV1));
      envFile(values.db1, values.token1);
      cli = new CliRunner(dir, {
        PATH: process.env.PATH,
        HOME: dir,
        DOCKER_CONFIG: join(dir, 'no-docker-config'),
      });
    });

    afterAll(async () => {
      term?.close();
      await agent?.stop();
      await resetEngine(node);
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('a missing variable is a file:line:col error naming it (the required marker’s message too)', async () => {
      const ran = await cli.run(['run', 'job', '-y', 'secret.yaml']);
      expect(ran.code).toBe(2);
      expect(ran.stderr.trim()).toBe(
        "secret.yaml:11:21 container[0].environment.REPLICA_NAME: variable REPLICA is required but not set: set REPLICA to this deployment's name",
      );
      writeFileSync(join(dir, 'secrets.env'), `API_TOKEN=${values.token1}\n`);
      const missing = await cli.run(['run', 'job', '-y', 'secret.yaml'], { env: { REPLICA: 'blue' } });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain(
        'secret.yaml:9:20 container[0].environment.DB_PASSWORD: variable DB_PASSWORD is not set',
      );
      envFile(values.db1, values.token1);
      // Commands that never send the spec work without the secrets.
      const show = await cli.run(['show', 'job', 'secret.yaml']);
      expect(show.code, show.stderr).toBe(0);
    });

    it('deploys with the values from the env file and the environment, defaults applied', async () => {
      const ran = await cli.run(['run', 'job', '-y', 'secret.yaml'], { env: { REPLICA: 'blue' } });
      expect(ran.code, ran.stdout + ran.stderr).toBe(0);
      const env = await containerEnv();
      expect(env).toContain(`DB_PASSWORD=${values.db1}`);
      expect(env).toContain('LOG_LEVEL=info');
      expect(env).toContain('REPLICA_NAME=blue');
      // The shell environment wins over the env file.
      const plan = await cli.run(['plan', 'job', 'secret.yaml'], {
        env: { REPLICA: 'blue', DB_PASSWORD: values.shell },
      });
      expect(plan.code).toBe(1);
      expect(plan.stdout).toContain('~ environment: DB_PASSWORD');
      const same = await cli.run(['plan', 'job', 'secret.yaml'], { env: { REPLICA: 'blue' } });
      expect(same.code, same.stdout).toBe(0);
    });

    it('a changed secret is a new version; plan names the variable and the masked command, never a value', async () => {
      envFile(values.db2, values.token2);
      const plan = await cli.run(['plan', 'job', 'secret.yaml'], { env: { REPLICA: 'blue' } });
      expect(plan.code).toBe(1);
      expect(plan.stdout).toMatch(/lab1: update [0-9a-f]{7} -> [0-9a-f]{7}, start-first/);
      expect(plan.stdout).toContain('~ environment: DB_PASSWORD');
      expect(plan.stdout).toContain('~ command');
      const json = await cli.run(['plan', 'job', '--json', 'secret.yaml'], { env: { REPLICA: 'blue' } });
      const doc = PlanJsonSchema.parse(JSON.parse(json.stdout));
      expect(doc.nodes[0]!.plan!.diff).toMatchObject({
        environment: { changed: ['DB_PASSWORD'] },
        other: ['command'],
      });
      expect(doc.nodes[0]!.plan!.diff).not.toHaveProperty('command');
      const ran = await cli.run(['run', 'job', '-y', '--json', 'secret.yaml'], { env: { REPLICA: 'blue' } });
      expect(OperationJsonSchema.parse(JSON.parse(ran.stdout)).nodes[0]).toMatchObject({
        outcome: 'succeeded',
      });
      expect(await containerEnv()).toContain(`DB_PASSWORD=${values.db2}`);
      const history = await cli.run(['history', 'job', '--json', 'secret.yaml']);
      expect(HistoryJsonSchema.parse(JSON.parse(history.stdout)).nodes[0]!.history!.entries).toHaveLength(2);
      await cli.run(['history', 'job', 'secret.yaml']);
      await cli.run(['show', 'job', '--json', 'secret.yaml']);
    });

    it('the TUI’s confirmation names the changed secret without its value', async () => {
      envFile(values.db3, values.token2);
      term = new TuiTerminal(dir, ['-i', 'inventory.yaml', 'secret.yaml'], {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: dir,
        DOCKER_CONFIG: join(dir, 'no-docker-config'),
        REPLICA: 'blue',
      });
      await term.waitForText(/nodes 1 online/);
      await term.keys('d');
      await term.waitForText('▶ secret.yaml');
      await term.keys('Enter');
      const pane = await term.waitForText('~ environment: DB_PASSWORD');
      expect(pane).toMatch(/lab1: update [0-9a-f]{7} -> [0-9a-f]{7}/);
      expect(pane).not.toContain('~ command:');
      await term.keys('Escape');
      await term.waitFor('the confirmation closed', (s) => !s.includes('~ environment: DB_PASSWORD'));
    });

    it('no value is in any output, the agent’s logs or its data directory, only in its private history', async () => {
      const history = join(agent.configDir, 'jobs', 'secret.json');
      // The audit log, read back through the CLI too: the deploys are there, the values are not.
      const audit = await cli.run(['audit', '--json']);
      expect(audit.code, audit.stderr).toBe(0);
      expect(audit.stdout).toContain('"deploy"');
      await cli.run(['audit']);
      const shown = [
        cli.allOutput(),
        agent.output(),
        ...(term?.screens ?? []),
        readFileSync(join(dir, 'tui-stderr.txt'), 'utf8'),
      ].join('\n');
      const stored: [string, string][] = [];
      const walk = (d: string) => {
        for (const entry of readdirSync(d, { withFileTypes: true })) {
          const path = join(d, entry.name);
          if (entry.isDirectory()) walk(path);
          else if (path !== history) stored.push([path, readFileSync(path, 'latin1')]);
        }
      };
      walk(agent.configDir);
      expect(stored.map(([file]) => file)).toContain(join(agent.configDir, 'audit.log'));
      for (const value of Object.values(values)) {
        expect(shown.includes(value), `${value} shown`).toBe(false);
        for (const [file, text] of stored) expect(text.includes(value), `${value} in ${file}`).toBe(false);
      }
      // The private history keeps what a rollback needs, readable by the agent's user only.
      const kept = readFileSync(history, 'utf8');
      expect(kept).toContain(values.db1);
      expect(kept).toContain(values.db2);
      expect(statSync(history).mode & 0o777).toBe(0o600);
      expect(statSync(join(agent.configDir, 'jobs')).mode & 0o777).toBe(0o700);
    });
  },
);
