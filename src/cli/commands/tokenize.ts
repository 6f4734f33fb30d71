/**
 * `minilm tokenize`: what the model sees for a text: token ids, the WordPiece tokens and the
 * characters of the input each token came from. Loads only the tokenizer files, not the weights.
 */

import { textSource } from '../input.ts';
import { parseCommandArgs, stringOption, writeOut, type CliIO, type Command } from '../io.ts';
import { MODEL_OPTIONS, MODEL_OPTIONS_HELP, openTokenizer } from '../model-options.ts';
import { UsageError } from '../io.ts';

const OPTIONS = {
  ...MODEL_OPTIONS,
  input: { type: 'string', short: 'i' },
  prompt: { type: 'string' },
  'prompt-name': { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const tokenizeCommand: Command = {
  name: 'tokenize',
  summary: 'token ids, tokens and offsets of texts: what the model sees',
  help: `Usage: minilm tokenize [options] [TEXT...]

For each TEXT (or line of --input FILE, or of stdin) prints the tokens the model sees:
id, token, and the [start, end) characters of the input it came from ([CLS]/[SEP] have none).
Texts longer than the model's max_seq_length are truncated, as when embedding.

Options:
  -i, --input FILE         texts, one per line (or .jsonl)
      --prompt TEXT        text put before every input (offsets then count the prompt too)
      --prompt-name NAME   one of the model's named prompts
      --json               one JSON line per text: {"text", "ids", "tokens", "offsets", "truncated"}
${MODEL_OPTIONS_HELP}
`,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parseCommandArgs(args, OPTIONS);
    if (values['help']) {
      io.stdout.write(tokenizeCommand.help);
      return 0;
    }
    const texts = textSource(positionals, stringOption(values, 'input'), io);
    const prompt = stringOption(values, 'prompt');
    const promptName = stringOption(values, 'prompt-name');
    if (prompt !== undefined && promptName !== undefined) throw new UsageError('--prompt and --prompt-name cannot be used together');
    const { tokenizer } = await openTokenizer(values, io);
    const promptText = tokenizer.resolvePrompt({ ...(prompt === undefined ? {} : { prompt }), ...(promptName === undefined ? {} : { promptName }) });

    let count = 0;
    for await (const { text } of texts) {
      const full = promptText + text;
      const encoding = tokenizer.encode(text, promptText);
      const truncated = encoding.untruncatedLength > encoding.ids.length;
      if (values['json']) {
        await writeOut(io.stdout, `${JSON.stringify({ text: full, ids: encoding.ids, tokens: encoding.tokens, offsets: encoding.offsets, truncated, untruncatedLength: encoding.untruncatedLength })}\n`);
      } else {
        const note = truncated ? `, truncated from ${encoding.untruncatedLength} to max_seq_length ${tokenizer.maxSeqLength}` : '';
        let out = `${count > 0 ? '\n' : ''}${JSON.stringify(full)}: ${encoding.ids.length} tokens${note}\n`;
        const width = Math.max(...encoding.tokens.map((t) => t.length));
        encoding.ids.forEach((id, i) => {
          const [start, end] = encoding.offsets[i]!;
          const special = start === 0 && end === 0;
          const where = special ? '' : `  ${start}-${end}  ${JSON.stringify(full.slice(start, end))}`;
          out += `  ${String(id).padStart(6)}  ${encoding.tokens[i]!.padEnd(width)}${where}\n`;
        });
        await writeOut(io.stdout, out);
      }
      count++;
    }
    if (count === 0) throw new UsageError('the input holds no texts');
    return 0;
  },
};
