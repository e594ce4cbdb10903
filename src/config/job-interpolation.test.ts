// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` is the job-file syntax under test
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputErrors } from '../core/errors.js';
import { specVersion } from '../core/version.js';
import { type Environment, loadJobFile, parseJob, parseJobText } from './job.js';

function errorsOf(text: string, env: Environment = {}, file = 'job.yaml'): string[] {
  try {
    parseJob(text, file, env);
  } catch (err) {
    expect(err).toBeInstanceOf(InputErrors);
    return (err as InputErrors).errors.map((e) => e.format());
  }
  throw new Error('expected the job to be rejected');
}

const job = (container: string, top = '') =>
  `name: web\ngroup: labs\n${top}container:\n  - image: nginx:alpine\n${container}`;

describe('job files: ${VAR} interpolation from the environment', () => {
  it('substitutes values anywhere, with defaults, and casts numbers and booleans where the field takes them', () => {
    const text = [
      'name: web',
      'group: ${GROUP:-labs}',
      'count: ${REPLICAS}',
      'container:',
      '  - image: registry.example.com/app:${TAG:-latest}',
      '    init: ${INIT}',
      '    ports:',
      '      - in: ${PORT}',
      '        out: ${OUT}',
      '    environment:',
      '      DB_PASSWORD: ${DB_PASSWORD:?ask ops}',
      '      - ignored',
      '',
    ]
      .filter((l) => l !== '      - ignored')
      .join('\n');
    const env = { REPLICAS: '1', INIT: 'true', PORT: '8000', OUT: '8080', DB_PASSWORD: 'hunter22' };
    const parsed = parseJob(text, 'job.yaml', env);
    expect(parsed.spec.target).toEqual({ kind: 'group', group: 'labs' });
    expect(parsed.spec.count).toBe(1);
    expect(parsed.spec.container[0]!.image).toBe('registry.example.com/app:latest');
    expect(parsed.spec.container[0]!.init).toBe(true);
    expect(parsed.spec.container[0]!.ports).toEqual([{ in: 8000, protocol: 'tcp', out: 8080 }]);
    expect(parsed.spec.container[0]!.environment).toEqual({ DB_PASSWORD: 'hunter22' });
    expect(parsed.variables).toEqual(['GROUP', 'REPLICAS', 'TAG', 'INIT', 'PORT', 'OUT', 'DB_PASSWORD']);
    // Environment values are not "masked fields": plans show environment keys only anyway.
    expect(parsed.spec.container[0]!.maskedFields).toBeUndefined();
  });

  it('a missing variable is a file:line:col error naming it, at the ${…} itself', () => {
    expect(
      errorsOf(job('    environment:\n      A: "x-${SECRET}"\n      B: ${OTHER:?set OTHER first}\n')),
    ).toEqual([
      'job.yaml:6:13 container[0].environment.A: variable SECRET is not set (set it in the environment or in an env_file, or give a default: ${SECRET:-default})',
      'job.yaml:7:10 container[0].environment.B: variable OTHER is required but not set: set OTHER first',
    ]);
  });

  it('an invalid value that came from a variable is reported without the value', () => {
    const errors = errorsOf('name: web\ngroup: labs\ncount: ${REPLICAS}\ncontainer:\n  - image: nginx\n', {
      REPLICAS: 'many-secret-things',
    });
    expect(errors).toEqual(['job.yaml:3:8 count: expected a number, got "${REPLICAS}"']);
    const volume = errorsOf(job('    volumes:\n      - "/data:${TARGET}"\n'), { TARGET: 'relative/s3cr3t' });
    expect(volume).toEqual([
      'job.yaml:6:9 container[0].volumes[0]: the path inside the container must be absolute, got "${TARGET}"',
    ]);
  });

  it('masks per entry: only the entry whose command came from a variable, the version over all entries unchanged', () => {
    const two = (token: string) =>
      [
        'name: shop',
        'group: labs',
        'container:',
        '  - name: web',
        '    image: nginx:alpine',
        '    command: ["serve", "--port", "80"]',
        '  - name: side',
        '    image: busybox',
        `    command: ["sh", "-c", "${token}"]`,
        '',
      ].join('\n');
    const plain = parseJobText(two('fetch abc'), 'shop.yaml');
    const interpolated = parseJobText(two('fetch ${TOKEN}'), 'shop.yaml', { TOKEN: 'abc' });
    expect(interpolated.container.map((e) => e.maskedFields)).toEqual([undefined, ['command']]);
    expect(plain.container.map((e) => e.maskedFields)).toEqual([undefined, undefined]);
    expect(specVersion(interpolated)).toBe(specVersion(plain));
    const rotated = parseJobText(two('fetch ${TOKEN}'), 'shop.yaml', { TOKEN: 'xyz' });
    expect(specVersion(rotated)).not.toBe(specVersion(interpolated));
  });

  it('a command or entrypoint built from a variable is masked in plans (maskedFields), outside the version', () => {
    const plain = parseJobText(job('    command: ["serve", "--token", "abc"]\n'), 'job.yaml');
    const interpolated = parseJobText(job('    command: ["serve", "--token", "${TOKEN}"]\n'), 'job.yaml', {
      TOKEN: 'abc',
    });
    expect(plain.container[0]!.maskedFields).toBeUndefined();
    expect(interpolated.container[0]!.maskedFields).toEqual(['command']);
    expect(interpolated.container[0]!.command).toEqual(['serve', '--token', 'abc']);
    // The same container: the same version.
    expect(specVersion(interpolated)).toBe(specVersion(plain));
    // A changed secret is a new version.
    const rotated = parseJobText(job('    command: ["serve", "--token", "${TOKEN}"]\n'), 'job.yaml', {
      TOKEN: 'xyz',
    });
    expect(specVersion(rotated)).not.toBe(specVersion(interpolated));
  });

  it('bare $VAR and $$ stay as written (a 0.3 file keeps its version); $${ is a literal ${', () => {
    const text = job('    command: sh -c "echo $HOME $$ $${HOME}"\n');
    expect(parseJobText(text, 'job.yaml').container[0]!.command).toEqual([
      'sh',
      '-c',
      'echo $HOME $$ ${HOME}',
    ]);
  });

  it('registries: in the job file, interpolated, servers normalised', () => {
    const text = job(
      '',
      'registries:\n  - server: https://GHCR.io/\n    username: bot\n    password: ${GHCR_TOKEN}\n',
    );
    expect(parseJob(text, 'job.yaml', { GHCR_TOKEN: 't0k' }).registries).toEqual([
      { server: 'ghcr.io', username: 'bot', password: 't0k' },
    ]);
    expect(errorsOf(text)).toEqual([
      expect.stringMatching(/^job\.yaml:6:15 registries\[0\]\.password: variable GHCR_TOKEN is not set/),
    ]);
  });
});

describe('job files: env_file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dokkup-envfile-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  it('reads variables from env files beside the job; the shell environment wins; later files override earlier', async () => {
    write('base.env', 'DB_PASSWORD=from-base\nTAG=1.0\nLEVEL=info\n');
    write('override.env', 'TAG=2.0\nURL="postgres://app:${DB_PASSWORD}@db/app"\n');
    const file = write(
      'job.yaml',
      job(
        '    environment:\n      DB_PASSWORD: ${DB_PASSWORD}\n      URL: ${URL}\n      LEVEL: ${LEVEL}\n    labels:\n      tag: ${TAG}\n',
        'env_file: [base.env, override.env]\n',
      ),
    );
    const loaded = await loadJobFile(file, { LEVEL: 'debug' });
    expect(loaded.spec.container[0]!.environment).toEqual({
      DB_PASSWORD: 'from-base',
      URL: 'postgres://app:from-base@db/app',
      LEVEL: 'debug',
    });
    expect(loaded.spec.container[0]!.labels).toEqual({ tag: '2.0' });
    // The env file's own variables never reach the container unless listed under environment.
    expect(Object.keys(loaded.spec.container[0]!.environment)).not.toContain('TAG');
  });

  it('a missing env file is an error at its line unless required: false; a bad line is env-file:line:col', async () => {
    const missing = write('missing.yaml', job('', 'env_file: nope.env\n'));
    await expect(loadJobFile(missing, {})).rejects.toThrow(
      `${missing}:3:11 env_file: env file ${join(dir, 'nope.env')}: no such file`,
    );
    const optional = write('optional.yaml', job('', 'env_file:\n  - path: nope.env\n    required: false\n'));
    await expect(loadJobFile(optional, {})).resolves.toMatchObject({ spec: { name: 'web' } });
    write('broken.env', 'GOOD=1\nthis line has no equals sign\n');
    const broken = write('broken.yaml', job('', 'env_file: broken.env\n'));
    await expect(loadJobFile(broken, {})).rejects.toThrow(
      `${join(dir, 'broken.env')}:2:1: expected KEY=value, got "this line has no equals sign"`,
    );
  });
});

describe('job files: lenient variables (commands that never send the spec)', () => {
  it('reads unset variables as empty and ignores registries:, so show/stop/logs work without the secrets', () => {
    const text = job(
      '    environment:\n      DB_PASSWORD: ${DB_PASSWORD:?needed}\n      TOKEN: ${TOKEN}\n',
      'registries:\n  - {server: ghcr.io, username: bot, password: "${GHCR_TOKEN}"}\n',
    );
    expect(errorsOf(text)).toHaveLength(3);
    const parsed = parseJob(text, 'job.yaml', {}, { variables: 'lenient' });
    expect(parsed.spec.name).toBe('web');
    expect(parsed.spec.container[0]!.environment).toEqual({ DB_PASSWORD: '', TOKEN: '' });
    expect(parsed.registries).toEqual([]);
  });
});
