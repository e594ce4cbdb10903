// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` is the interpolation syntax itself, not a template
/**
 * env files (dotenv), as docker compose reads them:
 *
 *   # a comment
 *   KEY=value            unquoted: trimmed, ` #…` starts a comment, ${…} interpolated
 *   export KEY=value     `export ` is allowed and ignored
 *   KEY="a\nb ${X}"      double quotes: \n \t \r \\ \" \$ escapes, ${…} interpolated, may span lines
 *   KEY='literal ${X}'   single quotes: exactly as written, may span lines
 *   KEY=                 an empty value
 *
 * A later line overrides an earlier one for the same key. Interpolation inside values reads
 * `lookup` (the caller decides the precedence: dokkup gives the shell environment first, then
 * what the env files set so far). Pure: errors carry 1-based line and column.
 */
import { InterpolationError, interpolate, type VariableLookup } from './interpolation.js';

export interface DotenvProblem {
  line: number;
  col: number;
  message: string;
}

export interface DotenvEntry {
  value: string;
  line: number;
}

export interface ParsedDotenv {
  entries: Map<string, DotenvEntry>;
  problems: DotenvProblem[];
}

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export function parseDotenv(text: string, lookup: VariableLookup = () => undefined): ParsedDotenv {
  const entries = new Map<string, DotenvEntry>();
  const problems: DotenvProblem[] = [];
  // Values set earlier in this file are visible to later lines, under the caller's lookup.
  const visible: VariableLookup = (name) => lookup(name) ?? entries.get(name)?.value;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let i = 0;
  while (i < lines.length) {
    const lineNo = i + 1;
    const raw = lines[i]!;
    i++;
    const trimmedStart = raw.trimStart();
    if (trimmedStart === '' || trimmedStart.startsWith('#')) continue;
    const indent = raw.length - trimmedStart.length;
    const body = trimmedStart.startsWith('export ') ? trimmedStart.slice(7).trimStart() : trimmedStart;
    const bodyCol = indent + (trimmedStart.length - body.length) + 1;
    const eq = body.indexOf('=');
    if (eq === -1) {
      problems.push({
        line: lineNo,
        col: bodyCol,
        message: `expected KEY=value, got ${JSON.stringify(body)}`,
      });
      continue;
    }
    const key = body.slice(0, eq).trim();
    if (!KEY.test(key)) {
      problems.push({
        line: lineNo,
        col: bodyCol,
        message: `invalid variable name ${JSON.stringify(key)}: use letters, digits and _, not starting with a digit`,
      });
      continue;
    }
    const afterEq = body.slice(eq + 1);
    const valueStart = afterEq.length - afterEq.trimStart().length;
    let rest = afterEq.trimStart();
    const valueCol = bodyCol + eq + 1 + valueStart;
    const quote = rest[0];
    let value: string;
    if (quote === '"' || quote === "'") {
      // Find the closing quote, possibly on a later line.
      let content = rest.slice(1);
      let closed = findClosingQuote(content, quote);
      while (closed === -1 && i < lines.length) {
        content += `\n${lines[i]!}`;
        i++;
        closed = findClosingQuote(content, quote);
      }
      if (closed === -1) {
        problems.push({ line: lineNo, col: valueCol, message: `${quote} opened here is never closed` });
        continue;
      }
      const inner = content.slice(0, closed);
      const after = content.slice(closed + 1).trim();
      if (after !== '' && !after.startsWith('#')) {
        problems.push({
          line: lineNo,
          col: valueCol,
          message: `unexpected text after the closing ${quote}: ${JSON.stringify(after)}`,
        });
        continue;
      }
      if (quote === "'") value = inner;
      else {
        const expanded = tryInterpolate(inner, visible, lineNo, valueCol + 1, problems);
        if (expanded === null) continue;
        value = unescapeDouble(expanded);
      }
    } else {
      const comment = rest.search(/\s#/);
      if (comment !== -1) rest = rest.slice(0, comment);
      const expanded = tryInterpolate(rest.trimEnd(), visible, lineNo, valueCol, problems);
      if (expanded === null) continue;
      value = expanded;
    }
    entries.set(key, { value, line: lineNo });
  }
  return { entries, problems };
}

function findClosingQuote(text: string, quote: string): number {
  for (let j = 0; j < text.length; j++) {
    if (quote === '"' && text[j] === '\\') {
      j++;
      continue;
    }
    if (text[j] === quote) return j;
  }
  return -1;
}

function tryInterpolate(
  text: string,
  lookup: VariableLookup,
  line: number,
  col: number,
  problems: DotenvProblem[],
): string | null {
  // `\$` in double quotes is a literal dollar: protect it from interpolation.
  const guarded = text.replace(/\\\$/g, '\u0000');
  try {
    return interpolate(guarded, lookup).value.replace(/\u0000/g, '\\$');
  } catch (error) {
    if (!(error instanceof InterpolationError)) throw error;
    const before = guarded.slice(0, error.offset);
    const nl = before.lastIndexOf('\n');
    problems.push({
      line: line + (before.match(/\n/g)?.length ?? 0),
      col: nl === -1 ? col + error.offset : error.offset - nl,
      message: error.message,
    });
    return null;
  }
}

function unescapeDouble(text: string): string {
  return text.replace(/\\(.)/gs, (_, c: string) => {
    switch (c) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      default:
        return c;
    }
  });
}
