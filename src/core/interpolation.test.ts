// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` is the interpolation syntax itself, not a template
import { describe, expect, it } from 'vitest';
import { InterpolationError, interpolate, referencedVariables } from './interpolation.js';

const env: Record<string, string> = { NAME: 'web', EMPTY: '', TOKEN: 's3cr3t' };
const lookup = (name: string) => env[name];
const value = (text: string) => interpolate(text, lookup).value;

function failure(text: string): InterpolationError {
  try {
    interpolate(text, lookup);
  } catch (error) {
    if (error instanceof InterpolationError) return error;
    throw error;
  }
  throw new Error(`expected ${text} to fail`);
}

describe('interpolate: the compose forms', () => {
  it('substitutes ${VAR} and keeps everything else', () => {
    expect(value('app-${NAME}:1')).toBe('app-web:1');
    expect(value('${EMPTY}')).toBe('');
    expect(value('no variables here')).toBe('no variables here');
  });

  it('leaves bare $VAR and $$ as written (0.3 files keep their meaning), $${ is a literal ${', () => {
    expect(value('echo $HOME $$ $1')).toBe('echo $HOME $$ $1');
    expect(value('echo $${HOME}')).toBe('echo ${HOME}');
  });

  it(':- and - give defaults for unset (and, with the colon, empty) values', () => {
    expect(value('${MISSING:-d}')).toBe('d');
    expect(value('${EMPTY:-d}')).toBe('d');
    expect(value('${NAME:-d}')).toBe('web');
    expect(value('${MISSING-d}')).toBe('d');
    expect(value('${EMPTY-d}')).toBe('');
    expect(value('${MISSING:-}')).toBe('');
  });

  it('defaults may hold further expressions, evaluated only when used', () => {
    expect(value('${MISSING:-${NAME}-x}')).toBe('web-x');
    // The default's own missing variable is not an error when the default is not needed.
    expect(value('${NAME:-${ALSO_MISSING}}')).toBe('web');
    expect(failure('${MISSING:-${ALSO_MISSING}}').variable).toBe('ALSO_MISSING');
  });

  it(':+ and + give the alternative when set', () => {
    expect(value('${NAME:+on}')).toBe('on');
    expect(value('${EMPTY:+on}')).toBe('');
    expect(value('${EMPTY+on}')).toBe('on');
    expect(value('${MISSING+on}')).toBe('');
  });

  it(':? and ? fail with the message, naming the variable and never a value', () => {
    expect(value('${TOKEN:?set TOKEN}')).toBe('s3cr3t');
    const required = failure('x ${MISSING:?ask the ops team}');
    expect(required.message).toBe('variable MISSING is required but not set: ask the ops team');
    expect(required.offset).toBe(2);
    expect(required.expression).toBe('${MISSING:?ask the ops team}');
    expect(failure('${EMPTY:?}').message).toBe('variable EMPTY is required but empty');
    expect(value('${EMPTY?}')).toBe('');
    expect(failure('${MISSING?}').message).toBe('variable MISSING is required but not set');
  });

  it('an unset ${VAR} is an error naming it, with where it starts', () => {
    const error = failure('abc ${DB_PASSWORD} def');
    expect(error.message).toContain('variable DB_PASSWORD is not set');
    expect(error.offset).toBe(4);
    expect(error.variable).toBe('DB_PASSWORD');
  });

  it('bad syntax is an error', () => {
    expect(failure('${NAME').message).toContain('has no closing }');
    expect(failure('${}').message).toBe('${} names no variable');
    expect(failure('${1X}').message).toContain('a variable name uses letters');
    expect(failure('${NAME/x}').message).toContain('expected } or one of');
  });

  it('lists the variables used, also those left to a default', () => {
    expect(interpolate('${NAME}-${MISSING:-x}-${NAME}', lookup).variables).toEqual(['NAME', 'MISSING']);
    expect(referencedVariables('a ${A} $${B} ${C:-${D}}')).toEqual(['A', 'C', 'D']);
  });
});
