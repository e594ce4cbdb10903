import { describe, expect, it } from 'vitest';
import { jsonSchemaOf } from '../../protocol/json-schema.js';
import { runInMemory } from '../memory-io.fixture.js';

describe('dokkup schema', () => {
  it.each(['job', 'inventory'] as const)('prints the %s schema', async (name) => {
    const ran = await runInMemory(['schema', name]);
    expect(ran.code).toBe(0);
    expect(ran.stderr).toBe('');
    expect(JSON.parse(ran.stdout)).toEqual(jsonSchemaOf(name));
  });

  it('refuses an unknown name with exit code 2, naming the ones there are', async () => {
    const ran = await runInMemory(['schema', 'compose']);
    expect(ran.code).toBe(2);
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toBe(
      'dokkup: no schema "compose" (there are: job, inventory)\nRun `dokkup schema --help` for usage.\n',
    );
  });
});
