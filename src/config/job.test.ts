import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError, InputErrors } from '../core/errors.js';
import { specVersion } from '../core/version.js';
import { parseInventoryText } from './inventory.js';
import { checkJobAgainstInventory, loadJobFile, parseJobText } from './job.js';
import { MAX_FILE_BYTES } from './read-file.js';

const here = (name: string) => new URL(name, import.meta.url).pathname;
const examples = (name: string) => new URL(`../../examples/${name}`, import.meta.url).pathname;

/** Every error as `file:line:col field: message`; fails when the text parses. */
function errorsOf(text: string, file = 'job.yaml'): string[] {
  try {
    parseJobText(text, file);
  } catch (err) {
    expect(err).toBeInstanceOf(InputErrors);
    const errors = (err as InputErrors).errors;
    for (const e of errors) {
      expect(e).toBeInstanceOf(InputError);
      expect(e.position?.file).toBe(file);
      expect(e.position?.line).toBeGreaterThan(0);
    }
    return errors.map((e) => e.format());
  }
  throw new Error('expected the job to be rejected');
}

const ok = `name: web
group: labs
container:
  - image: nginx:alpine
`;

describe('parseJobText: valid files', () => {
  it('parses the original README demo.yaml', () => {
    const spec = parseJobText(readFileSync(here('fixtures/demo.yaml'), 'utf8'), 'demo.yaml');
    expect(spec).toEqual({
      name: 'demo',
      count: 2,
      target: { kind: 'group', group: 'labs' },
      container: {
        image: 'crccheck/hello-world',
        command: null,
        entrypoint: null,
        ports: [{ in: 8000, protocol: 'tcp', out: null }],
        restart: 'always',
        labels: { 'my.label.test': 'demo' },
        environment: { MYENV: 'ENVEXAMPLE' },
        volumes: ['myvolume:/home'],
        networks: ['bridge'],
        healthcheck: null,
        resources: { nanoCpus: null, memoryBytes: null },
        pull: 'missing',
      },
      update: { healthyDeadlineMs: 120_000, minHealthyMs: 3000 },
    });
  });

  it('parses the examples', async () => {
    const hello = await loadJobFile(examples('hello.yaml'));
    expect(hello.spec.container.image).toBe('traefik/whoami:latest');
    expect(hello.spec.count).toBe(2);
    expect(hello.version).toBe(specVersion(hello.spec));
    const web = await loadJobFile(examples('web.yaml'));
    expect(web.spec.container.labels).toEqual({ 'app.query': 'a=b&c=d', 'app.tier': 'frontend' });
    expect(web.spec.container.healthcheck?.test).toEqual([
      'CMD-SHELL',
      'wget -q -O /dev/null http://127.0.0.1/ || exit 1',
    ]);
    expect(web.spec.container.resources).toEqual({ nanoCpus: 500_000_000, memoryBytes: 128 * 1024 ** 2 });
    expect(web.spec.update).toEqual({ healthyDeadlineMs: 60_000, minHealthyMs: 2000 });
  });

  it('keeps values containing "=" whole', () => {
    const spec = parseJobText(
      `${ok}    labels: ["a=b=c"]\n    environment:\n      - DSN=postgres://u:p@h/db?sslmode=disable\n`,
      'j',
    );
    expect(spec.container.labels).toEqual({ a: 'b=c' });
    expect(spec.container.environment).toEqual({ DSN: 'postgres://u:p@h/db?sslmode=disable' });
  });

  it('accepts a trailing document marker and a leading one', () => {
    expect(parseJobText(`---\n${ok}---\n`, 'j').name).toBe('web');
  });
});

describe('parseJobText: every bad input names file:line:col field', () => {
  it('malformed YAML', () => {
    expect(errorsOf('name: web\ncontainer: [\n  - image: x\n')).toEqual([
      'job.yaml:3:3: invalid YAML: Block collections are not allowed within flow collections',
      'job.yaml:4:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
    expect(errorsOf('name: web\n\tgroup: x\n')).toEqual([
      'job.yaml:2:1: invalid YAML: Tabs are not allowed as indentation',
    ]);
    expect(errorsOf('name: web\nname: again\n')).toEqual([
      'job.yaml:2:1: duplicate key "name" in this mapping',
    ]);
    expect(errorsOf('name: *nowhere\n')).toEqual([
      expect.stringMatching(/^job\.yaml:1:1: invalid YAML: .*nowhere/),
    ]);
  });

  it('unknown keys, with a hint when close', () => {
    expect(errorsOf(`${ok}    imagee: nginx\n    restrat: always\n    colour: red\n`)).toEqual([
      'job.yaml:5:5 container[0].imagee: unknown key "imagee" (did you mean "image"?)',
      'job.yaml:6:5 container[0].restrat: unknown key "restrat" (did you mean "restart"?)',
      expect.stringMatching(
        /^job\.yaml:7:5 container\[0\]\.colour: unknown key "colour"; expected one of: image, ports, /,
      ),
    ]);
    expect(errorsOf(`${ok}cuont: 2\n`)).toEqual([
      'job.yaml:5:1 cuont: unknown key "cuont" (did you mean "count"?)',
    ]);
    expect(errorsOf(`${ok}    ports:\n      - in: 80\n        outt: 8080\n`)).toEqual([
      'job.yaml:7:9 container[0].ports[0].outt: unknown key "outt" (did you mean "out"?)',
    ]);
  });

  it('stop fields: bad grace periods, signals and init values at file:line:col', () => {
    expect(errorsOf(`${ok}    stop_grace_period: forever\n    stop_signal: 99\n    init: "yes"\n`)).toEqual([
      'job.yaml:5:24 container[0].stop_grace_period: must be a duration like 30s, 1m30s or 500ms',
      'job.yaml:6:18 container[0].stop_signal: must be a signal name like SIGTERM, SIGQUIT or SIGINT, or a number from 1 to 64, got 99 (Linux signals stop at 64)',
      'job.yaml:7:11 container[0].init: expected true or false, got "yes"',
    ]);
    expect(errorsOf(`${ok}    stop_signal: SIGTERMINATE\n    stop_grace_period: 1h\n`)).toEqual([
      'job.yaml:5:18 container[0].stop_signal: must be a signal name like SIGTERM, SIGQUIT or SIGINT, or a number from 1 to 64, got "SIGTERMINATE"',
      `job.yaml:6:24 container[0].stop_grace_period: must be at most 10m (an update waits for it, within the CLI's 30-minute operation timeout), got "1h"`,
    ]);
  });

  it('wrong types', () => {
    expect(errorsOf('name: web\ngroup: labs\ncount: two\ncontainer:\n  - image: nginx\n')).toEqual([
      'job.yaml:3:8 count: expected a number, got "two"',
    ]);
    expect(
      errorsOf(
        `${ok}    ports: 80\n    labels: 5\n    networks: bridge\n    healthcheck:\n      retries: many\n`,
      ),
    ).toEqual([
      'job.yaml:5:12 container[0].ports: expected a list, got 80',
      'job.yaml:6:13 container[0].labels: expected a list or a mapping, got 5',
      'job.yaml:7:15 container[0].networks: expected a list, got "bridge"',
      'job.yaml:9:16 container[0].healthcheck.retries: expected a number, got "many"',
    ]);
    expect(errorsOf('name: web\ngroup: labs\ncount: 1.5\ncontainer:\n  - image: nginx\n')).toEqual([
      'job.yaml:3:8 count: expected a whole number, got 1.5',
    ]);
    expect(errorsOf(`${ok}    ports:\n      - in: true\n`)).toEqual([
      'job.yaml:6:13 container[0].ports[0].in: expected a number or a string, got true',
    ]);
    expect(errorsOf(`${ok}    restart: alway\n`)).toEqual([
      'job.yaml:5:14 container[0].restart: must be one of "no", "always", "on-failure", "unless-stopped", got "alway" (did you mean "always"?)',
    ]);
    expect(errorsOf(`${ok}    ports:\n`)).toEqual([
      'job.yaml:5:5 container[0].ports: expected a list, got an empty value',
    ]);
  });

  it('missing container, image, name', () => {
    expect(errorsOf('name: web\ngroup: labs\n')).toEqual(['job.yaml:1:1 container: is required']);
    expect(errorsOf('name: web\ngroup: labs\ncontainer:\n')).toEqual([
      'job.yaml:3:1 container: expected a list, got an empty value',
    ]);
    expect(errorsOf('name: web\ngroup: labs\ncontainer: []\n')).toEqual([
      'job.yaml:3:12 container: must hold one container',
    ]);
    expect(errorsOf('name: web\ngroup: labs\ncontainer:\n  - ports:\n      - in: 80\n')).toEqual([
      'job.yaml:4:5 container[0].image: is required',
    ]);
    expect(errorsOf('group: labs\ncontainer:\n  - image: nginx\n')).toEqual([
      'job.yaml:1:1 name: is required',
    ]);
    expect(errorsOf('name: web\ncontainer:\n  - image: nginx\n')).toEqual([
      'job.yaml:1:1 group: is required: say where the job runs with group, node or nodes',
    ]);
  });

  it('count below 1, negative, too large', () => {
    const withCount = (n: string) => `name: web\ngroup: labs\ncount: ${n}\ncontainer:\n  - image: nginx\n`;
    expect(errorsOf(withCount('0'))).toEqual(['job.yaml:3:8 count: must be at least 1']);
    expect(errorsOf(withCount('-3'))).toEqual(['job.yaml:3:8 count: must be at least 1']);
    expect(errorsOf(withCount('5000'))).toEqual(['job.yaml:3:8 count: must be at most 1000']);
  });

  it('labels and environment without "="', () => {
    expect(
      errorsOf(
        `${ok}    labels:\n      - tier=web\n      - novalue\n    environment:\n      - A=1\n      - HOME\n`,
      ),
    ).toEqual([
      'job.yaml:7:9 container[0].labels[1]: "novalue" has no "=": expected KEY=value (write novalue=value, or novalue= for an empty value)',
      'job.yaml:10:9 container[0].environment[1]: "HOME" has no "=": expected KEY=value (dokkup does not pass variables through from your machine; write HOME=value)',
    ]);
  });

  it('a fixed out port with count > 1', () => {
    const text =
      'name: web\ngroup: labs\ncount: 2\ncontainer:\n  - image: nginx\n    ports:\n      - in: 80\n        out: 8080\n';
    expect(errorsOf(text)).toEqual([
      'job.yaml:8:14 container[0].ports[0].out: a fixed host port can be bound by only one container per node, but count is 2 (remove "out" to get a random host port, or set count: 1)',
    ]);
  });

  it('more than one container, naming the line of the second', () => {
    expect(errorsOf(`${ok}    ports: [{in: 80}]\n  - image: redis\n`)).toEqual([
      'job.yaml:6:5 container[1]: only one container per job is supported for now',
    ]);
  });

  it('an empty networks list', () => {
    expect(errorsOf(`${ok}    networks: []\n`)).toEqual([
      'job.yaml:5:15 container[0].networks: must name at least one network (omit it for the default bridge)',
    ]);
  });

  it('both group and node', () => {
    expect(errorsOf(`node: lab1\n${ok}`)).toEqual([
      'job.yaml:1:7 node: cannot be used together with group: use exactly one of group, node, nodes',
    ]);
  });

  it('empty file, a list, a scalar, several documents', () => {
    expect(errorsOf('')).toEqual([
      'job.yaml:1:1: is empty: expected a job file with name, group and container',
    ]);
    expect(errorsOf('# nothing but a comment\n')).toEqual([
      'job.yaml:1:1: is empty: expected a job file with name, group and container',
    ]);
    expect(errorsOf('- name: web\n')).toEqual([
      'job.yaml:1:1: must be a mapping of fields (name, group and container), got a list',
    ]);
    expect(errorsOf('just text\n')).toEqual([
      'job.yaml:1:1: must be a mapping of fields (name, group and container), got "just text"',
    ]);
    expect(errorsOf(`${ok}---\n${ok}`)).toEqual([
      'job.yaml:6:1: holds more than one YAML document (separated by ---); put one job file in each file',
    ]);
  });

  it('reports schema and normalisation problems together, in file order', () => {
    const text = `name: web
group: labs
count: 2
container:
  - image: nginx
    restart: sometimes
    ports:
      - in: 80
        out: 8080
    labels: [x]
    healthcheck:
      interval: soon
`;
    expect(errorsOf(text)).toEqual([
      'job.yaml:6:14 container[0].restart: must be one of "no", "always", "on-failure", "unless-stopped", got "sometimes"',
      'job.yaml:9:14 container[0].ports[0].out: a fixed host port can be bound by only one container per node, but count is 2 (remove "out" to get a random host port, or set count: 1)',
      'job.yaml:10:14 container[0].labels[0]: "x" has no "=": expected KEY=value (write x=value, or x= for an empty value)',
      'job.yaml:12:17 container[0].healthcheck.interval: must be a duration like 30s, 1m30s or 500ms',
    ]);
  });
});

describe('checkJobAgainstInventory', () => {
  const inventory = parseInventoryText(
    'nodes:\n  - {name: lab1, location: "a:1", key: k}\n  - {name: lab2, location: "b:1", key: k}\ngroups:\n  - {name: labs, nodes: [lab2, lab1]}\n',
    'inventory.yaml',
  );
  const check = (text: string) => {
    const spec = parseJobText(text, 'job.yaml');
    try {
      return checkJobAgainstInventory(spec, inventory, 'job.yaml', text).map((n) => n.name);
    } catch (err) {
      expect(err).toBeInstanceOf(InputErrors);
      return (err as InputErrors).errors.map((e) => e.format());
    }
  };

  it('resolves the target nodes', () => {
    expect(check(ok)).toEqual(['lab2', 'lab1']);
    expect(check('nodes: [lab1]\nname: w\ncontainer: [{image: x}]\n')).toEqual(['lab1']);
  });

  it('names an unknown group at its line', () => {
    expect(check('name: web\ncontainer:\n  - image: nginx\ngroup: lab\n')).toEqual([
      'job.yaml:4:8 group: unknown group "lab" (not in inventory.yaml); did you mean "labs"?',
    ]);
  });

  it('names unknown nodes at their lines', () => {
    expect(check('name: web\nnodes:\n  - lab1\n  - db\n  - lab7\ncontainer:\n  - image: nginx\n')).toEqual([
      'job.yaml:4:5 nodes[1]: unknown node "db" (not in inventory.yaml); known nodes: lab1, lab2',
      'job.yaml:5:5 nodes[2]: unknown node "lab7" (not in inventory.yaml); did you mean "lab1"?',
    ]);
    expect(check('name: web\nnode: lab3\ncontainer:\n  - image: nginx\n')).toEqual([
      'job.yaml:2:7 node: unknown node "lab3" (not in inventory.yaml); did you mean "lab1"?',
    ]);
  });
});

describe('loadJobFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dokkup-job-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const failure = async (path: string) => {
    try {
      await loadJobFile(path);
    } catch (err) {
      expect(err).toBeInstanceOf(InputErrors);
      return (err as InputErrors).errors.map((e) => e.format());
    }
    throw new Error('expected loadJobFile to fail');
  };

  it('returns the spec, its version and the file', async () => {
    const path = join(dir, 'ok.yaml');
    writeFileSync(path, ok);
    const loaded = await loadJobFile(path);
    expect(loaded.file).toBe(path);
    expect(loaded.version).toMatch(/^[0-9a-f]{7}$/);
    expect(loaded.version).toBe(specVersion(parseJobText(ok, 'other-name.yaml')));
  });

  it('reports a missing file, a directory, a huge or binary file clearly', async () => {
    expect(await failure(join(dir, 'nope.yaml'))).toEqual([`${join(dir, 'nope.yaml')}: no such file`]);
    expect(await failure(dir)).toEqual([`${dir}: is a directory, expected a YAML file`]);
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `# ${'x'.repeat(MAX_FILE_BYTES)}\n`);
    expect(await failure(big)).toEqual([`${big}: is 1.0 MiB; job files are limited to 1 MiB`]);
    const binary = join(dir, 'bin.yaml');
    writeFileSync(binary, Buffer.from([0x6e, 0x00, 0x01]));
    expect(await failure(binary)).toEqual([`${binary}: is a binary file, expected YAML text`]);
    const latin1 = join(dir, 'latin1.yaml');
    writeFileSync(latin1, Buffer.from([0x6e, 0x3a, 0x20, 0xe9, 0x0a]));
    expect(await failure(latin1)).toEqual([`${latin1}: is not UTF-8 text`]);
  });

  it('reads the job file again to position target errors when no text is given', () => {
    const path = join(dir, 'target.yaml');
    const text = 'name: web\ncontainer:\n  - image: nginx\ngroup: nowhere\n';
    writeFileSync(path, text);
    const inventory = parseInventoryText('nodes:\n  - {name: a, location: "a:1", key: k}\n', 'inv.yaml', {});
    expect(() => checkJobAgainstInventory(parseJobText(text, path), inventory, path)).toThrow(
      `${path}:4:8 group: unknown group "nowhere" (not in inv.yaml); it defines no groups`,
    );
  });

  it('positions errors in the file by its path', async () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'name: web\ngroup: labs\ncount: 0\ncontainer:\n  - image: nginx\n');
    expect(await failure(path)).toEqual([`${path}:3:8 count: must be at least 1`]);
  });
});
