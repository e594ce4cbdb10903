/**
 * The job spec → Docker create options mapping (`containerConfig`), as a table: every field of a
 * normalised spec lands where Docker reads it. (test/integration/lifecycle.test.ts checks the
 * same fields on a real engine with `docker inspect`.)
 */
import { describe, expect, it } from 'vitest';
import { testSpec } from '../../src/core/spec.fixture.js';
import type { ContainerSpec } from '../../src/protocol/job.js';
import { containerConfig, describePullFailure } from './docker.js';

const config = (
  container: Partial<ContainerSpec>,
  labels: Record<string, string> = { 'dokkup.job.name': 'demo' },
) => containerConfig({ name: 'demo-1', spec: testSpec(container).container, labels });

describe('containerConfig: spec → Docker create options', () => {
  it('the defaults: image, name, no command override, empty env, default bridge, restart always', () => {
    const c = config({});
    expect(c).toEqual({
      name: 'demo-1',
      Image: 'web:v1',
      Env: [],
      Labels: { 'dokkup.job.name': 'demo' },
      ExposedPorts: {},
      HostConfig: {
        PortBindings: {},
        RestartPolicy: { Name: 'always' },
        Binds: [],
        NetworkMode: 'bridge',
      },
    });
    expect(c).not.toHaveProperty('Cmd');
    expect(c).not.toHaveProperty('Entrypoint');
    expect(c).not.toHaveProperty('Healthcheck');
  });

  it.each([
    [{ A: '1' }, ['A=1']],
    [{ A: '1', B: 'two words', EMPTY: '' }, ['A=1', 'B=two words', 'EMPTY=']],
    [{ URL: 'postgres://u:p@h/db?x=1' }, ['URL=postgres://u:p@h/db?x=1']],
  ])('environment %j → Env %j', (environment, env) => {
    expect(config({ environment }).Env).toEqual(env);
  });

  it.each([
    ['no', ''],
    ['always', 'always'],
    ['on-failure', 'on-failure'],
    ['unless-stopped', 'unless-stopped'],
  ] as const)('restart %s → RestartPolicy.Name %j', (restart, name) => {
    expect(config({ restart }).HostConfig?.RestartPolicy).toEqual({ Name: name });
  });

  it.each([
    [{ nanoCpus: null, memoryBytes: null }, {}],
    [{ nanoCpus: 500_000_000, memoryBytes: null }, { NanoCpus: 500_000_000 }],
    [{ nanoCpus: null, memoryBytes: 268_435_456 }, { Memory: 268_435_456 }],
    [
      { nanoCpus: 2_000_000_000, memoryBytes: 1_073_741_824 },
      { NanoCpus: 2_000_000_000, Memory: 1_073_741_824 },
    ],
  ])('resources %j → HostConfig %j', (resources, limits) => {
    const host = config({ resources }).HostConfig!;
    expect({ NanoCpus: host.NanoCpus, Memory: host.Memory }).toEqual({
      NanoCpus: undefined,
      Memory: undefined,
      ...limits,
    });
  });

  it.each([
    [
      'a full check, durations in ns',
      {
        test: ['CMD', 'wget', '-q', 'http://127.0.0.1:8000/'],
        intervalMs: 1000,
        timeoutMs: 2500,
        retries: 3,
        startPeriodMs: 500,
      },
      {
        Test: ['CMD', 'wget', '-q', 'http://127.0.0.1:8000/'],
        Interval: 1_000_000_000,
        Timeout: 2_500_000_000,
        Retries: 3,
        StartPeriod: 500_000_000,
      },
    ],
    [
      'only timings (the image keeps its test)',
      { test: null, intervalMs: 5000, timeoutMs: null, retries: 0, startPeriodMs: null },
      { Interval: 5_000_000_000, Retries: 0 },
    ],
    [
      'disabled',
      { test: ['NONE'], intervalMs: null, timeoutMs: null, retries: null, startPeriodMs: null },
      { Test: ['NONE'] },
    ],
    [
      'a shell check',
      {
        test: ['CMD-SHELL', 'curl -f localhost || exit 1'],
        intervalMs: null,
        timeoutMs: null,
        retries: null,
        startPeriodMs: null,
      },
      { Test: ['CMD-SHELL', 'curl -f localhost || exit 1'] },
    ],
  ] as const)('healthcheck: %s', (_what, healthcheck, expected) => {
    expect(
      config({ healthcheck: { ...healthcheck, test: healthcheck.test ? [...healthcheck.test] : null } })
        .Healthcheck,
    ).toEqual(expected);
  });

  it.each([
    [[{ in: 8000, protocol: 'tcp', out: null }], { '8000/tcp': [{ HostIp: '', HostPort: '' }] }],
    [[{ in: 8000, protocol: 'tcp', out: 8080 }], { '8000/tcp': [{ HostIp: '', HostPort: '8080' }] }],
    [[{ in: 53, protocol: 'udp', out: 5353 }], { '53/udp': [{ HostIp: '', HostPort: '5353' }] }],
    [
      [
        { in: 8000, protocol: 'tcp', out: 8080 },
        { in: 8000, protocol: 'tcp', out: 9090 },
        { in: 9000, protocol: 'udp', out: null },
      ],
      {
        '8000/tcp': [
          { HostIp: '', HostPort: '8080' },
          { HostIp: '', HostPort: '9090' },
        ],
        '9000/udp': [{ HostIp: '', HostPort: '' }],
      },
    ],
  ] as const)('ports %j → PortBindings %j, each exposed', (ports, bindings) => {
    const c = config({ ports: ports.map((p) => ({ ...p })) });
    expect(c.HostConfig?.PortBindings).toEqual(bindings);
    expect(Object.keys(c.ExposedPorts ?? {}).sort()).toEqual(Object.keys(bindings).sort());
  });

  it('command and entrypoint are passed as argv lists, untouched', () => {
    const c = config({ command: ['sh', '-c', 'echo "$A" && sleep 1'], entrypoint: ['/bin/tini', '--'] });
    expect(c.Cmd).toEqual(['sh', '-c', 'echo "$A" && sleep 1']);
    expect(c.Entrypoint).toEqual(['/bin/tini', '--']);
    expect(config({ command: [] }).Cmd).toEqual([]);
  });

  it("labels: the spec's, then dokkup's (which win on a clash)", () => {
    const c = config(
      { labels: { team: 'web', 'dokkup.job.name': 'spoofed' } },
      { 'dokkup.job.name': 'demo', 'dokkup.job.version': 'abc1234' },
    );
    expect(c.Labels).toEqual({ team: 'web', 'dokkup.job.name': 'demo', 'dokkup.job.version': 'abc1234' });
  });

  it('networks: the first is the network mode (the others are connected after create); volumes are binds', () => {
    const c = config({ networks: ['front', 'back'], volumes: ['data:/data', '/srv/conf:/etc/app:ro'] });
    expect(c.HostConfig?.NetworkMode).toBe('front');
    expect(c.HostConfig?.Binds).toEqual(['data:/data', '/srv/conf:/etc/app:ro']);
    expect(config({ networks: ['host'] }).HostConfig?.NetworkMode).toBe('host');
  });

  it('stop fields: StopSignal, StopTimeout (whole seconds) and HostConfig.Init only when the job sets them', () => {
    const c = config({ stopSignal: 'SIGQUIT', stopGracePeriodMs: 30_000, init: true });
    expect(c.StopSignal).toBe('SIGQUIT');
    expect(c.StopTimeout).toBe(30);
    expect(c.HostConfig?.Init).toBe(true);
    expect(config({ init: false }).HostConfig?.Init).toBe(false);
    expect(config({ stopGracePeriodMs: 0 }).StopTimeout).toBe(0);
    const plain = config({});
    expect(plain).not.toHaveProperty('StopSignal');
    expect(plain).not.toHaveProperty('StopTimeout');
    expect(plain.HostConfig).not.toHaveProperty('Init');
  });
});

describe('describePullFailure', () => {
  const ref = '127.0.0.1:5001/private/web:v1';
  const auth = { server: '127.0.0.1:5001', username: 'ci', password: 'Sekr1t-pass' };
  it('names the registry and "unauthorized", and whether credentials were sent', () => {
    expect(
      describePullFailure(
        ref,
        'Head "http://127.0.0.1:5001/v2/private/web/manifests/v1": no basic auth credentials',
        undefined,
      ),
    ).toBe(
      `pulling ${ref}: registry 127.0.0.1:5001 needs credentials: unauthorized; none were sent (docker login 127.0.0.1:5001 on your machine, or add it to registries: in the inventory) (Head "http://127.0.0.1:5001/v2/private/web/manifests/v1": no basic auth credentials)`,
    );
    expect(describePullFailure(ref, 'unauthorized: authentication required', auth)).toBe(
      `pulling ${ref}: registry 127.0.0.1:5001 refused the credentials sent for it: unauthorized (unauthorized: authentication required)`,
    );
    expect(describePullFailure(ref, 'manifest unknown', auth)).toBe(`pulling ${ref}: manifest unknown`);
  });
  it('cuts any trace of the secret out of Docker’s message', () => {
    const echoed = `unauthorized: bad password Sekr1t-pass (${Buffer.from('Sekr1t-pass').toString('base64')})`;
    const message = describePullFailure(ref, echoed, auth);
    expect(message).not.toContain('Sekr1t-pass');
    expect(message).not.toContain(Buffer.from('Sekr1t-pass').toString('base64'));
    expect(message).toContain('[redacted]');
  });
});

describe('describePullFailure: dockerode’s prefix', () => {
  it('is dropped, Docker’s own message kept', () => {
    expect(
      describePullFailure(
        'r.example.com/a:1',
        '(HTTP code 500) server error - unauthorized: authentication required',
        { server: 'r.example.com', username: 'u', password: 'pw-123' },
      ),
    ).toBe(
      'pulling r.example.com/a:1: registry r.example.com refused the credentials sent for it: unauthorized (unauthorized: authentication required)',
    );
  });
});
