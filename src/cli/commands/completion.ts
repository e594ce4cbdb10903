import { type Command, UsageError } from '../command.js';
import { completionScript, SHELLS, type Shell } from '../completion.js';

export const completionCommand: Command = {
  path: ['completion'],
  summary: 'Print a shell completion script (bash, zsh or fish)',
  usage: SHELLS.join('|'),
  description: `Completes commands, their flags, and job and inventory files (*.yaml, *.yml). Load it in
your shell's startup file, or save it where your shell looks for completions:
  bash   source <(dokkup completion bash)   or   > ~/.local/share/bash-completion/completions/dokkup
  zsh    source <(dokkup completion zsh)    (after compinit)   or   > "\${fpath[1]}/_dokkup"
  fish   dokkup completion fish | source    or   > ~/.config/fish/completions/dokkup.fish`,
  flags: {},
  examples: [
    {
      does: 'Install it for bash (bash-completion loads it in every new shell)',
      run: 'dokkup completion bash > ~/.local/share/bash-completion/completions/dokkup',
    },
    {
      does: 'Install it for zsh (with fpath+=~/.zfunc before compinit in ~/.zshrc)',
      run: 'dokkup completion zsh > ~/.zfunc/_dokkup',
    },
    { does: 'Install it for fish', run: 'dokkup completion fish > ~/.config/fish/completions/dokkup.fish' },
  ],
  args: { min: 1, max: 1, names: SHELLS.join('|') },
  argChoices: SHELLS,
  async run({ args, io }) {
    const shell = args[0] as string;
    if (!(SHELLS as readonly string[]).includes(shell)) {
      throw new UsageError(`no completion for "${shell}" (there is: ${SHELLS.join(', ')})`);
    }
    // Loaded here: the registry lists this command, so it cannot be imported at the top.
    const { loadCommands } = await import('./index.js');
    io.stdout.write(completionScript(shell as Shell, await loadCommands()));
    return 0;
  },
};
