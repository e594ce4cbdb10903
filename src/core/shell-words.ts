/**
 * Splits a command written as one string into argv words, the way a POSIX shell would split
 * it (and the way docker-compose does for `command:` / `entrypoint:`), without expanding
 * anything: no variables, globs or substitutions.
 */
import { InputError } from './errors.js';

export function splitShellWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  // A word exists once anything was written for it, even `""`, so empty quoted words survive.
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new InputError(`unterminated single quote at character ${i + 1}`);
      word += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      for (;;) {
        if (j >= line.length) throw new InputError(`unterminated double quote at character ${i + 1}`);
        const d = line[j]!;
        if (d === '"') break;
        // Inside double quotes a backslash only escapes the characters the shell treats specially.
        if (d === '\\' && j + 1 < line.length && '"\\$`\n'.includes(line[j + 1]!)) {
          word += line[j + 1];
          j += 2;
        } else {
          word += d;
          j++;
        }
      }
      inWord = true;
      i = j + 1;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new InputError('a backslash at the end of the command escapes nothing');
      word += line[i + 1];
      inWord = true;
      i += 2;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}
