import { describe, expect, it } from 'vitest';
import { type JobFile, type JobSpec, JobSpecSchema, SubmittedJobSpecSchema } from '../protocol/job.js';
import { InputErrors } from './errors.js';
import { formatFieldPath, normalizeJob, parseMemoryBytes, SpecFieldError } from './spec.js';

type ContainerFile = JobFile['container'][number];
const job = (container: Partial<ContainerFile> = {}, rest: Partial<JobFile> = {}): JobFile => ({
  name: 'web',
  group: 'labs',
  container: [{ image: 'nginx:alpine', ...container }],
  ...rest,
});

/** `field: message` of every problem `normalizeJob` reports. */
function problems(file: JobFile): string[] {
  try {
    normalizeJob(file);
  } catch (err) {
    expect(err).toBeInstanceOf(InputErrors);
    return (err as InputErrors).errors.map((e) => {
      expect(e).toBeInstanceOf(SpecFieldError);
      return e.format();
    });
  }
  throw new Error('expected normalizeJob to fail');
}

describe('normalizeJob defaults', () => {
  it('fills every default of a minimal job', () => {
    const spec = normalizeJob(job());
    expect(spec).toEqual({
      name: 'web',
      count: 1,
      target: { kind: 'group', group: 'labs' },
      container: [
        {
          image: 'nginx:alpine',
          command: null,
          entrypoint: null,
          ports: [],
          restart: 'always',
          labels: {},
          environment: {},
          volumes: [],
          networks: ['bridge'],
          healthcheck: null,
          resources: { nanoCpus: null, memoryBytes: null },
          pull: 'missing',
        },
      ],
      update: { healthyDeadlineMs: 120_000, minHealthyMs: 3000 },
    });
    expect(JobSpecSchema.parse(spec)).toEqual(spec);
  });
});

describe('normalizeJob target', () => {
  it('turns node into a one-node list and keeps nodes', () => {
    expect(normalizeJob(job({}, { group: undefined, node: 'lab1' })).target).toEqual({
      kind: 'nodes',
      nodes: ['lab1'],
    });
    expect(normalizeJob(job({}, { group: undefined, nodes: ['b', 'a'] })).target).toEqual({
      kind: 'nodes',
      nodes: ['b', 'a'],
    });
  });

  it('needs exactly one of group, node, nodes', () => {
    expect(problems(job({}, { group: undefined }))).toEqual([
      'group: is required: say where the job runs with group, node or nodes',
    ]);
    expect(problems(job({}, { node: 'lab1' }))).toEqual([
      'node: cannot be used together with group: use exactly one of group, node, nodes',
    ]);
  });

  it('rejects a node listed twice', () => {
    expect(problems(job({}, { group: undefined, nodes: ['a', 'b', 'a'] }))).toEqual([
      'nodes[2]: node "a" is already listed at nodes[0]',
    ]);
  });
});

describe('normalizeJob labels and environment', () => {
  it('splits list entries at the first "=" and keeps the rest of the value whole', () => {
    const spec = normalizeJob(
      job({ labels: ['a=b=c', 'empty=', 'url=http://x/?q=1'], environment: ['X=1=2'] }),
    );
    expect(spec.container[0]!.labels).toEqual({ a: 'b=c', empty: '', url: 'http://x/?q=1' });
    expect(spec.container[0]!.environment).toEqual({ X: '1=2' });
  });

  it('accepts maps and turns numbers and booleans into strings, keys sorted', () => {
    const spec = normalizeJob(job({ environment: { Z: 1, A: true, M: 'x=y' } }));
    expect(spec.container[0]!.environment).toEqual({ A: 'true', M: 'x=y', Z: '1' });
    expect(Object.keys(spec.container[0]!.environment)).toEqual(['A', 'M', 'Z']);
  });

  it('rejects entries without "=", empty keys, duplicates, null map values and reserved labels', () => {
    expect(
      problems(
        job({
          labels: ['ok=1', 'novalue', '=x', 'ok=2', 'dokkup.job.name=evil'],
          environment: { A: null, 'B=C': 'x' },
        }),
      ),
    ).toEqual([
      'container[0].labels[1]: "novalue" has no "=": expected KEY=value (write novalue=value, or novalue= for an empty value)',
      'container[0].labels[2]: label name must not be empty',
      'container[0].labels[3]: duplicate label "ok" (first set at container[0].labels[0])',
      'container[0].labels[4]: labels starting with "dokkup." are reserved for dokkup itself',
      'container[0].environment.A: has no value (write A: "" for an empty value)',
      'container[0].environment.B=C: key must not contain "=" in the map form (write B: value)',
    ]);
    expect(problems(job({ environment: ['PATH'] }))).toEqual([
      'container[0].environment[0]: "PATH" has no "=": expected KEY=value (dokkup does not pass variables through from your machine; write PATH=value)',
    ]);
  });
});

describe('normalizeJob ports', () => {
  it('reads numbers and "N/udp", random host port by default, sorted', () => {
    const spec = normalizeJob(
      job({ ports: [{ in: '53/udp' }, { in: 8000, out: 9000 }, { in: '53' }, { in: '443/tcp' }] }),
    );
    expect(spec.container[0]!.ports).toEqual([
      { in: 53, protocol: 'tcp', out: null },
      { in: 53, protocol: 'udp', out: null },
      { in: 443, protocol: 'tcp', out: null },
      { in: 8000, protocol: 'tcp', out: 9000 },
    ]);
  });

  it('rejects a fixed host port with count > 1', () => {
    expect(problems(job({ ports: [{ in: 80 }, { in: 443, out: 8443 }] }, { count: 3 }))).toEqual([
      'container[0].ports[1].out: a fixed host port can be bound by only one container per node, but count is 3 (remove "out" to get a random host port, or set count: 1)',
    ]);
    expect(normalizeJob(job({ ports: [{ in: 443, out: 8443 }] }, { count: 1 })).container[0]!.ports).toEqual([
      { in: 443, protocol: 'tcp', out: 8443 },
    ]);
  });

  it('rejects out-of-range ports and duplicates', () => {
    expect(
      problems(
        job({ ports: [{ in: '70000/udp' }, { in: 80, out: 8080 }, { in: '80/tcp' }, { in: 81, out: 8080 }] }),
      ),
    ).toEqual([
      'container[0].ports[0].in: must be a port between 1 and 65535, got "70000/udp"',
      'container[0].ports[2].in: container port 80/tcp is already published by ports[1]',
      'container[0].ports[3].out: host port 8080/tcp is already used by ports[1]',
    ]);
  });
});

describe('normalizeJob command, entrypoint, volumes, networks', () => {
  it('splits string commands like a shell and keeps lists', () => {
    const spec = normalizeJob(job({ command: `sh -c 'echo "a b"; sleep 1'`, entrypoint: ['/bin/x', 'a b'] }));
    expect(spec.container[0]!.command).toEqual(['sh', '-c', 'echo "a b"; sleep 1']);
    expect(spec.container[0]!.entrypoint).toEqual(['/bin/x', 'a b']);
    expect(problems(job({ command: 'echo "open', entrypoint: '   ' }))).toEqual([
      'container[0].command: unterminated double quote at character 6',
      'container[0].entrypoint: must not be empty',
    ]);
  });

  it('sorts volumes and keeps network order', () => {
    const spec = normalizeJob(
      job({ volumes: ['z:/z', '/a:/a:ro', 'm:/m'], networks: ['front', 'back', 'bridge'] }),
    );
    expect(spec.container[0]!.volumes).toEqual(['/a:/a:ro', 'm:/m', 'z:/z']);
    expect(spec.container[0]!.networks).toEqual(['front', 'back', 'bridge']);
  });

  it('rejects relative paths, duplicate volumes and networks', () => {
    expect(
      problems(
        job({ volumes: ['data', './x:/y', '~/x:/y', 'v:/a', 'v:/a', 'a:b:c:d'], networks: ['n', 'n'] }),
      ),
    ).toEqual([
      'container[0].volumes[0]: the path inside the container must be absolute, got "data"',
      'container[0].volumes[1]: host paths must be absolute (they are paths on the node, not on your machine), got "./x"',
      'container[0].volumes[2]: host paths must be absolute (they are paths on the node, not on your machine), got "~/x"',
      'container[0].volumes[4]: is already listed at volumes[3]',
      'container[0].volumes[5]: expected SOURCE:TARGET[:OPTIONS], got "a:b:c:d"',
      'container[0].networks[1]: network "n" is already listed at networks[0]',
    ]);
  });

  it('rejects upper case in the repository but not in the tag', () => {
    expect(normalizeJob(job({ image: '127.0.0.1:5000/app:V1' })).container[0]!.image).toBe(
      '127.0.0.1:5000/app:V1',
    );
    expect(problems(job({ image: 'Nginx:latest' }))).toEqual([
      'container[0].image: repository name must be lower case: "Nginx:latest"',
    ]);
  });
});

describe('normalizeJob entries (several containers)', () => {
  it('keeps every entry, in file order, each with its name and its own defaults', () => {
    const spec = normalizeJob({
      ...job(),
      count: 2,
      container: [
        { name: 'web', image: 'nginx:alpine', ports: [{ in: 80 }], networks: ['app'] },
        { name: 'cache', image: 'redis:7', networks: ['app'], restart: 'on-failure' },
      ],
    });
    expect(spec.container.map((e) => [e.name, e.image, e.restart, e.networks])).toEqual([
      ['web', 'nginx:alpine', 'always', ['app']],
      ['cache', 'redis:7', 'on-failure', ['app']],
    ]);
    expect(Object.keys(spec.container[0]!)[0]).toBe('name');
    expect(JobSpecSchema.parse(spec)).toEqual(spec);
  });

  it('a single entry may have a name; without one it has no name key at all', () => {
    expect(normalizeJob(job({ name: 'web' })).container[0]!.name).toBe('web');
    expect(Object.keys(normalizeJob(job()).container[0]!)).not.toContain('name');
  });

  it('needs a unique name on every entry once there are several', () => {
    expect(
      problems({
        ...job(),
        container: [{ image: 'a' }, { name: 'web', image: 'b' }, { name: 'web', image: 'c' }],
      }),
    ).toEqual([
      'container[0].name: is required when a job has more than one container',
      'container[2].name: "web" is already the name of container[1]',
    ]);
  });

  it('refuses two entries binding the same host port (a replica runs on one node)', () => {
    expect(
      problems({
        ...job(),
        container: [
          { name: 'a', image: 'a', ports: [{ in: 80, out: 8080 }] },
          { name: 'b', image: 'b', ports: [{ in: 81 }, { in: 80, out: 8080 }] },
        ],
      }),
    ).toEqual([
      'container[1].ports[1].out: host port 8080/tcp is already bound by container[0] (the containers of a replica share the node)',
    ]);
    // The same port number over another protocol is another port.
    expect(() =>
      normalizeJob({
        ...job(),
        container: [
          { name: 'a', image: 'a', ports: [{ in: 53, out: 53 }] },
          { name: 'b', image: 'b', ports: [{ in: '53/udp', out: 53 }] },
        ],
      }),
    ).not.toThrow();
  });

  it('checks each entry like a single one, naming its index', () => {
    expect(
      problems({
        ...job(),
        count: 2,
        container: [
          { name: 'web', image: 'nginx' },
          { name: 'side', image: 'Side:1', ports: [{ in: 80, out: 80 }] },
        ],
      }),
    ).toEqual([
      'container[1].image: repository name must be lower case: "Side:1"',
      'container[1].ports[0].out: a fixed host port can be bound by only one container per node, but count is 2 (remove "out" to get a random host port, or set count: 1)',
    ]);
  });
});

describe('JobSpecSchema (what an agent accepts)', () => {
  const two = () =>
    normalizeJob({
      ...job(),
      container: [
        { name: 'web', image: 'a' },
        { name: 'side', image: 'b' },
      ],
    });

  it('refuses the same entries the normaliser refuses: a missing name, a duplicate, a bad name', () => {
    const missing = two();
    delete missing.container[1]!.name;
    const duplicate = two();
    duplicate.container[1]!.name = 'web';
    const bad = two();
    bad.container[0]!.name = 'Web_1';
    const issues = (spec: unknown) =>
      JobSpecSchema.safeParse(spec).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues(missing)).toEqual(['container.1.name: is required when a job has more than one container']);
    expect(issues(duplicate)).toEqual(['container.1.name: "web" is already the name of container[0]']);
    expect(issues(bad)?.[0]).toMatch(/^container\.0\.name: must be a DNS label/);
    expect(JobSpecSchema.safeParse(two()).success).toBe(true);
  });

  it('reads the single container object dokkup 0.3 sent and stored as a one-entry list', () => {
    const spec = normalizeJob(job());
    const old = { ...spec, container: spec.container[0] };
    expect(JobSpecSchema.parse(old)).toEqual(spec);
  });
});

describe('normalizeJob healthcheck', () => {
  it('follows docker-compose: string test is CMD-SHELL, durations in ms, missing fields null', () => {
    const spec = normalizeJob(
      job({ healthcheck: { test: 'curl -f http://localhost/', interval: '10s', retries: 3 } }),
    );
    expect(spec.container[0]!.healthcheck).toEqual({
      test: ['CMD-SHELL', 'curl -f http://localhost/'],
      intervalMs: 10_000,
      timeoutMs: null,
      retries: 3,
      startPeriodMs: null,
    });
    const full = normalizeJob(
      job({
        healthcheck: { test: ['CMD', 'true'], interval: 2, timeout: '500ms', start_period: '1m', retries: 0 },
      }),
    );
    expect(full.container[0]!.healthcheck).toEqual({
      test: ['CMD', 'true'],
      intervalMs: 2000,
      timeoutMs: 500,
      retries: 0,
      startPeriodMs: 60_000,
    });
  });

  it('disable: true and test [NONE] both turn the check off', () => {
    const off = { test: ['NONE'], intervalMs: null, timeoutMs: null, retries: null, startPeriodMs: null };
    expect(normalizeJob(job({ healthcheck: { disable: true } })).container[0]!.healthcheck).toEqual(off);
    expect(normalizeJob(job({ healthcheck: { test: ['NONE'] } })).container[0]!.healthcheck).toEqual(off);
  });

  it('an empty healthcheck means the image default, like none', () => {
    expect(normalizeJob(job({ healthcheck: {} })).container[0]!.healthcheck).toBeNull();
    expect(normalizeJob(job({ healthcheck: { disable: false } })).container[0]!.healthcheck).toBeNull();
  });

  it('rejects malformed tests', () => {
    expect(problems(job({ healthcheck: { test: ['curl', 'x'] } }))).toEqual([
      'container[0].healthcheck.test[0]: must be CMD, CMD-SHELL or NONE, got "curl" (or write test as one string for a shell command)',
    ]);
    expect(problems(job({ healthcheck: { test: ['CMD'] } }))[0]).toMatch(
      /^container\[0\]\.healthcheck\.test: CMD needs/,
    );
    expect(problems(job({ healthcheck: { test: ['CMD-SHELL', 'a', 'b'] } }))).toEqual([
      'container[0].healthcheck.test: CMD-SHELL takes exactly one string, the shell command',
    ]);
    expect(problems(job({ healthcheck: { test: 'true', disable: true } }))).toEqual([
      'container[0].healthcheck.disable: cannot be used together with test (disable: true turns the check off)',
    ]);
  });
});

describe('normalizeJob resources and update policy', () => {
  it('converts cpus to nano CPUs and memory to bytes', () => {
    const r = (resources: ContainerFile['resources']) =>
      normalizeJob(job({ resources })).container[0]!.resources;
    expect(r({ cpus: 0.5, memory: '256m' })).toEqual({ nanoCpus: 500_000_000, memoryBytes: 256 * 1024 ** 2 });
    expect(r({ cpus: '1.5', memory: '1g' })).toEqual({ nanoCpus: 1_500_000_000, memoryBytes: 1024 ** 3 });
    expect(r({ memory: '512MiB' })).toEqual({ nanoCpus: null, memoryBytes: 512 * 1024 ** 2 });
    expect(r({ memory: 10_000_000 })).toEqual({ nanoCpus: null, memoryBytes: 10_000_000 });
    expect(parseMemoryBytes('1.5g')).toBe(1.5 * 1024 ** 3);
    expect(parseMemoryBytes('64MB')).toBe(64 * 1024 ** 2);
    expect(parseMemoryBytes('7340032b')).toBe(7_340_032);
  });

  it('rejects memory below Docker minimum and zero cpus', () => {
    expect(problems(job({ resources: { memory: '1m', cpus: '0' } }))).toEqual([
      'container[0].resources.cpus: must be more than 0, got "0"',
      'container[0].resources.memory: must be at least 6m (Docker\'s minimum), got "1m"',
    ]);
  });

  it('reads the update policy and refuses one that can never pass', () => {
    const spec = normalizeJob(job({}, { update: { healthy_deadline: '1m30s', min_healthy_time: '500ms' } }));
    expect(spec.update).toEqual({ healthyDeadlineMs: 90_000, minHealthyMs: 500 });
    expect(problems(job({}, { update: { healthy_deadline: '2s' } }))).toEqual([
      'update.healthy_deadline: must be longer than the minimum healthy time (3s by default), or no container could ever pass; got 2s',
    ]);
    expect(problems(job({}, { update: { healthy_deadline: 0 } }))).toContain(
      'update.healthy_deadline: must be longer than 0s',
    );
  });
});

describe('normalizeJob collects every problem', () => {
  it('reports all problems in one throw', () => {
    const found = problems(
      job(
        { labels: ['x'], environment: ['y'], ports: [{ in: 80, out: 80 }], networks: ['a', 'a'] },
        { count: 2 },
      ),
    );
    expect(found).toHaveLength(4);
  });

  it('formats field paths', () => {
    expect(formatFieldPath(['container', 0, 'ports', 1, 'in'])).toBe('container[0].ports[1].in');
    expect(formatFieldPath([])).toBe('');
  });
});

describe('normalizeJob stop fields (docker-compose spelling)', () => {
  it('are absent from the spec when the file does not set them', () => {
    const spec = normalizeJob(job());
    expect(Object.keys(spec.container[0]!)).not.toContain('stopGracePeriodMs');
    expect(Object.keys(spec.container[0]!)).not.toContain('stopSignal');
    expect(Object.keys(spec.container[0]!)).not.toContain('init');
  });

  it('are normalised when set, and the result passes the wire schema', () => {
    const spec = normalizeJob(job({ stop_grace_period: '1m', stop_signal: 'quit', init: true }));
    expect(spec.container[0]).toMatchObject({ stopGracePeriodMs: 60_000, stopSignal: 'SIGQUIT', init: true });
    expect(JobSpecSchema.parse(spec)).toEqual(spec);
    expect(normalizeJob(job({ stop_signal: 15, init: false })).container[0]).toMatchObject({
      stopSignal: 'SIGTERM',
      init: false,
    });
  });

  it('reports bad values at their field', () => {
    expect(problems(job({ stop_grace_period: '2s500ms', stop_signal: 99 }))).toEqual([
      'container[0].stop_grace_period: must be a whole number of seconds (Docker counts the grace period in seconds), got "2s500ms"',
      'container[0].stop_signal: must be a signal name like SIGTERM, SIGQUIT or SIGINT, or a number from 1 to 64, got 99 (Linux signals stop at 64)',
    ]);
  });

  it('the wire schema refuses what normalisation never produces (the agent is the boundary)', () => {
    const spec = normalizeJob(job());
    for (const bad of [
      { stopSignal: '99' },
      { stopSignal: 'sigterm' },
      { stopGracePeriodMs: 1500 },
      { stopGracePeriodMs: 3_600_000 },
    ]) {
      const container = spec.container.map((entry) => ({ ...entry, ...bad }));
      // The same spec with the good values passes: the refusal is the bad field's.
      expect(JobSpecSchema.safeParse(spec).success).toBe(true);
      const parsed = JobSpecSchema.safeParse({ ...spec, container });
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues.map((i) => i.path.join('.'))).toContain(
        `container.0.${Object.keys(bad)[0]}`,
      );
    }
  });
});

describe('the rules the agent keeps too (src/protocol/spec-rules.ts)', () => {
  // Each: a job file the CLI refuses (field, message) and the agent's view of the same mistake.
  const cases: [what: string, file: JobFile, field: string, message: RegExp, spec: (s: JobSpec) => void][] = [
    [
      'an escape in the image',
      job({ image: 'nginx:1\u001b[2J' }),
      'container[0].image',
      /control characters \(found U\+001B/,
      (s) => {
        s.container[0]!.image = 'nginx:1\u001b[2J';
      },
    ],
    [
      'an image that is no reference',
      job({ image: 'nginx:1?x=1' }),
      'container[0].image',
      /not an image reference/,
      (s) => {
        s.container[0]!.image = 'nginx:1?x=1';
      },
    ],
    [
      'a control character in a label name',
      job({ labels: { 'a\u0007': 'x' } }),
      'container[0].labels.a\u0007',
      /U\+0007/,
      (s) => {
        s.container[0]!.labels = { 'a\u0007': 'x' };
      },
    ],
    [
      'NUL in an environment value',
      job({ environment: ['A=x\u0000y'] }),
      'container[0].environment[0]',
      /value must not contain control characters \(found U\+0000/,
      (s) => {
        s.container[0]!.environment = { A: 'x\u0000y' };
      },
    ],
    [
      'NUL in a command',
      job({ command: ['sh', 'a\u0000'] }),
      'container[0].command[1]',
      /U\+0000/,
      (s) => {
        s.container[0]!.command = ['sh', 'a\u0000'];
      },
    ],
    [
      'NUL in a health check',
      job({ healthcheck: { test: 'true\u0000' } }),
      'container[0].healthcheck.test',
      /U\+0000/,
      (s) => {
        s.container[0]!.healthcheck = {
          test: ['CMD-SHELL', 'true\u0000'],
          intervalMs: null,
          timeoutMs: null,
          retries: null,
          startPeriodMs: null,
        };
      },
    ],
    [
      'a network that is no name',
      job({ networks: ['a/b'] }),
      'container[0].networks[0]',
      /not a network name/,
      (s) => {
        s.container[0]!.networks = ['a/b'];
      },
    ],
    [
      'an unknown volume option',
      job({ volumes: ['data:/data:exec'] }),
      'container[0].volumes[0]',
      /unknown volume option "exec"/,
      (s) => {
        s.container[0]!.volumes = ['data:/data:exec'];
      },
    ],
    [
      'a volume source that is neither a path nor a name',
      job({ volumes: ['a b:/data'] }),
      'container[0].volumes[0]',
      /neither an absolute host path nor a volume name/,
      (s) => {
        s.container[0]!.volumes = ['a b:/data'];
      },
    ],
    [
      'an escape in a target node',
      job({}, { group: undefined, nodes: ['n\u001b]0;x\u0007'] }),
      'nodes[0]',
      /control characters/,
      (s) => {
        s.target = { kind: 'nodes', nodes: ['n\u001b]0;x\u0007'] };
      },
    ],
  ];

  it.each(cases)(
    '%s: the CLI names the field, and the agent refuses the same spec',
    (_what, file, field, message, mutate) => {
      const found = problems(file);
      expect(found).toHaveLength(1);
      expect(found[0]!.startsWith(`${field}: `), found[0]).toBe(true);
      expect(found[0]).toMatch(message);
      const spec = normalizeJob(job());
      mutate(spec);
      expect(JobSpecSchema.safeParse(spec).success).toBe(true); // the stored shape is lenient…
      expect(SubmittedJobSpecSchema.safeParse(spec).success).toBe(false); // …a submitted spec is not
    },
  );

  it("keeps the same rules for every entry of a job with several, naming the entry's index", () => {
    const two = normalizeJob({
      name: 'web',
      group: 'labs',
      container: [
        { name: 'web', image: 'nginx:alpine', command: 'printf "\\033[31mred"' },
        { name: 'side', image: 'busybox:1', networks: ['front'] },
      ],
    });
    expect(SubmittedJobSpecSchema.safeParse(two).success).toBe(true);
    two.container[1]!.image = 'busybox:1\u001b[2J';
    two.container[1]!.volumes = ['data:/data:exec'];
    two.container[1]!.networks = ['a/b'];
    const parsed = SubmittedJobSpecSchema.safeParse(two);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['container.1.image', expect.stringMatching(/control characters/)],
      ['container.1.volumes.0', expect.stringMatching(/unknown volume option/)],
      ['container.1.networks.0', expect.stringMatching(/not a network name/)],
    ]);
  });

  it('every spec the CLI makes passes the agent, escapes in free text but NUL included', () => {
    for (const file of [
      job(),
      job({
        command: 'sh -c \'printf "\\033[31mred\\033[0m\\n"\'',
        environment: { CERT: '-----BEGIN-----\nabc\n-----END-----' },
      }),
      job({
        volumes: ['/srv/a:/a:ro,Z', 'data:/data:nocopy', '/anon'],
        networks: ['front', 'bridge'],
        image: '[::1]:5000/team/app:v1.2',
      }),
      job({
        image:
          'registry.example.com:5000/a/b-c_d@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      }),
    ]) {
      const parsed = SubmittedJobSpecSchema.safeParse(normalizeJob(file));
      expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    }
  });
});
