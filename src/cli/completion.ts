/**
 * Shell completion scripts for bash, zsh and fish, generated from the command registry, so a
 * new command or flag is completed without anyone touching this file. Each script completes
 * the command words (`run` → `job`), each command's flags, a flag's value where it is a file
 * (`-i FILE`: `*.yaml`/`*.yml`) or a directory (`--config DIR`), and the command's arguments:
 * job files, or the words it takes (`schema job|inventory`).
 *
 * All three share one shape: the words typed so far minus flags (and the values of flags that
 * take one) name the command; the longest command path that prefixes them wins.
 */
import { type Command, type FlagDefinition, flagsOf, kebab } from './command.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

interface FlagModel {
  /** `--inventory`, `-i`, aliases; `--no-color` for colour. */
  names: string[];
  description: string;
  /** What its value is: a file, a directory, something else, or none (a boolean flag). */
  value: 'file' | 'dir' | 'other' | 'none';
}

interface CommandModel {
  path: string[];
  summary: string;
  flags: FlagModel[];
  /** Job files, fixed words, or nothing. */
  args: { kind: 'files' } | { kind: 'words'; words: string[] } | { kind: 'none' };
  maxArgs: number;
}

function flagModel(name: string, flag: FlagDefinition): FlagModel {
  const long = name === 'color' ? '--no-color' : `--${kebab(name)}`;
  const names = [long, ...(flag.aliases ?? []).map((a) => `--${kebab(a)}`)];
  if (flag.shortFlag) names.push(`-${flag.shortFlag}`);
  const value =
    flag.type === 'boolean'
      ? 'none'
      : flag.valueName === 'FILE'
        ? 'file'
        : flag.valueName === 'DIR'
          ? 'dir'
          : 'other';
  return { names, description: flag.description, value };
}

function commandModel(command: Command): CommandModel {
  const flags = Object.entries(flagsOf(command))
    .filter(([, flag]) => !flag.hidden)
    .map(([name, flag]) => flagModel(name, flag));
  const args: CommandModel['args'] =
    command.args.max === 0
      ? { kind: 'none' }
      : command.argChoices
        ? { kind: 'words', words: [...command.argChoices] }
        : { kind: 'files' };
  return { path: [...command.path], summary: command.summary, flags, args, maxArgs: command.args.max };
}

interface Model {
  /** Longest path first: the first that prefixes the typed words is the command. */
  commands: CommandModel[];
  /** Every flag (of any command) that takes a value: its value is not a word. */
  valueFlags: string[];
  /** For each prefix of a command path (`''`, `'run'`, `'show'`): the words that may follow. */
  nextWords: Map<string, string[]>;
}

function modelOf(commands: readonly Command[]): Model {
  const models = commands.map(commandModel);
  const valueFlags = new Set<string>();
  for (const m of models)
    for (const f of m.flags) if (f.value !== 'none') for (const n of f.names) valueFlags.add(n);
  const nextWords = new Map<string, string[]>();
  for (const m of models) {
    for (let i = 0; i < m.path.length; i++) {
      const prefix = m.path.slice(0, i).join(' ');
      const next = nextWords.get(prefix) ?? [];
      if (!next.includes(m.path[i]!)) next.push(m.path[i]!);
      nextWords.set(prefix, next);
    }
  }
  nextWords.get('')?.push('help');
  return {
    commands: [...models].sort((a, b) => b.path.length - a.path.length),
    valueFlags: [...valueFlags],
    nextWords,
  };
}

export function completionScript(shell: Shell, commands: readonly Command[]): string {
  const model = modelOf(commands);
  switch (shell) {
    case 'bash':
      return bashScript(model);
    case 'zsh':
      return zshScript(model);
    case 'fish':
      return fishScript(model);
  }
}

/** A shell word in single quotes (the same quoting works in bash, zsh and fish for these). */
function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `case` patterns for a command path: the path alone or followed by more words. */
function pathPatterns(path: readonly string[]): string {
  const joined = path.join(' ');
  return `${quote(joined)}|${quote(joined)}' '*`;
}

// ---------------------------------------------------------------------------------------------
// bash and zsh share the word scan and the command lookup (both are POSIX-ish `case` code).

function commonFunctions(model: Model, fn: string): string {
  const commandCases = model.commands
    .map(
      (c) =>
        `    ${pathPatterns(c.path)}) ${fn}_cmd=${quote(c.path.join(' '))}; ${fn}_len=${c.path.length} ;;`,
    )
    .join('\n');
  return `# The words typed before the cursor, without flags and the values of flags that take one.
${fn}_scan() {
  ${fn}_words=()
  local skip=0 w
  for w in "$@"; do
    if ((skip)); then skip=0; continue; fi
    case "$w" in
      ${model.valueFlags.map(quote).join('|')}) skip=1 ;;
      -*) ;;
      *) ${fn}_words+=("$w") ;;
    esac
  done
  ${fn}_cmd=''
  ${fn}_len=0
  case "\${${fn}_words[*]}" in
${commandCases}
  esac
}
`;
}

/** Per command that takes arguments: how many, and their words (none: job files). */
function argCasesOf(model: Model): [string, string][] {
  return model.commands.flatMap((c): [string, string][] => {
    if (c.args.kind === 'none') return [];
    const choices = c.args.kind === 'words' ? ` choices=${quote(c.args.words.join(' '))}` : '';
    return [[quote(c.path.join(' ')), `max=${c.maxArgs};${choices}`]];
  });
}

function caseLines(entries: [string, string][], indent: string): string {
  return entries.map(([pattern, body]) => `${indent}${pattern}) ${body} ;;`).join('\n');
}

function bashScript(model: Model): string {
  const next = [...model.nextWords].map(
    ([prefix, words]) => [quote(prefix), `next=${quote(words.join(' '))}`] as [string, string],
  );
  const flagWords = model.commands.map(
    (c) =>
      [quote(c.path.join(' ')), `flags=${quote(c.flags.flatMap((f) => f.names).join(' '))}`] as [
        string,
        string,
      ],
  );
  const valueCases: [string, string][] = [];
  for (const kind of ['file', 'dir', 'other'] as const) {
    const names = [
      ...new Set(model.commands.flatMap((c) => c.flags.filter((f) => f.value === kind))),
    ].flatMap((f) => f.names);
    const unique = [...new Set(names)];
    if (unique.length === 0) continue;
    const body = kind === 'file' ? '_dokkup_files' : kind === 'dir' ? '_dokkup_dirs' : ':';
    valueCases.push([unique.map(quote).join('|'), `${body}; return`]);
  }
  const argCases = argCasesOf(model);
  return `# bash completion for dokkup (generated by \`dokkup completion bash\`).
# Load it now:    source <(dokkup completion bash)
# For good:       dokkup completion bash > ~/.local/share/bash-completion/completions/dokkup

${commonFunctions(model, '_dokkup')}
_dokkup_files() {
  local IFS=$'\\n' f
  for f in $(compgen -f -- "$cur"); do
    if [[ -d $f || $f == *.yaml || $f == *.yml ]]; then COMPREPLY+=("$f"); fi
  done
  compopt -o filenames 2>/dev/null
}

_dokkup_dirs() {
  local IFS=$'\\n'
  COMPREPLY=($(compgen -d -- "$cur"))
  compopt -o filenames 2>/dev/null
}

_dokkup() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev=''
  if ((COMP_CWORD > 1)); then prev="\${COMP_WORDS[COMP_CWORD - 1]}"; fi
  COMPREPLY=()
  _dokkup_scan "\${COMP_WORDS[@]:1:COMP_CWORD-1}"
  if [[ -z $_dokkup_cmd ]]; then
    local next=''
    case "\${_dokkup_words[*]}" in
${caseLines(next, '      ')}
    esac
    COMPREPLY=($(compgen -W "$next" -- "$cur"))
    return
  fi
  case "$prev" in
${caseLines(valueCases, '    ')}
  esac
  if [[ $cur == -* ]]; then
    local flags=''
    case "$_dokkup_cmd" in
${caseLines(flagWords, '      ')}
    esac
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    return
  fi
  local max=0 choices=''
  case "$_dokkup_cmd" in
${caseLines(argCases, '    ')}
  esac
  if (( \${#_dokkup_words[@]} - _dokkup_len >= max )); then return; fi
  if [[ -n $choices ]]; then
    COMPREPLY=($(compgen -W "$choices" -- "$cur"))
  else
    _dokkup_files
  fi
}

complete -F _dokkup dokkup
`;
}

function zshScript(model: Model): string {
  const next = [...model.nextWords].map(
    ([prefix, words]) => [quote(prefix), `next=(${words.map(quote).join(' ')})`] as [string, string],
  );
  const describe = (f: FlagModel) => f.names.map((n) => quote(`${n}:${f.description}`));
  const flagWords = model.commands.map(
    (c) => [quote(c.path.join(' ')), `flags=(${c.flags.flatMap(describe).join(' ')})`] as [string, string],
  );
  const valueCases: [string, string][] = [];
  for (const kind of ['file', 'dir', 'other'] as const) {
    const names = [
      ...new Set(
        model.commands.flatMap((c) => c.flags.filter((f) => f.value === kind).flatMap((f) => f.names)),
      ),
    ];
    if (names.length === 0) continue;
    const body = kind === 'file' ? "_files -g '*.(yaml|yml)'" : kind === 'dir' ? '_files -/' : ':';
    valueCases.push([names.map(quote).join('|'), `${body}; return`]);
  }
  const argCases = argCasesOf(model);
  return `#compdef dokkup
# zsh completion for dokkup (generated by \`dokkup completion zsh\`).
# Load it now:    source <(dokkup completion zsh)      (after compinit)
# For good:       dokkup completion zsh > "\${fpath[1]}/_dokkup"

${commonFunctions(model, '_dokkup')}
_dokkup() {
  local cur="\${words[CURRENT]}" prev="\${words[CURRENT-1]}"
  _dokkup_scan "\${(@)words[2,CURRENT-1]}"
  if [[ -z $_dokkup_cmd ]]; then
    local -a next
    case "\${_dokkup_words[*]}" in
${caseLines(next, '      ')}
    esac
    compadd -- "\${next[@]}"
    return
  fi
  case "$prev" in
${caseLines(valueCases, '    ')}
  esac
  if [[ $cur == -* ]]; then
    local -a flags
    case "$_dokkup_cmd" in
${caseLines(flagWords, '      ')}
    esac
    _describe -t options 'option' flags
    return
  fi
  local max=0 choices=''
  case "$_dokkup_cmd" in
${caseLines(argCases, '    ')}
  esac
  if (( \${#_dokkup_words[@]} - _dokkup_len >= max )); then return; fi
  if [[ -n $choices ]]; then
    compadd -- \${=choices}
  else
    _files -g '*.(yaml|yml)'
  fi
}

if [[ "\${funcstack[1]}" == _dokkup ]]; then
  _dokkup "$@"
else
  compdef _dokkup dokkup
fi
`;
}

function fishScript(model: Model): string {
  const lines: string[] = [];
  const commandCases = model.commands
    .map(
      (c) =>
        `        case ${quote(c.path.join(' '))} ${quote(`${c.path.join(' ')} *`)}\n            echo ${quote(c.path.join(' '))}`,
    )
    .join('\n');
  const yaml = "'(__dokkup_yaml_files)'";
  for (const c of model.commands) {
    const cond = `__dokkup_is ${quote(c.path.join(' '))}`;
    for (const f of c.flags) {
      const longs = f.names.filter((n) => n.startsWith('--')).map((n) => `-l ${n.slice(2)}`);
      const shorts = f.names.filter((n) => !n.startsWith('--')).map((n) => `-s ${n.slice(1)}`);
      const value =
        f.value === 'none'
          ? ''
          : f.value === 'file'
            ? ` -x -a ${yaml}`
            : f.value === 'dir'
              ? " -x -a '(__fish_complete_directories)'"
              : ' -x';
      lines.push(
        `complete -c dokkup -n ${quote(cond)} ${[...longs, ...shorts].join(' ')}${value} -d ${quote(f.description)}`,
      );
    }
    if (c.args.kind === 'files') {
      lines.push(`complete -c dokkup -n ${quote(`${cond}; and __dokkup_wants_arg ${c.maxArgs}`)} -a ${yaml}`);
    } else if (c.args.kind === 'words') {
      lines.push(
        `complete -c dokkup -n ${quote(`${cond}; and __dokkup_wants_arg ${c.maxArgs}`)} -a ${quote(c.args.words.join(' '))}`,
      );
    }
  }
  for (const [prefix, words] of model.nextWords) {
    for (const word of words) {
      const summary = model.commands.find(
        (c) => c.path.join(' ') === [prefix, word].filter(Boolean).join(' '),
      )?.summary;
      lines.push(
        `complete -c dokkup -n ${quote(`__dokkup_next_is ${quote(prefix)}`)} -a ${quote(word)}${summary ? ` -d ${quote(summary)}` : ''}`,
      );
    }
  }
  return `# fish completion for dokkup (generated by \`dokkup completion fish\`).
# Load it now:    dokkup completion fish | source
# For good:       dokkup completion fish > ~/.config/fish/completions/dokkup.fish

# The words typed before the cursor, without flags and the values of flags that take one.
function __dokkup_words
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l skip 0
    for t in $tokens
        if test $skip = 1
            set skip 0
            continue
        end
        switch $t
            case ${model.valueFlags.map(quote).join(' ')}
                set skip 1
            case '-*'
            case '*'
                echo $t
        end
    end
end

function __dokkup_command
    switch "$(string join ' ' -- (__dokkup_words))"
${commandCases}
    end
end

function __dokkup_is
    test "$(__dokkup_command)" = "$argv[1]"
end

# No command yet and these words typed: offer what may follow.
function __dokkup_next_is
    test -z "$(__dokkup_command)"; and test "$(string join ' ' -- (__dokkup_words))" = "$argv[1]"
end

# Job and inventory files (*.yaml, *.yml) and directories, for the word under the cursor.
function __dokkup_yaml_files
    set -l token (commandline -ct)
    for f in (complete -C "__fish_command_without_completions $token" | string replace -r '\t.*' '')
        string match -qr -- '(.ya?ml|/)$' $f; and echo $f
    end
end

# Fewer arguments than the command takes.
function __dokkup_wants_arg
    set -l command (__dokkup_command)
    set -l words (__dokkup_words)
    test (math (count $words) - (count (string split ' ' -- $command))) -lt $argv[1]
end

complete -c dokkup -f
${lines.join('\n')}
`;
}
