import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseJobText } from '../../src/config/index.js';
import { specVersion } from '../../src/core/version.js';
import { HistoryJsonSchema, OperationJsonSchema, ShowJobJsonSchema } from '../../src/protocol/cli-json.js';
import { TopJobJsonSchema } from '../../src/protocol/feeds.js';
import {
  type AgentProcess,
  agentBinary,
  inventoryYaml,
  startAgentProcess,
} from '../harness/agent-process.js';
import { type CliRun as Ran, runCli } from '../harness/cli-run.js';
import {
  allContainers,
  describeDocker,
  docker,
  engine,
  harness,
  images,
  resetEngine,
} from '../harness/context.js';

const BIN = agentBinary();

const dokkup = (dir: string, args: string[]) => runCli(dir, args, { env: { ...process.env, NO_COLOR: '1' } });

const explain = (ran: Ran) => `stdout:\n${ran.stdout}\nstderr:\n${ran.stderr}`;

/** Cells of a table line (words joined by fewer than 5 spaces). */
const cells = (line: string) => [...line.matchAll(/\S+(?: {1,4}\S+)*/g)].map((m) => m[0]);

describeDocker(
  'a job with several containers through the CLI (built binary, real agent, real Docker)',
  () => {
    const e = engine(0);
    let agent: AgentProcess;
    let dir: string;
    const job = 'shop';
    const side =
      "while true; do ip=$(timeout 2 nslookup web 2>/dev/null | awk '/^Address: /{print $2; exit}'); " +
      'if [ -n "$ip" ]; then echo "side got: $(printf \'GET / HTTP/1.0\\r\\n\\r\\n\' | timeout 2 nc $ip 8000 | tail -n 1)"; ' +
      'else echo "side got: nothing"; fi; sleep 0.3; done';
    const shop = (web: string) => `name: ${job}
node: n1
count: 2
update:
  min_healthy_time: 1s
container:
  - name: web
    image: "${web}"
    ports:
      - in: 8000
    networks: [shop]
  - name: side
    image: "${images().webV1}"
    init: true
    command: ["sh", "-c", ${JSON.stringify(side)}]
    networks: [shop]
`;
    const v1 = () => specVersion(parseJobText(shop(images().webV1), 'shop.yaml'));
    const v2 = () => specVersion(parseJobText(shop(images().webV2), 'shop.yaml'));

    beforeAll(async () => {
      if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first`);
      dir = mkdtempSync(path.join(tmpdir(), 'dokkup-e2e-multi-'));
      await resetEngine(e);
      agent = await startAgentProcess({ dockerHost: e.dockerHost });
      writeFileSync(path.join(dir, 'inventory.yaml'), inventoryYaml([agent.inventoryNode('n1')]));
      writeFileSync(path.join(dir, 'shop.yaml'), shop(images().webV1));
      writeFileSync(path.join(dir, 'shop-v2.yaml'), shop(images().webV2));
    });

    afterAll(async () => {
      await agent?.stop();
      if (harness().dockerAvailable) await resetEngine(e);
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('run job: the summary has a row per entry, the node statuses count containers of both entries', async () => {
      const ran = await dokkup(dir, ['run', 'job', '-y', 'shop.yaml']);
      expect(ran.code, explain(ran)).toBe(0);
      const web = images().webV1;
      const w = Math.max('IMAGE'.length, web.length) + 5;
      expect(ran.stdout).toContain(
        [
          'Deployment summary:',
          '',
          `NAME     ENTRY     ${'IMAGE'.padEnd(w)}RESTART     COUNT     GROUP     NETWORK`,
          `shop     web       ${web.padEnd(w)}always      2         n1        shop`,
          `shop     side      ${web.padEnd(w)}always      2         n1        shop`,
          '',
          'Node statuses:',
          '',
          'NAME     STATUS     CONTAINERS     UPDATE     VERSION',
          `n1*      ONLINE     0 -> 4         true       ${v1()}`,
        ].join('\n'),
      );
      expect(ran.stdout).toMatch(/^n1 +OK +\S+ +\S+ +Deployment successful$/m);
      expect(await allContainers(e, { 'dokkup.job.name': job })).toHaveLength(4);
    });

    it('plan job: the changed entry is named in the diff, exit code 1', async () => {
      const ran = await dokkup(dir, ['plan', 'job', 'shop-v2.yaml']);
      expect(ran.code, explain(ran)).toBe(1);
      expect(ran.stdout).toContain(`n1: update ${v1()} -> ${v2()}, start-first`);
      expect(ran.stdout).toContain(`  ~ web: image: ${images().webV1} -> ${images().webV2}`);
      expect(ran.stdout).not.toMatch(/~ side:/);
    });

    it('show job: a row per entry and an ENTRY column over the containers; --json carries the entries', async () => {
      const ran = await dokkup(dir, ['show', 'job', 'shop.yaml']);
      expect(ran.code, explain(ran)).toBe(0);
      const lines = ran.stdout.trimEnd().split('\n');
      expect(cells(lines[0]!)).toEqual([
        'NODE',
        'LOCATION',
        'STATUS',
        'JOB',
        'ENTRY',
        'IMAGE',
        'CONTAINERS',
        'VERSION',
      ]);
      expect(cells(lines[1]!)).toEqual([
        'n1',
        `127.0.0.1:${agent.port}`,
        'ONLINE',
        'shop',
        'web',
        images().webV1,
        '2/2',
        v1(),
      ]);
      expect(cells(lines[2]!)).toEqual([
        'n1',
        `127.0.0.1:${agent.port}`,
        'ONLINE',
        'shop',
        'side',
        images().webV1,
        '2/2',
        v1(),
      ]);
      expect(cells(lines[4]!)).toEqual(['CONTAINER ID', 'ENTRY', 'NAME', 'STATUS', 'PORTS']);
      const rows = lines.slice(5).map(cells);
      expect(rows).toHaveLength(4);
      expect(rows.map((r) => r[1]).sort()).toEqual(['side', 'side', 'web', 'web']);
      for (const r of rows) expect(r[2]).toMatch(new RegExp(`^shop-${r[1]}-[0-9a-f-]{36}$`));

      const json = await dokkup(dir, ['show', 'job', '--json', 'shop.yaml']);
      const doc = ShowJobJsonSchema.parse(JSON.parse(json.stdout));
      expect(doc.nodes[0]?.job?.entries?.map((x) => [x.name, x.running, x.desired])).toEqual([
        ['web', 2, 2],
        ['side', 2, 2],
      ]);
      expect(doc.nodes[0]?.job?.desired).toBe(4);
      expect(new Set(doc.nodes[0]?.job?.containers.map((c) => c.replica)).size).toBe(2);
    });

    it('logs job --entry side: only the sidecar, prefixed n1/side/<id>, and its lines prove it reached web by name', async () => {
      const deadline = Date.now() + 20_000;
      let ran: Ran;
      do {
        ran = await dokkup(dir, ['logs', 'job', '--entry', 'side', '--tail', '5', 'shop.yaml']);
        if (ran.stdout.includes('side got: v1')) break;
        await new Promise((r) => setTimeout(r, 500));
      } while (Date.now() < deadline);
      expect(ran.code, explain(ran)).toBe(0);
      const lines = ran.stdout.trimEnd().split('\n');
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(line).toMatch(/^n1\/side\/[0-9a-f]{12} +\| side got: /);
      expect(ran.stdout).toContain('side got: v1');
      const bad = await dokkup(dir, ['logs', 'job', '--entry', 'db', 'shop.yaml']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("--entry db: not one of the job's entries (web, side)");
    });

    it('top job --json: every running container of both entries, with its entry', async () => {
      const ran = await dokkup(dir, ['top', 'job', '--json', 'shop.yaml']);
      expect(ran.code, explain(ran)).toBe(0);
      const doc = TopJobJsonSchema.parse(JSON.parse(ran.stdout));
      expect(doc.nodes[0]?.containers?.map((c) => c.entry).sort()).toEqual(['side', 'side', 'web', 'web']);
    });

    it('an update of one entry, then history lists entry=image, rollback restores both, purge removes all', async () => {
      const update = await dokkup(dir, ['run', 'job', '-y', '--json', 'shop-v2.yaml']);
      expect(update.code, explain(update)).toBe(0);
      const doc = OperationJsonSchema.parse(JSON.parse(update.stdout));
      expect(doc.nodes[0]?.result).toMatchObject({ ok: true, action: 'update', running: 4, total: 4 });
      expect(doc.nodes[0]?.plan?.diff?.entries?.map((x) => x.name)).toEqual(['web']);

      const history = await dokkup(dir, ['history', 'job', 'shop.yaml']);
      expect(history.code, explain(history)).toBe(0);
      const rows = history.stdout.trimEnd().split('\n').slice(1).map(cells);
      expect(rows.map((r) => [r[2], r[3]])).toEqual([
        [v2(), `web=${images().webV2}, side=${images().webV1}`],
        [v1(), `web=${images().webV1}, side=${images().webV1}`],
      ]);
      const historyJson = HistoryJsonSchema.parse(
        JSON.parse((await dokkup(dir, ['history', 'job', '--json', 'shop.yaml'])).stdout),
      );
      expect(historyJson.nodes[0]?.history?.entries[0]?.entries?.map((x) => x.name)).toEqual(['web', 'side']);

      const back = await dokkup(dir, ['rollback', 'job', '-y', 'shop.yaml']);
      expect(back.code, explain(back)).toBe(0);
      const running = await allContainers(e, { 'dokkup.job.name': job });
      expect(running.filter((c) => c.state === 'running')).toHaveLength(4);
      expect(new Set(running.map((c) => c.labels['dokkup.job.version']))).toEqual(new Set([v1()]));

      const purge = await dokkup(dir, ['stop', 'job', '--purge', '-y', 'shop.yaml']);
      expect(purge.code, explain(purge)).toBe(0);
      expect(purge.stdout).toContain(
        [
          'Stop job summary:',
          '',
          `NAME     ENTRY     ${'IMAGE'.padEnd(images().webV1.length + 5)}GROUP`,
          `shop     web       ${images().webV1.padEnd(images().webV1.length + 5)}n1`,
          `shop     side      ${images().webV1.padEnd(images().webV1.length + 5)}n1`,
        ].join('\n'),
      );
      expect(await allContainers(e, { 'dokkup.job.name': job })).toEqual([]);
      await docker(e.dockerHost, ['network', 'rm', 'shop'], { allowFail: true });
    });
  },
);
