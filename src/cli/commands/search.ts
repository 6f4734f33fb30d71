/**
 * `minilm search --corpus FILE QUERY...`: the corpus lines most similar to each query.
 *
 * The corpus is embedded chunk by chunk into a running top-k per query (SearchAccumulator), so
 * it is never held in memory; a second pass over the file fetches the texts of the hits.
 */

import { SearchAccumulator } from '../../api/semantic-search.ts';
import type { EmbedProgress } from '../../model/sentence-encoder.ts';
import { createProgressBar } from '../../node/hub/progress-bar.ts';
import { CHUNK_TEXTS, chunked, countLines, readTextFile, type InputText } from '../input.ts';
import { parseCommandArgs, positiveIntegerOption, stringOption, UsageError, writeOut, type CliIO, type Command } from '../io.ts';
import {
  EMBEDDING_OPTIONS, EMBEDDING_OPTIONS_HELP, embeddingOptions, MODEL_OPTIONS, MODEL_OPTIONS_HELP, openEncoder,
} from '../model-options.ts';

const OPTIONS = {
  ...MODEL_OPTIONS,
  ...EMBEDDING_OPTIONS,
  corpus: { type: 'string', short: 'c' },
  'top-k': { type: 'string', short: 'k' },
  'query-prompt': { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const searchCommand: Command = {
  name: 'search',
  summary: 'the lines of a corpus file most similar to a query (semantic search)',
  help: `Usage: minilm search --corpus FILE [options] QUERY...

For each QUERY, prints the --top-k corpus texts with the highest cosine similarity, best first:
  score, line number in FILE, text.

Options:
  -c, --corpus FILE        the texts to search: one per line, or .jsonl ({"text": ...} or a string per line)
  -k, --top-k N            hits per query (default 5)
      --query-prompt TEXT  text put before each query only (e.g. "query: "; then --prompt "passage: "
                           applies to the corpus)
      --json               one JSON line per query: {"query", "hits": [{"corpusId", "line", "score", "text"}]}
${EMBEDDING_OPTIONS_HELP}
${MODEL_OPTIONS_HELP}

Example:
  minilm search --corpus sentences.txt "A man is eating pasta."
`,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parseCommandArgs(args, OPTIONS);
    if (values['help']) {
      io.stdout.write(searchCommand.help);
      return 0;
    }
    const corpus = stringOption(values, 'corpus');
    if (corpus === undefined) throw new UsageError('search needs --corpus FILE');
    if (positionals.length === 0) throw new UsageError('search needs at least one query');
    const topK = positiveIntegerOption(values, 'top-k') ?? 5;
    const options = embeddingOptions(values);
    const queryPrompt = stringOption(values, 'query-prompt');
    const total = await countLines(corpus, io); // also checks that the file exists, before loading the model

    const encoder = await openEncoder(values, io);
    try {
      const queryOptions = queryPrompt === undefined ? options : { ...options, prompt: queryPrompt, promptName: undefined };
      const queries = await encoder.embedMatrix(positionals, queryOptions);
      const search = new SearchAccumulator(queries, { topK });
      const lineOf: number[] = []; // corpus id → line (JSONL may skip blank lines)
      const bar = createProgressBar(io.stderr, 'embedding corpus', 'items', total);
      for await (const chunk of chunked(readTextFile(corpus, io), CHUNK_TEXTS)) {
        const done = search.corpusSize;
        search.add(await encoder.embedMatrix(chunk.map((t) => t.text), { ...options, onProgress: (p: EmbedProgress) => bar?.update(done + p.done) }));
        for (const t of chunk) lineOf.push(t.line);
      }
      bar?.finish();
      if (search.corpusSize === 0) throw new UsageError(`${corpus} holds no texts`);

      const results = search.results();
      const wanted = new Set(results.flatMap((hits) => hits.map((h) => h.corpusId)));
      const texts = await textsOf(readTextFile(corpus, io), wanted);
      for (const [q, hits] of results.entries()) {
        const rows = hits.map((h) => ({ corpusId: h.corpusId, line: lineOf[h.corpusId]!, score: h.score, text: texts.get(h.corpusId) ?? '' }));
        if (values['json']) {
          await writeOut(io.stdout, `${JSON.stringify({ query: positionals[q], hits: rows })}\n`);
        } else {
          let out = `${q > 0 ? '\n' : ''}query: ${positionals[q]}\n`;
          for (const row of rows) out += `  ${row.score.toFixed(4)}  line ${row.line}  ${row.text}\n`;
          await writeOut(io.stdout, out);
        }
      }
      return 0;
    } finally {
      encoder.dispose();
    }
  },
};

/** The texts of the corpus ids in `wanted` (ids count texts, in order). */
async function textsOf(texts: AsyncIterable<InputText>, wanted: Set<number>): Promise<Map<number, string>> {
  const found = new Map<number, string>();
  let id = 0;
  for await (const { text } of texts) {
    if (wanted.has(id)) found.set(id, text);
    if (found.size === wanted.size) break;
    id++;
  }
  return found;
}
