/**
 * Node adapter: write a complete model folder around a synthetic checkpoint, laid out like a
 * sentence-transformers download, so that everything that loads a real model folder (loader, CLI,
 * server, benchmarks) can run offline on the synthetic weights.
 *
 *   <outDir>/config.json                      the recipe's BERT config
 *   <outDir>/model.safetensors                generateSyntheticCheckpoint(recipe)
 *   <outDir>/SYNTHETIC.md                     a warning that the weights are meaningless
 *   <outDir>/1_Pooling/config.json            the real one, with the recipe's hidden size
 *   <outDir>/vocab.txt, tokenizer.json, ...   copied from the real all-MiniLM-L6-v2 folder
 *
 * Files already present with identical bytes are left untouched (so timestamps and caches stay
 * valid); others are written to a temporary name and renamed into place, so two processes
 * writing the same folder at once never leave a half-written file behind.
 *
 * Left out: the real weights (see the Hub downloader), and any model other than the two recipes.
 */

import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  generateSyntheticCheckpoint,
  SYNTHETIC_FULL,
  SYNTHETIC_TINY,
  type SyntheticRecipe,
} from '../model/synthetic.ts';

export type SyntheticVariant = 'full' | 'tiny';

export const SYNTHETIC_RECIPES: Readonly<Record<SyntheticVariant, SyntheticRecipe>> = Object.freeze({
  full: SYNTHETIC_FULL,
  tiny: SYNTHETIC_TINY,
});

/** The tokenizer and sentence-transformers files of the real model, in the repository. */
export const REAL_MODEL_FILES_DIR = fileURLToPath(new URL('../../weights/all-MiniLM-L6-v2/', import.meta.url));

/** Files copied unchanged from the real model folder (paths relative to it). */
export const COPIED_MODEL_FILES: readonly string[] = Object.freeze([
  'vocab.txt',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'sentence_bert_config.json',
  'modules.json',
  'config_sentence_transformers.json',
]);

/**
 * Write (or refresh) the synthetic model folder of `variant` in `outDir`; returns the folder's
 * absolute path.
 */
export async function writeSyntheticModelFolder(variant: SyntheticVariant, outDir: string): Promise<string> {
  const recipe = SYNTHETIC_RECIPES[variant];
  if (recipe === undefined || !Object.hasOwn(SYNTHETIC_RECIPES, variant)) {
    throw new TypeError(`writeSyntheticModelFolder: unknown variant ${JSON.stringify(variant)} (expected "full" or "tiny")`);
  }
  const folder = resolve(outDir);
  const encoder = new TextEncoder();

  const weights = generateSyntheticCheckpoint(recipe);
  await writeIfChanged(join(folder, 'model.safetensors'), weights);
  await writeIfChanged(join(folder, 'config.json'), encoder.encode(`${JSON.stringify(recipe.config, null, 2)}\n`));
  await writeIfChanged(join(folder, 'SYNTHETIC.md'), encoder.encode(syntheticReadme(variant, recipe, weights)));
  // The real model's pooling config, with the recipe's width (the tiny model is 32 wide, not 384).
  const pooling = JSON.parse(await readFile(join(REAL_MODEL_FILES_DIR, '1_Pooling/config.json'), 'utf8')) as object;
  const poolingConfig = { ...pooling, word_embedding_dimension: recipe.config.hidden_size };
  await writeIfChanged(join(folder, '1_Pooling/config.json'), encoder.encode(`${JSON.stringify(poolingConfig, null, 2)}
`));

  for (const file of COPIED_MODEL_FILES) {
    const source = join(REAL_MODEL_FILES_DIR, file);
    let content: Uint8Array;
    try {
      content = await readFile(source);
    } catch (error) {
      throw new Error(
        `writeSyntheticModelFolder: cannot read ${file} from the real model folder ${REAL_MODEL_FILES_DIR}`,
        { cause: error },
      );
    }
    await writeIfChanged(join(folder, file), content);
  }
  return folder;
}

function syntheticReadme(variant: SyntheticVariant, recipe: SyntheticRecipe, weights: Uint8Array): string {
  const c = recipe.config;
  const sha256 = createHash('sha256').update(weights).digest('hex');
  return `# Synthetic weights: ${recipe.name} (${variant})

**The weights in this folder are meaningless synthetic numbers.** They have the tensor names,
shapes and dtypes of a BERT checkpoint (all-MiniLM-L6-v2 layout), but their values come from a
fixed pseudo-random generator, not from training. The embeddings this model produces are useless
for search or similarity; they exist so the engine can be tested offline, exactly, against
reference outputs computed on the same numbers.

- generator: \`${recipe.name}\` (test/fixtures/synthetic-model/SPEC.md, src/model/synthetic.ts)
- hidden_size ${c.hidden_size}, num_hidden_layers ${c.num_hidden_layers}, num_attention_heads ${c.num_attention_heads}, intermediate_size ${c.intermediate_size}, vocab_size ${c.vocab_size}
- model.safetensors: ${weights.length} bytes, sha256 \`${sha256}\`
- the tokenizer and sentence-transformers files are the real all-MiniLM-L6-v2 ones

Regenerate with \`npm run make-synthetic -- ${variant} <folder>\`.
`;
}

/** Write `content` at `path` unless the file already holds exactly these bytes. */
async function writeIfChanged(path: string, content: Uint8Array): Promise<void> {
  if (await hasContent(path, content)) return;
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(temporary, content);
  await rename(temporary, path);
}

async function hasContent(path: string, content: Uint8Array): Promise<boolean> {
  try {
    const info = await stat(path);
    if (!info.isFile() || info.size !== content.length) return false;
    return Buffer.compare(await readFile(path), content) === 0;
  } catch {
    return false; // missing or unreadable: (re)write it
  }
}
