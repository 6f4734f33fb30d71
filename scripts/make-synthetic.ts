/**
 * Writes a synthetic model folder (meaningless weights with the layout of all-MiniLM-L6-v2, plus
 * the real tokenizer files) for offline tests, demos and benchmarks.
 *
 * Run:   npx tsx scripts/make-synthetic.ts [full|tiny] [outDir]
 *        npm run make-synthetic -- tiny
 * Defaults: variant "full", outDir weights/synthetic/<variant> in the repository (git-ignored).
 * Files that already hold the right bytes are not rewritten.
 *
 * The work is done by writeSyntheticModelFolder (src/node/synthetic-folder.ts); this file only
 * reads the command line.
 */
import { fileURLToPath } from 'node:url';
import { writeSyntheticModelFolder, type SyntheticVariant } from '../src/node/synthetic-folder.ts';

const USAGE = 'usage: npx tsx scripts/make-synthetic.ts [full|tiny] [outDir]';

async function main(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  if (args.length > 2) {
    console.error(`make-synthetic: too many arguments\n${USAGE}`);
    return 2;
  }
  const variant = args[0] ?? 'full';
  if (variant !== 'full' && variant !== 'tiny') {
    console.error(`make-synthetic: unknown variant "${variant}" (expected "full" or "tiny")\n${USAGE}`);
    return 2;
  }
  const outDir = args[1] ?? fileURLToPath(new URL(`../weights/synthetic/${variant}`, import.meta.url));
  const started = performance.now();
  const folder = await writeSyntheticModelFolder(variant satisfies SyntheticVariant, outDir);
  console.log(`synthetic ${variant} model folder ready in ${folder} (${Math.round(performance.now() - started)} ms)`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
