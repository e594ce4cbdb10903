import { describe, expect, it } from 'vitest';
import { InputError } from './errors.js';
import { splitShellWords } from './shell-words.js';

describe('splitShellWords', () => {
  it.each([
    ['echo hello', ['echo', 'hello']],
    ['  a   b\tc  ', ['a', 'b', 'c']],
    [`sh -c 'echo "hi there"; exit 1'`, ['sh', '-c', 'echo "hi there"; exit 1']],
    [`nginx -g "daemon off;"`, ['nginx', '-g', 'daemon off;']],
    [`a"b c"d`, ['ab cd']],
    [`echo "a \\"quoted\\" \\$HOME \\n"`, ['echo', 'a "quoted" $HOME \\n']],
    [`echo a\\ b`, ['echo', 'a b']],
    [`x '' ""`, ['x', '', '']],
    [`echo $HOME *`, ['echo', '$HOME', '*']],
    ['', []],
  ])('%j', (line, words) => {
    expect(splitShellWords(line)).toEqual(words);
  });

  it.each([`echo 'open`, `echo "open`, 'echo \\'])('rejects %j', (line) => {
    expect(() => splitShellWords(line)).toThrow(InputError);
  });
});
