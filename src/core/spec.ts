/**
 * Normalisation: a job file that passed `JobFileSchema` becomes the one canonical `JobSpec`
 * that is hashed, sent to agents and kept in their history. Every spelling a user may choose
 * (list or map labels, `"53/udp"` or a number, a string or a list command, durations with
 * units) collapses to one form here, so the version hash depends only on meaning.
 *
 * Pure: no file names or line numbers. Each problem is a `SpecFieldError` carrying the field
 * path (`['container', 0, 'environment', 2]`); `src/config` turns that path into `line:col`.
 */

import {
  type ContainerFile,
  type ContainerSpec,
  entryNameIssues,
  type HealthcheckSpec,
  type JobFile,
  type JobSpec,
  type PortSpec,
  type ProxySpec,
  type Target,
} from '../protocol/job.js';
import {
  controlCharacterProblem,
  environmentKeyProblem,
  imageReferenceProblem,
  labelKeyProblem,
  networkProblem,
  nulProblem,
  volumeProblem,
} from '../protocol/spec-rules.js';
import { parseDurationMs } from './duration.js';
import { InputError, InputErrors } from './errors.js';
import { type FieldPath, formatFieldPath, Problems } from './field-problems.js';
import { normalizeProxy } from './proxy.js';
import { splitShellWords } from './shell-words.js';
import { parseStopGracePeriodMs, parseStopSignal } from './stop.js';
import { normalizeUpdate } from './update-policy.js';

export { type FieldPath, formatFieldPath, SpecFieldError } from './field-problems.js';
export {
  DEFAULT_HEALTHY_DEADLINE_MS,
  DEFAULT_MIN_HEALTHY_MS,
  parseShare,
} from './update-policy.js';

export const DEFAULT_NETWORK = 'bridge';
/** Docker refuses memory limits below 6 MiB. */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

type KeyValueFile = ContainerFile['labels'];

/**
 * The canonical spec for a schema-valid job file; throws `InputErrors` (of `SpecFieldError`)
 * listing every problem the schema alone cannot see.
 */
export function normalizeJob(file: JobFile): JobSpec {
  const problems = new Problems();
  const count = file.count ?? 1;
  const target = normalizeTarget(file, problems);
  const update = normalizeUpdate(file, problems);
  // The checks below are also run on data that failed the schema (to report every problem at
  // once, see src/config), so they test shapes instead of trusting the types.
  const files = Array.isArray(file.container) ? file.container : [];
  if (files.length === 0) {
    problems.add(['container'], 'must hold at least one container');
    throw new InputErrors(problems.errors);
  }
  // An entry that is not an object was reported by the schema; the others are still checked.
  const container = files.flatMap((c, i) =>
    c && typeof c === 'object' ? [normalizeContainer(c, count, ['container', i], problems)] : [],
  );
  const names = files.map((c) => (typeof c?.name === 'string' ? c.name : undefined));
  for (const { index, message } of entryNameIssues(names))
    problems.add(['container', index, 'name'], message);
  checkHostPortsAcrossEntries(container, files, problems);
  let proxy: ProxySpec | null = null;
  if (file.proxy && typeof file.proxy === 'object' && container.length === files.length) {
    const normalized = normalizeProxy(file.proxy, container);
    for (const issue of normalized.issues) problems.add(['proxy', ...issue.path], issue.message);
    proxy = normalized.proxy;
  }
  if (problems.errors.length > 0) throw new InputErrors(problems.errors);
  // `proxy` only when the file has one: a job without it keeps its version (see version.ts).
  return { name: file.name, count, target, container, update, ...(proxy ? { proxy } : {}) };
}

/** Two entries of a replica run on the same node: they cannot bind the same host port. */
function checkHostPortsAcrossEntries(
  entries: ContainerSpec[],
  files: ContainerFile[],
  problems: Problems,
): void {
  if (entries.length !== files.length) return;
  const bound = new Map<string, number>();
  entries.forEach((entry, i) => {
    const filePorts = Array.isArray(files[i]?.ports) ? files[i]!.ports! : [];
    for (const port of entry.ports) {
      if (port.out === null) continue;
      const key = `${port.out}/${port.protocol}`;
      const first = bound.get(key);
      // Twice in one entry is reported by that entry's own check.
      if (first === undefined || first === i) {
        bound.set(key, i);
        continue;
      }
      const at = filePorts.findIndex((p) => p?.out === port.out);
      problems.add(
        ['container', i, 'ports', Math.max(at, 0), 'out'],
        `host port ${key} is already bound by container[${first}] (the containers of a replica share the node)`,
      );
    }
  });
}

function normalizeTarget(file: JobFile, problems: Problems): Target {
  const given = (['group', 'node', 'nodes'] as const).filter((k) => file[k] !== undefined);
  if (given.length === 0) {
    problems.add(['group'], 'is required: say where the job runs with group, node or nodes');
    return { kind: 'nodes', nodes: ['?'] };
  }
  if (given.length > 1) {
    problems.add(
      [given[1]!],
      `cannot be used together with ${given[0]}: use exactly one of group, node, nodes`,
    );
  }
  const control = (path: FieldPath, name: unknown) => {
    const problem = typeof name === 'string' ? controlCharacterProblem(name) : null;
    if (problem) problems.add(path, problem);
  };
  if (file.group !== undefined && given[0] === 'group') {
    control(['group'], file.group);
    return { kind: 'group', group: file.group };
  }
  if (file.node !== undefined && given[0] === 'node') {
    control(['node'], file.node);
    return { kind: 'nodes', nodes: [file.node] };
  }
  const nodes = Array.isArray(file.nodes) ? file.nodes : [];
  const seen = new Map<string, number>();
  nodes.forEach((n, i) => {
    control(['nodes', i], n);
    const first = seen.get(n);
    if (first !== undefined) problems.add(['nodes', i], `node "${n}" is already listed at nodes[${first}]`);
    else seen.set(n, i);
  });
  return { kind: 'nodes', nodes: [...seen.keys()] };
}

function normalizeContainer(
  c: ContainerFile,
  count: number,
  at: FieldPath,
  problems: Problems,
): ContainerSpec {
  return {
    ...(typeof c.name === 'string' ? { name: c.name } : {}),
    image: normalizeImage(c.image, [...at, 'image'], problems),
    command: normalizeArgv(c.command, [...at, 'command'], problems),
    entrypoint: normalizeArgv(c.entrypoint, [...at, 'entrypoint'], problems),
    ports: normalizePorts(c.ports ?? [], count, [...at, 'ports'], problems),
    restart: c.restart ?? 'always',
    labels: normalizeKeyValues(c.labels, 'label', [...at, 'labels'], problems),
    environment: normalizeKeyValues(c.environment, 'variable', [...at, 'environment'], problems),
    volumes: normalizeVolumes(c.volumes ?? [], [...at, 'volumes'], problems),
    networks: normalizeNetworks(c.networks, [...at, 'networks'], problems),
    healthcheck: normalizeHealthcheck(c.healthcheck, [...at, 'healthcheck'], problems),
    resources: normalizeResources(c.resources, [...at, 'resources'], problems),
    pull: c.pull ?? 'missing',
    ...normalizeStop(c, at, problems),
  };
}

/** The stop fields, each present only when the file sets it (see ContainerSpecSchema). */
function normalizeStop(
  c: ContainerFile,
  at: FieldPath,
  problems: Problems,
): Pick<ContainerSpec, 'stopGracePeriodMs' | 'stopSignal' | 'init'> {
  const out: Pick<ContainerSpec, 'stopGracePeriodMs' | 'stopSignal' | 'init'> = {};
  const grace = c.stop_grace_period;
  if (typeof grace === 'string' || typeof grace === 'number') {
    const ms = problems.attempt([...at, 'stop_grace_period'], null, () => parseStopGracePeriodMs(grace));
    if (ms !== null) out.stopGracePeriodMs = ms;
  }
  const signal = c.stop_signal;
  if (typeof signal === 'string' || typeof signal === 'number') {
    const name = problems.attempt([...at, 'stop_signal'], null, () => parseStopSignal(signal));
    if (name !== null) out.stopSignal = name;
  }
  if (typeof c.init === 'boolean') out.init = c.init;
  return out;
}

function normalizeImage(image: string, at: FieldPath, problems: Problems): string {
  if (typeof image !== 'string') return image;
  const problem = imageReferenceProblem(image);
  if (problem) problems.add(at, problem);
  return image;
}

/** Words a container receives as they are: anything but NUL. */
function checkFreeText(words: readonly unknown[], at: FieldPath, problems: Problems): void {
  words.forEach((word, i) => {
    const problem = typeof word === 'string' ? nulProblem(word) : null;
    if (problem) problems.add([...at, i], problem);
  });
}

function normalizeArgv(
  value: string | string[] | undefined,
  at: FieldPath,
  problems: Problems,
): string[] | null {
  if (Array.isArray(value)) {
    checkFreeText(value, at, problems);
    return [...value];
  }
  if (typeof value !== 'string') return null;
  const nul = nulProblem(value);
  if (nul) {
    problems.add(at, nul);
    return [];
  }
  const words = problems.attempt<string[] | null>(at, null, () => splitShellWords(value));
  if (words === null) return [];
  if (words.length === 0) problems.add(at, 'must not be empty');
  return words;
}

function normalizePorts(
  ports: NonNullable<ContainerFile['ports']>,
  count: number,
  at: FieldPath,
  problems: Problems,
): PortSpec[] {
  const out: PortSpec[] = [];
  const containerPorts = new Map<string, number>();
  const hostPorts = new Map<string, number>();
  if (!Array.isArray(ports)) return [];
  ports.forEach((p, i) => {
    let inPort: number;
    let protocol: 'tcp' | 'udp' = 'tcp';
    if (typeof p?.in === 'number') {
      inPort = p.in;
    } else if (typeof p?.in !== 'string') {
      return;
    } else {
      const [num, proto] = p.in.split('/');
      inPort = Number(num);
      if (proto === 'udp') protocol = 'udp';
    }
    if (!Number.isInteger(inPort) || inPort < 1 || inPort > 65535) {
      problems.add([...at, i, 'in'], `must be a port between 1 and 65535, got ${JSON.stringify(p.in)}`);
      return;
    }
    const inKey = `${inPort}/${protocol}`;
    const firstIn = containerPorts.get(inKey);
    if (firstIn !== undefined) {
      problems.add([...at, i, 'in'], `container port ${inKey} is already published by ports[${firstIn}]`);
    } else containerPorts.set(inKey, i);
    const outPort = p.out ?? null;
    if (outPort !== null) {
      const outKey = `${outPort}/${protocol}`;
      const firstOut = hostPorts.get(outKey);
      if (firstOut !== undefined) {
        problems.add([...at, i, 'out'], `host port ${outKey} is already used by ports[${firstOut}]`);
      } else hostPorts.set(outKey, i);
      if (count > 1) {
        problems.add(
          [...at, i, 'out'],
          `a fixed host port can be bound by only one container per node, but count is ${count} ` +
            '(remove "out" to get a random host port, or set count: 1)',
        );
      }
    }
    out.push({ in: inPort, protocol, out: outPort });
  });
  return out.sort(
    (a, b) => a.in - b.in || a.protocol.localeCompare(b.protocol) || (a.out ?? 0) - (b.out ?? 0),
  );
}

/**
 * `labels` / `environment`: a list of `KEY=value` (split at the first `=`, so values keep
 * theirs) or a map. Returned with sorted keys so both spellings hash the same.
 */
function normalizeKeyValues(
  value: KeyValueFile,
  what: 'label' | 'variable',
  at: FieldPath,
  problems: Problems,
): Record<string, string> {
  const entries: [key: string, value: string, path: FieldPath][] = [];
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      if (typeof item !== 'string') return;
      const eq = item.indexOf('=');
      if (eq < 0) {
        const hint =
          what === 'variable'
            ? ` (dokkup does not pass variables through from your machine; write ${item}=value)`
            : ` (write ${item}=value, or ${item}= for an empty value)`;
        problems.add([...at, i], `${JSON.stringify(item)} has no "=": expected KEY=value${hint}`);
        return;
      }
      entries.push([item.slice(0, eq), item.slice(eq + 1), [...at, i]]);
    });
  } else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (v === null) {
        problems.add([...at, key], `has no value (write ${key}: "" for an empty value)`);
        continue;
      }
      if (key.includes('=')) {
        problems.add(
          [...at, key],
          `key must not contain "=" in the map form (write ${key.split('=')[0]}: value)`,
        );
        continue;
      }
      entries.push([key, String(v), [...at, key]]);
    }
  }
  const result = new Map<string, string>();
  const firstAt = new Map<string, FieldPath>();
  for (const [key, v, path] of entries) {
    const keyProblem = what === 'label' ? labelKeyProblem(key) : environmentKeyProblem(key);
    if (keyProblem) {
      problems.add(path, keyProblem);
      continue;
    }
    const valueProblem = nulProblem(v);
    if (valueProblem) {
      problems.add(path, `value ${valueProblem}`);
      continue;
    }
    const first = firstAt.get(key);
    if (first) {
      problems.add(path, `duplicate ${what} "${key}" (first set at ${formatFieldPath(first)})`);
      continue;
    }
    firstAt.set(key, path);
    result.set(key, v);
  }
  return Object.fromEntries([...result.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function normalizeVolumes(volumes: string[], at: FieldPath, problems: Problems): string[] {
  const seen = new Map<string, number>();
  if (!Array.isArray(volumes)) return [];
  volumes.forEach((v, i) => {
    if (typeof v !== 'string') return;
    const problem = volumeProblem(v);
    if (problem) problems.add([...at, i], problem);
    const first = seen.get(v);
    if (first !== undefined) problems.add([...at, i], `is already listed at volumes[${first}]`);
    else seen.set(v, i);
  });
  // Mount order does not change the container, so it must not change the version either.
  return [...seen.keys()].sort();
}

function normalizeNetworks(networks: string[] | undefined, at: FieldPath, problems: Problems): string[] {
  if (!Array.isArray(networks)) return [DEFAULT_NETWORK];
  const seen = new Map<string, number>();
  networks.forEach((n, i) => {
    const problem = typeof n === 'string' ? networkProblem(n) : null;
    if (problem) problems.add([...at, i], problem);
    const first = seen.get(n);
    if (first !== undefined)
      problems.add([...at, i], `network "${n}" is already listed at networks[${first}]`);
    else seen.set(n, i);
  });
  // Order is kept: the first network is the one the container is created on.
  return [...seen.keys()];
}

const HEALTHCHECK_KINDS = ['CMD', 'CMD-SHELL', 'NONE'];

function normalizeHealthcheck(
  h: ContainerFile['healthcheck'],
  at: FieldPath,
  problems: Problems,
): HealthcheckSpec | null {
  if (!h || typeof h !== 'object') return null;
  const duration = (key: 'interval' | 'timeout' | 'start_period'): number | null => {
    const v = h[key];
    return v === undefined ? null : problems.attempt([...at, key], null, () => parseDurationMs(v));
  };
  if (h.disable === true) {
    if (h.test !== undefined && !(Array.isArray(h.test) && h.test[0] === 'NONE')) {
      problems.add(
        [...at, 'disable'],
        'cannot be used together with test (disable: true turns the check off)',
      );
    }
    return { test: ['NONE'], intervalMs: null, timeoutMs: null, retries: null, startPeriodMs: null };
  }
  let test: string[] | null = null;
  if (Array.isArray(h.test)) checkFreeText(h.test, [...at, 'test'], problems);
  else if (typeof h.test === 'string' && nulProblem(h.test))
    problems.add([...at, 'test'], nulProblem(h.test)!);
  if (typeof h.test === 'string') {
    test = ['CMD-SHELL', h.test];
  } else if (Array.isArray(h.test)) {
    const [kind, ...args] = h.test;
    if (!kind || !HEALTHCHECK_KINDS.includes(kind)) {
      problems.add(
        [...at, 'test', 0],
        `must be CMD, CMD-SHELL or NONE, got ${JSON.stringify(kind ?? '')} (or write test as one string for a shell command)`,
      );
    } else if (kind === 'NONE') {
      test = ['NONE'];
    } else if (kind === 'CMD' && args.length === 0) {
      problems.add(
        [...at, 'test'],
        'CMD needs the command to run after it, e.g. ["CMD", "curl", "-f", "http://localhost"]',
      );
    } else if (kind === 'CMD-SHELL' && args.length !== 1) {
      problems.add([...at, 'test'], 'CMD-SHELL takes exactly one string, the shell command');
    } else {
      test = [kind, ...args];
    }
  }
  const spec: HealthcheckSpec = {
    test,
    intervalMs: duration('interval'),
    timeoutMs: duration('timeout'),
    retries: h.retries ?? null,
    startPeriodMs: duration('start_period'),
  };
  // `healthcheck: {}` means the image's own check, exactly like no healthcheck at all.
  return Object.values(spec).every((v) => v === null) ? null : spec;
}

const MEMORY = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)$/i;
const MEMORY_UNIT: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `256m`, `1g`, `512MiB`, `1.5g` or a number of bytes. Units are binary, as in Docker. */
export function parseMemoryBytes(v: number | string): number {
  if (typeof v === 'number') return v;
  const m = MEMORY.exec(v.trim());
  if (!m) throw new InputError(`must be a size like 256m or 1g, got ${JSON.stringify(v)}`);
  return Math.round(Number(m[1]) * MEMORY_UNIT[m[2]!.toLowerCase()]!);
}

function normalizeResources(
  r: ContainerFile['resources'],
  at: FieldPath,
  problems: Problems,
): ContainerSpec['resources'] {
  let nanoCpus: number | null = null;
  let memoryBytes: number | null = null;
  if (r?.cpus !== undefined) {
    const cpus = Number(r.cpus);
    nanoCpus = Math.round(cpus * 1e9);
    if (!(nanoCpus > 0)) {
      problems.add([...at, 'cpus'], `must be more than 0, got ${JSON.stringify(r.cpus)}`);
      nanoCpus = null;
    }
  }
  if (typeof r?.memory === 'number' || typeof r?.memory === 'string') {
    const memory = r.memory;
    memoryBytes = problems.attempt([...at, 'memory'], null, () => parseMemoryBytes(memory));
    if (memoryBytes !== null && memoryBytes < MIN_MEMORY_BYTES) {
      problems.add(
        [...at, 'memory'],
        `must be at least 6m (Docker's minimum), got ${JSON.stringify(memory)}`,
      );
      memoryBytes = null;
    }
  }
  return { nanoCpus, memoryBytes };
}
