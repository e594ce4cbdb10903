import { versionLine } from '../../build-info.js';
import type { Command } from '../command.js';

export const versionCommand: Command = {
  path: ['version'],
  summary: 'Print the version and build',
  usage: '',
  flags: {},
  examples: [
    { does: 'Print the version and build', run: 'dokkup version' },
    { does: 'The same, the way other tools ask', run: 'dokkup --version' },
  ],
  args: { min: 0, max: 0 },
  async run({ io }) {
    io.stdout.write(`${versionLine()}\n`);
    return 0;
  },
};
