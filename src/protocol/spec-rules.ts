/**
 * The rules a job spec must keep beyond its shape: what the CLI's normaliser refuses in a job
 * file and what an agent refuses in a request, in one place so the two cannot drift (the agent
 * is the boundary; a client that skips the CLI gets the same answer). Pure string checks, each
 * returning the problem in words or null; `specRuleProblems` walks a whole spec with them.
 *
 * Identifiers (image, names, keys, volumes, networks, targets) may hold no control character at
 * all; free text the container gets (command words, environment and label values, health check
 * words) may hold tabs and line breaks but never NUL, which no process argument can carry.
 */

/** C0 controls, DEL and the C1 controls (U+0080–U+009F, which some terminals obey too). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const NUL = /\u0000/;

function describeControl(text: string, pattern: RegExp): string | null {
  const match = pattern.exec(text);
  if (!match) return null;
  const code = match[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
  return `must not contain control characters (found U+${code} at position ${match.index + 1})`;
}

/** For names, keys and references: no control character at all. */
export function controlCharacterProblem(text: string): string | null {
  return describeControl(text, CONTROL);
}

/** For free text a container receives: anything but NUL. */
export function nulProblem(text: string): string | null {
  return NUL.test(text) ? describeControl(text, NUL) : null;
}

// ---------------------------------------------------------------------------------------------
// Image references (Docker's reference grammar: distribution/reference)

const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(`^(${NAME})(?::${TAG})?(?:@${DIGEST})?$`);
/** Docker's limit on the name part; the whole reference is bounded so the check stays cheap. */
const MAX_IMAGE_NAME = 255;
const MAX_IMAGE_REFERENCE = 512;

/** `registry:5000/app:TAG@sha256:…` → `registry:5000/app`. */
export function repositoryOf(image: string): string {
  const name = image.split('@')[0]!;
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
}

export function imageReferenceProblem(image: string): string | null {
  if (image === '') return 'must not be empty';
  if (/\s/.test(image)) return 'image reference must not contain spaces';
  const control = controlCharacterProblem(image);
  if (control) return `image reference ${control}`;
  // Docker rejects upper case in repository names (tags may hold it), but only at pull time.
  if (/[A-Z]/.test(repositoryOf(image)))
    return `repository name must be lower case: ${JSON.stringify(image)}`;
  const match = image.length <= MAX_IMAGE_REFERENCE ? REFERENCE.exec(image) : null;
  if (!match) {
    return `${JSON.stringify(image.slice(0, 80))} is not an image reference (like nginx:1.27, registry:5000/team/app:v2 or app@sha256:…)`;
  }
  if (match[1]!.length > MAX_IMAGE_NAME) return `image name must be at most ${MAX_IMAGE_NAME} characters`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Labels and environment

/** Prefix of the labels dokkup itself puts on containers (see src/core/labels.ts); users can't set them. */
export const RESERVED_LABEL_PREFIX = 'dokkup.';

export function labelKeyProblem(key: string): string | null {
  if (key.trim() === '') return 'label name must not be empty';
  const control = controlCharacterProblem(key);
  if (control) return `label name ${control}`;
  if (key.startsWith(RESERVED_LABEL_PREFIX))
    return `labels starting with "${RESERVED_LABEL_PREFIX}" are reserved for dokkup itself`;
  return null;
}

export function environmentKeyProblem(key: string): string | null {
  if (key.trim() === '') return 'variable name must not be empty';
  const control = controlCharacterProblem(key);
  if (control) return `variable name ${control}`;
  if (key.includes('=')) return 'variable name must not contain "="';
  return null;
}

// ---------------------------------------------------------------------------------------------
// Volumes and networks

/** Docker's characters for volume names (Docker itself also wants at least two of them). */
export const VOLUME_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** What may follow `SOURCE:TARGET:` in a Docker bind (access, SELinux label, copy, propagation, consistency). */
export const VOLUME_OPTIONS: ReadonlySet<string> = new Set([
  'ro',
  'rw',
  'z',
  'Z',
  'nocopy',
  'private',
  'rprivate',
  'shared',
  'rshared',
  'slave',
  'rslave',
  'consistent',
  'cached',
  'delegated',
]);

/** `SOURCE:TARGET[:OPTIONS]` or `TARGET` split the way Docker splits it. */
export interface VolumeParts {
  /** Absent for an anonymous volume (`/data`). */
  source?: string;
  target: string;
  options: string[];
}

export function splitVolume(volume: string): VolumeParts | null {
  const parts = volume.split(':');
  if (parts.length > 3) return null;
  if (parts.length === 1) return { target: parts[0]!, options: [] };
  return {
    source: parts[0]!,
    target: parts[1]!,
    options: parts[2] === undefined ? [] : parts[2].split(','),
  };
}

export function volumeProblem(volume: string): string | null {
  const control = controlCharacterProblem(volume);
  if (control) return control;
  const parts = splitVolume(volume);
  if (!parts) return `expected SOURCE:TARGET[:OPTIONS], got ${JSON.stringify(volume)}`;
  if (!parts.target.startsWith('/'))
    return `the path inside the container must be absolute, got ${JSON.stringify(parts.target)}`;
  const { source } = parts;
  if (source !== undefined && !source.startsWith('/')) {
    if (/^(\.|~)/.test(source)) {
      return `host paths must be absolute (they are paths on the node, not on your machine), got ${JSON.stringify(source)}`;
    }
    if (!VOLUME_NAME_PATTERN.test(source)) {
      return `${JSON.stringify(source)} is neither an absolute host path nor a volume name (letters, digits, _ . -)`;
    }
  }
  const unknown = parts.options.find((option) => !VOLUME_OPTIONS.has(option));
  if (unknown !== undefined) {
    return `unknown volume option ${JSON.stringify(unknown)} (use ro, rw, z, Z, nocopy, a propagation mode like rslave, or cached/delegated/consistent)`;
  }
  return null;
}

/** A network to join by name, or `container:NAME` (the policy decides whether that is allowed). */
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const NETWORK_MODE = /^(container|service):[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function networkProblem(network: string): string | null {
  const control = controlCharacterProblem(network);
  if (control) return control;
  if (network.length > 128) return 'network name must be at most 128 characters';
  if (NETWORK_NAME.test(network) || NETWORK_MODE.test(network)) return null;
  return `${JSON.stringify(network)} is not a network name (letters, digits, _ . -, starting with a letter or digit)`;
}

// ---------------------------------------------------------------------------------------------
// A whole spec

export interface SpecRuleProblem {
  /** Into the spec, e.g. `['container', 'labels', 'dokkup.job']`. */
  path: (string | number)[];
  message: string;
}

/** Where free text lives in a normalised spec: the container receives it as it is. */
function isFreeText(path: readonly (string | number)[]): boolean {
  const [top, field] = path;
  if (top !== 'container') return false;
  return (
    field === 'command' ||
    field === 'entrypoint' ||
    // A value (not a key) of these maps:
    ((field === 'environment' || field === 'labels') && path.length === 3) ||
    (field === 'healthcheck' && path[2] === 'test')
  );
}

/** Every string in `value`, map keys included (reported with the key's own path). */
function walkStrings(
  value: unknown,
  path: (string | number)[],
  visit: (text: string, path: (string | number)[], isKey: boolean) => void,
): void {
  if (typeof value === 'string') visit(value, path, false);
  else if (Array.isArray(value)) {
    value.forEach((item, i) => {
      walkStrings(item, [...path, i], visit);
    });
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      visit(key, [...path, key], true);
      walkStrings(item, [...path, key], visit);
    }
  }
}

/** The field-specific rules, keyed by where they apply. */
function fieldProblem(path: readonly (string | number)[], text: string, isKey: boolean): string | null {
  const [top, field] = path;
  if (top !== 'container') return null;
  if (field === 'image' && path.length === 2) return imageReferenceProblem(text);
  if (field === 'labels' && path.length === 3 && isKey) return labelKeyProblem(text);
  if (field === 'environment' && path.length === 3 && isKey) return environmentKeyProblem(text);
  if (field === 'volumes' && path.length === 3) return volumeProblem(text);
  if (field === 'networks' && path.length === 3) return networkProblem(text);
  return null;
}

/**
 * Every rule problem of a normalised spec (or anything shaped like one: unknown parts are
 * walked too, so a new string field is covered by the control-character rule from day one).
 */
export function specRuleProblems(spec: unknown): SpecRuleProblem[] {
  const problems: SpecRuleProblem[] = [];
  walkStrings(spec, [], (text, path, isKey) => {
    const specific = fieldProblem(path, text, isKey);
    if (specific) {
      problems.push({ path, message: specific });
      return;
    }
    // A map key names something (a variable, a label): never free text.
    const general = isFreeText(path) && !isKey ? nulProblem(text) : controlCharacterProblem(text);
    if (general) problems.push({ path, message: general });
  });
  const update = (spec as { update?: { healthyDeadlineMs?: unknown; minHealthyMs?: unknown } })?.update;
  if (
    typeof update?.healthyDeadlineMs === 'number' &&
    typeof update.minHealthyMs === 'number' &&
    update.minHealthyMs >= update.healthyDeadlineMs
  ) {
    problems.push({
      path: ['update', 'minHealthyMs'],
      message: `must be shorter than healthyDeadlineMs (${update.healthyDeadlineMs}), or no container could ever pass`,
    });
  }
  return problems;
}
