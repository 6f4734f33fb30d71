/**
 * `minilm similarity A B`: the cosine similarity of two texts' embeddings, printed with four
 * decimals (the README's first command).
 */

import { cosSim } from '../../api/similarity.ts';
import { parseCommandArgs, UsageError, type CliIO, type Command } from '../io.ts';
import {
  EMBEDDING_OPTIONS, EMBEDDING_OPTIONS_HELP, embeddingOptions, MODEL_OPTIONS, MODEL_OPTIONS_HELP, openEncoder,
} from '../model-options.ts';

const OPTIONS = { ...MODEL_OPTIONS, ...EMBEDDING_OPTIONS } as const;

export const similarityCommand: Command = {
  name: 'similarity',
  summary: 'cosine similarity of two texts',
  help: `Usage: minilm similarity [options] TEXT_A TEXT_B

Prints the cosine similarity of the two texts' embeddings (from -1 to 1; 1 = same direction).

${EMBEDDING_OPTIONS_HELP}
${MODEL_OPTIONS_HELP}

Example:
  minilm similarity "A man is eating food." "A man is eating a piece of bread."
`,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parseCommandArgs(args, OPTIONS);
    if (values['help']) {
      io.stdout.write(similarityCommand.help);
      return 0;
    }
    if (positionals.length !== 2) {
      throw new UsageError(`similarity takes exactly two texts, got ${positionals.length} (quote each text: minilm similarity "A" "B")`);
    }
    const options = embeddingOptions(values);
    const encoder = await openEncoder(values, io);
    try {
      const embeddings = await encoder.embedMatrix(positionals, options);
      const score = cosSim(embeddings.row(0), embeddings.row(1)).data[0]!;
      io.stdout.write(`${score.toFixed(4)}\n`);
      return 0;
    } finally {
      encoder.dispose();
    }
  },
};
