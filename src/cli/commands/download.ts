/**
 * `minilm download [MODEL]`: puts a Hub model in the cache (verified against the manifest when
 * it is a known model) and prints the folder. `--dir DIR` also copies the files into DIR.
 */

import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { readModelFolder } from '../../node.ts';
import { DEFAULT_MODEL_ID } from '../../node/hub/model-id.ts';
import { resolveModel } from '../../node/hub/resolve-model.ts';
import { parseCommandArgs, stringOption, UsageError, type CliIO, type Command } from '../io.ts';

const OPTIONS = {
  revision: { type: 'string' },
  dir: { type: 'string', short: 'd' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const downloadCommand: Command = {
  name: 'download',
  summary: 'download a model from the Hugging Face Hub into the cache (and print its folder)',
  help: `Usage: minilm download [options] [MODEL]

Downloads MODEL (a Hub id, default ${DEFAULT_MODEL_ID}) unless it is already in the cache
($MINILM_CACHE or ~/.cache/minilm-ts) or in the Hugging Face cache, and prints its folder.
Known models are fetched at a pinned revision and checked against their sha256; others at main.
Interrupted downloads resume. Honours HF_ENDPOINT and HF_HUB_OFFLINE.

Options:
      --revision R   branch, tag or commit (default: the pinned one, else main)
  -d, --dir DIR      also copy the model's files into DIR
`,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parseCommandArgs(args, OPTIONS);
    if (values['help']) {
      io.stdout.write(downloadCommand.help);
      return 0;
    }
    if (positionals.length > 1) throw new UsageError(`download takes one model, got ${positionals.length}`);
    const model = positionals[0] ?? DEFAULT_MODEL_ID;
    const revision = stringOption(values, 'revision');
    const resolved = await resolveModel(model, { env: io.env, progress: io.stderr, ...(revision === undefined ? {} : { revision }) });
    if (resolved.source === 'folder') throw new UsageError(`"${model}" is a local folder: there is nothing to download`);
    const target = stringOption(values, 'dir');
    if (target === undefined) {
      io.stdout.write(`${resolved.dir}\n`);
      return 0;
    }
    const destination = isAbsolute(target) ? target : resolve(io.cwd, target);
    const { files, weightsFile } = await readModelFolder(resolved.dir, { weights: false });
    for (const file of [...files, weightsFile]) {
      await mkdir(dirname(join(destination, file)), { recursive: true });
      await copyFile(join(resolved.dir, file), join(destination, file));
    }
    io.stdout.write(`${destination}\n`);
    return 0;
  },
};
