/**
 * `minilm embed`: sentence embeddings of texts from arguments, a file or stdin, written as JSONL,
 * .npy or raw float32. Texts are read, embedded and written chunk by chunk (CHUNK_TEXTS at a
 * time, sorted by length inside the chunk), so memory stays flat on a million lines.
 *
 * int8/uint8 need per-dimension ranges: sentence-transformers computes them from all the
 * embeddings of the call. A stream has no "all", so the ranges come from the first chunk and are
 * reused for the rest (values outside them are clamped); with one chunk this is exactly upstream.
 */

import { EmbeddingMatrix } from '../../api/embedding-matrix.ts';
import { PRECISIONS, quantizeEmbeddings, type Precision } from '../../api/quantize.ts';
import type { EmbedProgress } from '../../model/sentence-encoder.ts';
import { createProgressBar } from '../../node/hub/progress-bar.ts';
import { CHUNK_TEXTS, chunked, countLines, textSource } from '../input.ts';
import { parseCommandArgs, stringOption, UsageError, type CliIO, type Command } from '../io.ts';
import {
  EMBEDDING_OPTIONS, EMBEDDING_OPTIONS_HELP, embeddingOptions, MODEL_OPTIONS, MODEL_OPTIONS_HELP, openEncoder,
} from '../model-options.ts';
import { chooseFormat, createWriter, type EmbeddingWriter } from '../output.ts';

const OPTIONS = {
  ...MODEL_OPTIONS,
  ...EMBEDDING_OPTIONS,
  input: { type: 'string', short: 'i' },
  output: { type: 'string', short: 'o' },
  format: { type: 'string', short: 'f' },
  precision: { type: 'string' },
} as const;

export const embedCommand: Command = {
  name: 'embed',
  summary: 'sentence embeddings of texts (arguments, --input FILE or stdin) as JSONL, .npy or float32',
  help: `Usage: minilm embed [options] [TEXT...]

Embeds each TEXT, or each line of --input FILE, or each line of stdin.
Writes one JSON line per text to stdout, {"index":0,"text":"...","embedding":[...]},
or, with --output, a file in --format jsonl, npy (NumPy) or f32 (raw float32 rows).

Options:
  -i, --input FILE         texts to embed: .jsonl/.ndjson (a JSON string or {"text": ...} per line)
                           or any other file (one text per line); '-' for stdin
  -o, --output FILE        write here instead of stdout (written as FILE.part, renamed when done)
  -f, --format FMT         jsonl, npy or f32 (default: from the --output extension, else jsonl)
      --precision P        float32 (default), int8, uint8, binary or ubinary
                           (sentence-transformers' quantize_embeddings)
${EMBEDDING_OPTIONS_HELP}
${MODEL_OPTIONS_HELP}

Examples:
  minilm embed "A man is eating food." "A man is riding a horse."
  minilm embed --input corpus.txt --output corpus.npy
  cat corpus.txt | minilm embed --format f32 > corpus.f32
`,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parseCommandArgs(args, OPTIONS);
    if (values['help']) {
      io.stdout.write(embedCommand.help);
      return 0;
    }
    const input = stringOption(values, 'input');
    const output = stringOption(values, 'output');
    const format = chooseFormat(stringOption(values, 'format'), output);
    const precision = (stringOption(values, 'precision') ?? 'float32') as Precision;
    if (!PRECISIONS.includes(precision)) throw new UsageError(`--precision must be one of ${PRECISIONS.join(', ')}, got ${JSON.stringify(precision)}`);
    if (format === 'f32' && precision !== 'float32') throw new UsageError('--format f32 holds float32 embeddings only; use npy or jsonl with --precision');
    const options = embeddingOptions(values);
    const texts = textSource(positionals, input, io);
    const total = positionals.length > 0 ? positionals.length : input !== undefined && input !== '-' ? await countLines(input, io) : undefined;

    const encoder = await openEncoder(values, io);
    const bar = createProgressBar(io.stderr, 'embedding', 'items', total);
    let writer: EmbeddingWriter | undefined;
    let done = 0;
    let ranges: EmbeddingMatrix | undefined;
    try {
      writer = await createWriter(format, output, io);
      for await (const chunk of chunked(texts, CHUNK_TEXTS)) {
        const chunkTexts = chunk.map((t) => t.text);
        const matrix = await encoder.embedMatrix(chunkTexts, {
          ...options,
          onProgress: (progress: EmbedProgress) => bar?.update(done + progress.done),
        });
        if (precision === 'int8' || precision === 'uint8') ranges ??= minMaxRows(matrix);
        const rows = precision === 'float32' ? matrix : quantizeEmbeddings(matrix, precision, ranges === undefined ? {} : { ranges });
        await writer.write(rows, chunkTexts, done);
        done += chunk.length;
      }
      if (done === 0) throw new UsageError('the input holds no texts');
      const written = await writer.close();
      bar?.finish();
      if (output !== undefined) {
        io.stderr.write(`minilm: wrote ${written} embeddings to ${output} (${format}, ${precision})\n`);
      }
      if ((precision === 'int8' || precision === 'uint8') && done > CHUNK_TEXTS) {
        io.stderr.write(`minilm: note: ${precision} ranges were computed from the first ${CHUNK_TEXTS} embeddings\n`);
      }
      return 0;
    } catch (error) {
      bar?.finish();
      await writer?.abort();
      throw error;
    } finally {
      encoder.dispose();
    }
  },
};

/** [2, cols]: per-dimension minimum and maximum of the rows (quantization ranges). */
function minMaxRows(matrix: EmbeddingMatrix): EmbeddingMatrix {
  const { rows, cols, data } = matrix;
  const out = new Float32Array(2 * cols); // [2, cols]
  out.fill(Infinity, 0, cols);
  out.fill(-Infinity, cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = data[r * cols + c]!;
      if (v < out[c]!) out[c] = v;
      if (v > out[cols + c]!) out[cols + c] = v;
    }
  }
  return new EmbeddingMatrix(out, 2, cols);
}
