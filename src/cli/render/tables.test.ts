import { describe, expect, it } from 'vitest';
import type { ContainerInfo, Plan } from '../../protocol/api.js';
import type { JobSpec } from '../../protocol/job.js';
import { makeStyle } from '../io.js';
import { renderTable } from './table.js';
import {
  containersCell,
  jobSummaryOf,
  portsCell,
  renderDeploymentSummary,
  renderHistory,
  renderNodeStatuses,
  renderOutcomes,
  renderShowJob,
  renderShowNodes,
  renderStopSummary,
  tally,
  timeCell,
  versionCell,
} from './tables.js';

const text = (lines: string[]) => lines.join('\n');

const demoSpec: JobSpec = {
  name: 'demo',
  count: 2,
  target: { kind: 'group', group: 'labs' },
  update: { healthyDeadlineMs: 60_000, minHealthyMs: 1_000 },
  container: [
    {
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
  ],
};

function plan(partial: Partial<Plan>): Plan {
  return {
    job: 'demo',
    operation: 'deploy',
    action: 'noop',
    changes: false,
    fresh: false,
    versionFrom: '55dab35',
    versionTo: '55dab35',
    running: 2,
    total: 2,
    desired: 2,
    strategy: null,
    canRollback: false,
    rollbackTo: null,
    diff: null,
    warnings: [],
    ...partial,
  };
}

describe('renderTable', () => {
  it('pads every column but the last to its widest cell plus five spaces, without trailing spaces', () => {
    expect(
      renderTable(
        ['A', 'LONGER'],
        [
          ['xyz', 'v'],
          ['', ''],
        ],
      ),
    ).toEqual(['A       LONGER', 'xyz     v', '']);
  });

  it('measures width without colour codes', () => {
    const style = makeStyle(true);
    const lines = renderTable(['NAME', 'STATUS'], [['lab1', 'ONLINE']], (column, cell) =>
      column === 0 ? style.green(cell) : cell,
    );
    expect(lines[1]).toBe(`${style.green('lab1')}     ONLINE`);
  });
});

describe('the README tables', () => {
  it('Deployment summary', () => {
    expect(text(renderDeploymentSummary(jobSummaryOf(demoSpec)))).toBe(
      `Deployment summary:

NAME     IMAGE                    RESTART     COUNT     GROUP     NETWORK
demo     crccheck/hello-world     always      2         labs      bridge`,
    );
  });

  it('fresh deploy: lab1* and 0 -> 2', () => {
    const fresh = plan({
      action: 'fresh',
      changes: true,
      fresh: true,
      versionFrom: null,
      running: 0,
      total: 0,
    });
    const rows = [
      { name: 'lab1', label: 'ONLINE' as const, plan: fresh },
      { name: 'lab2', label: 'ONLINE' as const, plan: fresh },
    ];
    expect(text(renderNodeStatuses('run', rows))).toBe(
      `Node statuses:

NAME      STATUS     CONTAINERS     UPDATE     VERSION
lab1*     ONLINE     0 -> 2         true       55dab35
lab2*     ONLINE     0 -> 2         true       55dab35`,
    );
  });

  it('no-op: 2/2, false', () => {
    const rows = [
      { name: 'lab1', label: 'ONLINE' as const, plan: plan({}) },
      { name: 'lab2', label: 'ONLINE' as const, plan: plan({}) },
    ];
    expect(text(renderNodeStatuses('run', rows))).toBe(
      `Node statuses:

NAME     STATUS     CONTAINERS     UPDATE     VERSION
lab1     ONLINE     2/2            false      55dab35
lab2     ONLINE     2/2            false      55dab35`,
    );
  });

  it('update: VERSION a -> b; scale: 2 -> 5 with one version', () => {
    const update = plan({ action: 'update', changes: true, versionTo: '9470cdc', strategy: 'start-first' });
    const scale = plan({ action: 'scale', changes: true, desired: 5 });
    expect(
      text(
        renderNodeStatuses('run', [
          { name: 'lab1', label: 'ONLINE', plan: update },
          { name: 'lab2', label: 'ONLINE', plan: scale },
        ]),
      ),
    ).toBe(
      `Node statuses:

NAME     STATUS     CONTAINERS     UPDATE     VERSION
lab1     ONLINE     2/2            true       55dab35 -> 9470cdc
lab2     ONLINE     2 -> 5         true       55dab35`,
    );
  });

  it('rollback: ROLLBACK column', () => {
    const back = plan({
      operation: 'rollback',
      action: 'rollback',
      changes: true,
      versionFrom: '9470cdc',
      versionTo: '55dab35',
    });
    expect(text(renderNodeStatuses('rollback', [{ name: 'lab1', label: 'ONLINE', plan: back }]))).toBe(
      `Node statuses:

NAME     STATUS     CONTAINERS     ROLLBACK     VERSION
lab1     ONLINE     2/2            true         9470cdc -> 55dab35`,
    );
  });

  it('stop (and purge): Stop job summary, 2 -> 0, PURGE', () => {
    const stop = plan({ operation: 'stop', action: 'stop', changes: true, desired: 0 });
    expect(text(renderStopSummary(jobSummaryOf(demoSpec)))).toBe(
      `Stop job summary:

NAME     IMAGE                    GROUP
demo     crccheck/hello-world     labs`,
    );
    expect(
      text(
        renderNodeStatuses(
          'stop',
          [
            { name: 'lab1', label: 'ONLINE', plan: stop },
            { name: 'lab2', label: 'ONLINE', plan: stop },
          ],
          { purge: true },
        ),
      ),
    ).toBe(
      `Node statuses:

NAME     STATUS     CONTAINERS     PURGE
lab1     ONLINE     2 -> 0         true
lab2     ONLINE     2 -> 0         true`,
    );
  });

  it('nodes that could not be planned show their status and dashes', () => {
    const rows = [
      { name: 'lab1', label: 'ONLINE' as const, plan: plan({}) },
      { name: 'lab2', label: 'OFFLINE' as const },
      { name: 'lab3', label: 'UNAUTHORIZED' as const },
    ];
    expect(text(renderNodeStatuses('run', rows))).toBe(
      `Node statuses:

NAME     STATUS           CONTAINERS     UPDATE     VERSION
lab1     ONLINE           2/2            false      55dab35
lab2     OFFLINE          -              -          -
lab3     UNAUTHORIZED     -              -          -`,
    );
  });

  it('show job: a NODE table and a CONTAINER table per node, blocks apart by two blank lines', () => {
    const container = (id: string, name: string, port: number): ContainerInfo => ({
      id,
      name,
      job: 'demo',
      version: '9470cdc',
      image: 'crccheck/hello-world',
      imageId: 'sha256:abc',
      state: 'running',
      status: 'Up 8 minutes (healthy)',
      health: 'healthy',
      ports: [
        { privatePort: 8000, publicPort: port, protocol: 'tcp', ip: '0.0.0.0' },
        { privatePort: 8000, publicPort: port, protocol: 'tcp', ip: '::' },
      ],
      createdAt: 0,
    });
    const status = (containers: ContainerInfo[]) => ({
      name: 'demo',
      version: '9470cdc',
      image: 'crccheck/hello-world',
      desired: 2,
      running: 2,
      total: 2,
      containers,
    });
    const lines = renderShowJob([
      {
        name: 'lab1',
        location: '192.168.0.99:8080',
        label: 'ONLINE',
        job: 'demo',
        status: status([
          container('99294b42a89d0000', 'demo-bbf84ca7-0a2b-4c65-9f39-f77fb8ce3624', 32773),
          container('28de75e833c00000', 'demo-a9e8525a-103a-4749-b441-df676976b62d', 32772),
        ]),
      },
      { name: 'lab2', location: '192.168.0.100:8080', label: 'OFFLINE', job: 'demo' },
    ]);
    expect(text(lines)).toBe(
      `NODE     LOCATION              STATUS     JOB      IMAGE                    CONTAINERS     VERSION
lab1     192.168.0.99:8080     ONLINE     demo     crccheck/hello-world     2/2            9470cdc

CONTAINER ID     NAME                                          STATUS                     PORTS
99294b42a89d     demo-bbf84ca7-0a2b-4c65-9f39-f77fb8ce3624     Up 8 minutes (healthy)     0.0.0.0:32773->8000/tcp
28de75e833c0     demo-a9e8525a-103a-4749-b441-df676976b62d     Up 8 minutes (healthy)     0.0.0.0:32772->8000/tcp


NODE     LOCATION               STATUS      JOB      IMAGE     CONTAINERS     VERSION
lab2     192.168.0.100:8080     OFFLINE     demo     -         -              -`,
    );
  });

  it('show nodes', () => {
    const info = {
      agentVersion: '0.3.0',
      dockerVersion: '28.2.2',
      dockerApiVersion: '1.50',
      hostname: 'lab1',
      os: 'linux',
      arch: 'x64',
      jobs: 1,
      containers: { running: 2, total: 3 },
    };
    expect(
      text(
        renderShowNodes([
          { name: 'lab1', location: '192.168.0.99:8080', label: 'ONLINE', info, latencyMs: 3.25 },
          { name: 'lab2', location: '192.168.0.100:8080', label: 'UNAUTHORIZED' },
        ]),
      ),
    ).toBe(
      `NAME     LOCATION               STATUS           AGENT     DOCKER     JOBS     CONTAINERS     LATENCY
lab1     192.168.0.99:8080      ONLINE           0.3.0     28.2.2     1        2/3            3.3ms
lab2     192.168.0.100:8080     UNAUTHORIZED     -         -          -        -              -`,
    );
  });

  it('history: newest first, CURRENT marks the running version', () => {
    const history = {
      job: 'demo',
      current: '9470cdc',
      entries: [
        {
          version: '55dab35',
          image: 'web:1',
          count: 2,
          deployedAt: '2025-03-01T10:00:00.000Z',
          current: false,
        },
        {
          version: '9470cdc',
          image: 'web:2',
          count: 2,
          deployedAt: '2025-03-02T11:30:15.123Z',
          current: true,
        },
      ],
    };
    expect(
      text(
        renderHistory([
          { name: 'lab1', label: 'ONLINE', history },
          { name: 'lab2', label: 'OFFLINE' },
        ]),
      ),
    ).toBe(
      `NODE     STATUS      VERSION     IMAGE     COUNT     DEPLOYED                 CURRENT
lab1     ONLINE      9470cdc     web:2     2         2025-03-02T11:30:15Z     true
lab1     ONLINE      55dab35     web:1     2         2025-03-01T10:00:00Z     false
lab2     OFFLINE     -           -         -         -                        -`,
    );
  });

  it('outcome summary and tally', () => {
    const outcomes = [
      { name: 'lab1', outcome: 'succeeded' as const, message: 'Deployment successful' },
      { name: 'lab2', outcome: 'offline' as const, message: 'connection refused (10.0.0.2:8080)' },
      { name: 'lab3', outcome: 'failed' as const, message: 'pulling web:9: manifest unknown' },
    ];
    expect(text(renderOutcomes(outcomes))).toBe(
      `Summary:

NAME     RESULT      MESSAGE
lab1     OK          Deployment successful
lab2     OFFLINE     connection refused (10.0.0.2:8080)
lab3     FAILED      pulling web:9: manifest unknown

3 nodes: 1 succeeded, 1 failed, 1 offline`,
    );
    expect(tally([])).toBe('0 nodes');
  });

  it('outcome summary with the operation times: cutover and total, `-` where none', () => {
    const outcomes = [
      {
        name: 'lab1',
        outcome: 'succeeded' as const,
        message: 'Update successful',
        cutoverMs: 4012,
        totalMs: 15_580,
      },
      { name: 'lab2', outcome: 'succeeded' as const, message: 'Job stopped successfully', totalMs: 420 },
      { name: 'lab3', outcome: 'unchanged' as const, message: 'Already up to date' },
    ];
    expect(text(renderOutcomes(outcomes))).toBe(
      `Summary:

NAME     RESULT     CUTOVER     TOTAL     MESSAGE
lab1     OK         4.0s        15.6s     Update successful
lab2     OK         -           420ms     Job stopped successfully
lab3     OK         -           -         Already up to date

3 nodes: 2 succeeded, 1 unchanged`,
    );
  });
});

describe('cells', () => {
  it('containers: a -> b only when the running count changes', () => {
    expect(containersCell({ running: 0, total: 0, desired: 2 })).toBe('0 -> 2');
    expect(containersCell({ running: 2, total: 2, desired: 5 })).toBe('2 -> 5');
    expect(containersCell({ running: 2, total: 3, desired: 2 })).toBe('2/3');
  });

  it('version: a -> b only when it changes', () => {
    expect(versionCell('55dab35', '9470cdc')).toBe('55dab35 -> 9470cdc');
    expect(versionCell('55dab35', '55dab35')).toBe('55dab35');
    expect(versionCell(null, '55dab35')).toBe('55dab35');
    expect(versionCell('55dab35', null)).toBe('55dab35');
    expect(versionCell(null, null)).toBe('-');
  });

  it('ports: unpublished, published, IPv6 twins dropped, IPv6-only kept', () => {
    expect(portsCell([{ privatePort: 53, publicPort: null, protocol: 'udp', ip: null }])).toBe('53/udp');
    expect(
      portsCell([
        { privatePort: 80, publicPort: 8080, protocol: 'tcp', ip: '::' },
        { privatePort: 80, publicPort: 8080, protocol: 'tcp', ip: '0.0.0.0' },
        { privatePort: 81, publicPort: 8081, protocol: 'tcp', ip: '::' },
      ]),
    ).toBe('0.0.0.0:8080->80/tcp, [::]:8081->81/tcp');
  });

  it('time: to the second, unparseable text kept', () => {
    expect(timeCell('2025-03-02T11:30:15.999Z')).toBe('2025-03-02T11:30:15Z');
    expect(timeCell('yesterday')).toBe('yesterday');
  });

  it('a job targeting nodes shows them in GROUP; all networks are listed', () => {
    const spec: JobSpec = {
      ...demoSpec,
      target: { kind: 'nodes', nodes: ['lab1', 'lab2'] },
      container: [{ ...demoSpec.container[0]!, networks: ['front', 'back'] }],
    };
    expect(jobSummaryOf(spec)).toMatchObject({ group: 'lab1,lab2', network: 'front,back' });
  });
});
