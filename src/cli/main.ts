/**
 * The `minilm` command line: dispatches `minilm <command> [args]` to one of COMMANDS.
 *
 *   npx minilm similarity "A man is eating food." "A man is eating a piece of bread."
 *   npm start -- embed --input corpus.txt --output corpus.npy
 *
 * Every command is a module in ./commands exporting a Command (io.ts); to add one, import it and
 * append it to COMMANDS. Commands receive their streams and environment as a CliIO, so tests run
 * them in-process. Exit codes: 0 success, 1 any error (shown as `minilm: error: …`, without a
 * stack trace unless it is a bug).
 */

import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { downloadCommand } from './commands/download.ts';
import { embedCommand } from './commands/embed.ts';
import { infoCommand } from './commands/info.ts';
import { searchCommand } from './commands/search.ts';
import { serveCommand } from './commands/serve.ts';
import { similarityCommand } from './commands/similarity.ts';
import { tokenizeCommand } from './commands/tokenize.ts';
import { traceCommand } from './commands/trace.ts';
import { reportError, UsageError, type CliIO, type Command } from './io.ts';

/** The commands, in the order `minilm --help` lists them. */
export const COMMANDS: Command[] = [embedCommand, similarityCommand, searchCommand, tokenizeCommand, traceCommand, downloadCommand, infoCommand, serveCommand];

export function globalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return `minilm: sentence embeddings with all-MiniLM-L6-v2 (and other BERT sentence models), in pure TypeScript

Usage: minilm <command> [options] [arguments]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n')}

Run 'minilm <command> --help' for a command's options. Common ones:
  -m, --model M     a model folder or a Hub id (default sentence-transformers/all-MiniLM-L6-v2)
      --synthetic   run on the synthetic checkpoint: works offline, meaningless numbers

Environment: MINILM_CACHE (our cache folder), HF_HOME / HF_HUB_CACHE (Hugging Face's cache, read),
HF_ENDPOINT (a Hub mirror), HF_HUB_OFFLINE=1 (never download).
`;
}

export function version(): string {
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

/** Runs one command line; resolves to the exit code. Never throws. */
export async function main(argv: string[], io: CliIO): Promise<number> {
  try {
    const [name, ...rest] = argv;
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
      io.stdout.write(topic?.help ?? globalHelp());
      return 0;
    }
    if (name === '--version' || name === '-v') {
      io.stdout.write(`${version()}\n`);
      return 0;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (command === undefined) {
      throw new UsageError(
        name.startsWith('-')
          ? `expected a command before ${name} (see minilm --help)`
          : `unknown command "${name}"; commands: ${COMMANDS.map((c) => c.name).join(', ')}`,
      );
    }
    return await command.run(rest, io);
  } catch (error) {
    reportError(error, io);
    return 1;
  }
}

/** The real process's streams and environment. A closed stdout (`| head`) ends the run quietly. */
export function processIO(): CliIO {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
}

/** Entry point for the launcher (bin/minilm.js) and `tsx src/cli/main.ts`. */
export async function runFromProcess(): Promise<void> {
  process.exitCode = await main(process.argv.slice(2), processIO());
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void runFromProcess();
}
