import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SubscribeFrameSchema } from './feeds.js';
import { describeValue, parseJson, parseValue, problemOf } from './parse.js';

const Port = z.strictObject({ in: z.number().int().min(1).max(65535), out: z.number().optional() });
const Body = z.strictObject({
  name: z.string().min(1),
  restart: z.enum(['no', 'always']).optional(),
  ports: z.array(Port).max(2).optional(),
  to: z
    .string()
    .regex(/^[0-9a-f]{7}$/, 'must be a 7-character version')
    .optional(),
});

function problem(text: string, schema: z.ZodType = Body) {
  const result = parseJson(text, schema);
  if (result.ok) throw new Error(`expected a problem with ${text}`);
  return result.problem;
}

describe('parseJson', () => {
  it('gives the value when it fits the schema', () => {
    expect(parseJson('{"name":"web","ports":[{"in":80}]}', Body)).toEqual({
      ok: true,
      value: { name: 'web', ports: [{ in: 80 }] },
    });
  });

  it('says the text is not JSON, with the parser’s reason, and never throws', () => {
    const bad = problem('{"name": tru');
    expect(bad.kind).toBe('syntax');
    expect(bad.path).toBe('');
    expect(bad.message).toMatch(/JSON/);
  });

  it('words zod’s built-in issues as the CLI does, with the dotted path of the field', () => {
    expect(problem('{"name":"web","ports":[{"in":"80"}]}')).toEqual({
      kind: 'schema',
      message: 'expected a number, got "80"',
      path: 'ports.0.in',
      count: 1,
    });
    expect(problem('{}')).toMatchObject({ message: 'is required', path: 'name' });
    expect(problem('{"name":""}')).toMatchObject({ message: 'must not be empty', path: 'name' });
    expect(problem('{"name":"w","restart":"alway"}')).toMatchObject({
      message: 'must be one of "no", "always", got "alway"',
      path: 'restart',
    });
    expect(problem('{"name":"w","ports":[{"in":1},{"in":2},{"in":3}]}')).toMatchObject({
      message: 'must hold at most 2 entries',
      path: 'ports',
    });
    expect(problem('{"name":"w","ports":[{"in":70000}]}')).toMatchObject({
      message: 'must be at most 65535',
      path: 'ports.0.in',
    });
    expect(problem('{"name":"w","ports":[{"in":1.5}]}')).toMatchObject({
      message: 'expected a whole number, got 1.5',
    });
    expect(problem('[1,2]')).toMatchObject({ message: 'expected a mapping, got a list', path: '' });
  });

  it('names an unknown key in the path and the message', () => {
    expect(problem('{"name":"w","ports":[{"in":1,"inn":2}]}')).toMatchObject({
      message: 'unknown key "inn"',
      path: 'ports.0.inn',
    });
  });

  it('keeps a message written in the schema', () => {
    expect(problem('{"name":"w","to":"HEAD~1"}')).toMatchObject({
      message: 'must be a 7-character version',
      path: 'to',
    });
  });

  it('counts every problem while naming the first', () => {
    expect(problem('{"name":5,"restart":1}').count).toBe(2);
  });
});

describe('parseValue', () => {
  it('names the field inside the matching branch of a union', () => {
    const result = parseValue(
      { type: 'subscribe', id: 'a', topic: 'stats', params: { intervalMs: 10 } },
      SubscribeFrameSchema,
    );
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem.path).toBe('params.intervalMs');
    const union = z.union([z.strictObject({ a: z.strictObject({ b: z.number() }) }), z.string()]);
    const deep = parseValue({ a: { b: 'x' } }, union);
    expect(deep.ok).toBe(false);
    if (!deep.ok) expect(deep.problem).toMatchObject({ path: 'a.b', message: 'expected a number, got "x"' });
  });
});

describe('problemOf', () => {
  it('reads a ZodError thrown elsewhere the same way (zod’s default words there)', () => {
    const thrown = z.strictObject({ n: z.number() }).safeParse({ n: 'x', m: 1 });
    if (thrown.success) throw new Error('expected a failure');
    const found = problemOf(thrown.error);
    expect(found.path).toBe('n');
    expect(found.count).toBe(2);
  });
});

describe('describeValue', () => {
  it('shows short values as they are and long ones cut', () => {
    expect(describeValue(undefined)).toBe('nothing');
    expect(describeValue(null)).toBe('an empty value');
    expect(describeValue('x'.repeat(50))).toBe(`"${'x'.repeat(37)}..."`);
    expect(describeValue({})).toBe('a mapping');
    expect(describeValue(true)).toBe('true');
  });
});
