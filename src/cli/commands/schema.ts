import { jsonSchemaText, SCHEMA_FILES, SCHEMA_NAMES, type SchemaName } from '../../protocol/json-schema.js';
import { type Command, UsageError } from '../command.js';

export const schemaCommand: Command = {
  path: ['schema'],
  summary: 'Print the JSON Schema of job files or inventories (for editors)',
  usage: SCHEMA_NAMES.join('|'),
  description: `The schema is generated from the checks dokkup itself runs, so an editor that knows it
completes and checks exactly what dokkup accepts. With the YAML language server (VS Code's
YAML extension, Neovim, Helix, IntelliJ…), point a file at it with a first line like
  # yaml-language-server: $schema=job.schema.json
The repository holds both schemas in ${Object.values(SCHEMA_FILES)
    .map((s) => s.file)
    .join(' and ')}.`,
  flags: {},
  examples: [
    { does: 'Save the job file schema beside your job files', run: 'dokkup schema job > job.schema.json' },
    { does: 'Save the inventory schema', run: 'dokkup schema inventory > inventory.schema.json' },
  ],
  args: { min: 1, max: 1, names: SCHEMA_NAMES.join('|') },
  argChoices: SCHEMA_NAMES,
  async run({ args, io }) {
    const name = args[0] as string;
    if (!(SCHEMA_NAMES as string[]).includes(name)) {
      throw new UsageError(`no schema "${name}" (there are: ${SCHEMA_NAMES.join(', ')})`);
    }
    io.stdout.write(jsonSchemaText(name as SchemaName));
    return 0;
  },
};
