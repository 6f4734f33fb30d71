/**
 * Generates src/tokenizer/unicode-tables.generated.ts: the Unicode 8.0 character classes that the
 * reference BERT tokenizer (the Rust `tokenizers` crate) uses, as compact range tables.
 *
 * Why a generated table and not `\p{...}` regexes: the reference decides "control/format",
 * "punctuation" and "nonspacing mark" with the `unicode_categories` crate, whose tables are from
 * Unicode 8.0. JavaScript engines follow a much newer Unicode, so `\p{P}` says that U+2E43 (added
 * in 9.0) is punctuation while the reference keeps it inside a word. Matching the reference id for
 * id means carrying its old tables; the data comes from the dev dependency `unicode-8.0.0`.
 *
 * Run:   npx tsx scripts/gen-unicode-tables.ts          (rewrites the file)
 *        npx tsx scripts/gen-unicode-tables.ts --check  (exits 1 if the committed file is stale)
 * The test test/tokenizer/unicode-tables.test.ts calls generateUnicodeTables() and compares.
 *
 * Leaves out: whitespace and CJK ranges (short, fixed lists written by hand in
 * src/tokenizer/char-classes.ts), lowercasing and NFD (done with the runtime's String methods).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** Where the generated file lives, relative to this script. */
export const OUTPUT_URL = new URL('../src/tokenizer/unicode-tables.generated.ts', import.meta.url);

/** Code points of one Unicode 8.0 General_Category, e.g. 'Nonspacing_Mark'. */
function categoryCodePoints(name: string): number[] {
  return require(`unicode-8.0.0/General_Category/${name}/code-points.js`) as number[];
}

/** Sorted code points → flat list of inclusive [first, last] pairs. */
export function toRanges(codePoints: Iterable<number>): number[] {
  const sorted = [...new Set(codePoints)].sort((a, b) => a - b);
  const ranges: number[] = [];
  for (const cp of sorted) {
    const n = ranges.length;
    if (n > 0 && ranges[n - 1] === cp - 1) ranges[n - 1] = cp;
    else ranges.push(cp, cp);
  }
  return ranges;
}

function hex(cp: number): string {
  return '0x' + cp.toString(16).toUpperCase().padStart(4, '0');
}

/** One exported constant: a doc comment, then the pairs, six pairs to a line. */
function formatTable(name: string, doc: string, ranges: number[]): string {
  const lines: string[] = [];
  const pairsPerLine = 6;
  for (let i = 0; i < ranges.length; i += 2 * pairsPerLine) {
    const pairs: string[] = [];
    for (let j = i; j < Math.min(i + 2 * pairsPerLine, ranges.length); j += 2) {
      pairs.push(`${hex(ranges[j]!)}, ${hex(ranges[j + 1]!)},`);
    }
    lines.push('  ' + pairs.join(' '));
  }
  return `/** ${doc} ${ranges.length / 2} ranges. */\nexport const ${name}: readonly number[] = [\n${lines.join('\n')}\n];\n`;
}

/** The whole generated file as a string (deterministic: same input data, same text). */
export function generateUnicodeTables(): string {
  const control = toRanges([
    ...categoryCodePoints('Control'),
    ...categoryCodePoints('Format'),
    ...categoryCodePoints('Private_Use'),
  ]);
  const punctuation = toRanges(categoryCodePoints('Punctuation'));
  const nonspacingMark = toRanges(categoryCodePoints('Nonspacing_Mark'));

  const header = `// GENERATED FILE, do not edit by hand.
// Regenerate with: npx tsx scripts/gen-unicode-tables.ts
// Data: Unicode 8.0.0 General_Category, from the npm package unicode-8.0.0 (a dev dependency).
//
// Why these tables exist: the reference tokenizer (Hugging Face \`tokenizers\`, Rust) classifies
// characters with the \`unicode_categories\` crate, whose tables are from Unicode 8.0, while
// JavaScript's \`\\p{...}\` follows the engine's much newer Unicode. Where the two disagree (a
// character assigned after 8.0, or one whose category changed) the reference decides the ids,
// so we carry its tables. Each table is a flat, sorted list of inclusive [first, last] pairs.
`;
  return [
    header,
    formatTable(
      'CONTROL_RANGES',
      'Cc, Cf and Co (control, format, private use): what clean_text deletes, apart from \\t \\n \\r. Unassigned (Cn) is not included, as in the reference.',
      control,
    ),
    formatTable('PUNCTUATION_RANGES', 'Pc, Pd, Ps, Pe, Pi, Pf and Po: what the pre-tokeniser splits off.', punctuation),
    formatTable('NONSPACING_MARK_RANGES', 'Mn: what accent stripping drops after NFD.', nonspacingMark),
  ].join('\n');
}

function main(): void {
  const text = generateUnicodeTables();
  const path = fileURLToPath(OUTPUT_URL);
  if (process.argv.includes('--check')) {
    const committed = readFileSync(path, 'utf8');
    if (committed !== text) {
      console.error(`${path} is stale: run npx tsx scripts/gen-unicode-tables.ts`);
      process.exit(1);
    }
    console.log(`${path} is up to date`);
    return;
  }
  writeFileSync(path, text);
  console.log(`wrote ${path}`);
}

// Run only when executed directly, not when a test imports generateUnicodeTables().
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main();
