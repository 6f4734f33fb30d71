/**
 * A smoke script that runs under Deno, Bun and Node: load a checkpoint from files, embed some
 * texts, print the embeddings' float32 bit patterns as JSON on stdout.
 *
 *   deno run --allow-read test/runtimes/embed-script.ts <args>
 *   bun test/runtimes/embed-script.ts <args>
 *
 * args: --weights FILE --config FILE --vocab FILE --texts JSON [--entry source|bundle]
 *   --entry source   imports src/index.ts (each runtime compiles the TypeScript itself)
 *   --entry bundle   imports the browser bundle minilm.browser.js from --bundle FILE (absolute path)
 *
 * Files are read with each runtime's own API (Deno.readFile, Bun.file, node:fs as a fallback),
 * and the library only ever sees bytes and strings: the same path a Cloudflare Worker or a
 * browser takes. Used by test/runtimes/deno-bun.test.ts; the output is compared with Node's.
 */

interface DenoApi {
  version: { deno: string };
  args: string[];
  readFile(path: string): Promise<Uint8Array>;
  readTextFile(path: string): Promise<string>;
}
interface BunApi {
  version: string;
  file(path: string): { arrayBuffer(): Promise<ArrayBuffer>; text(): Promise<string> };
}

const runtime = globalThis as unknown as { Deno?: DenoApi; Bun?: BunApi; process?: { argv: string[]; versions: { node: string } } };

function commandLine(): string[] {
  if (runtime.Deno) return runtime.Deno.args;
  return runtime.process?.argv.slice(2) ?? [];
}

function runtimeName(): string {
  if (runtime.Deno) return `deno ${runtime.Deno.version.deno}`;
  if (runtime.Bun) return `bun ${runtime.Bun.version}`;
  return `node ${runtime.process?.versions.node ?? '?'}`;
}

async function readBytes(path: string): Promise<Uint8Array> {
  if (runtime.Deno) return runtime.Deno.readFile(path);
  if (runtime.Bun) return new Uint8Array(await runtime.Bun.file(path).arrayBuffer());
  const fs = (await import('node:fs/promises')) as { readFile(path: string): Promise<Uint8Array> };
  return new Uint8Array(await fs.readFile(path));
}

async function readText(path: string): Promise<string> {
  return new TextDecoder().decode(await readBytes(path));
}

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? undefined : args[at + 1];
}

interface Library {
  SentenceEncoder: {
    fromParts(parts: { config: unknown; weights: Uint8Array; vocab: string }): { embed(texts: string[]): Promise<Float32Array[]> };
  };
}

async function main(): Promise<void> {
  const args = commandLine();
  const required = (name: string): string => {
    const value = option(args, name);
    if (value === undefined) throw new Error(`embed-script: --${name} is required`);
    return value;
  };
  const entry = option(args, 'entry') ?? 'source';
  // --bundle is an absolute path (the test passes one).
  const specifier = entry === 'bundle' ? `file://${required('bundle')}` : new URL('../../src/index.ts', import.meta.url).href;
  const library = (await import(specifier)) as Library;
  const [weights, configText, vocab] = await Promise.all([
    readBytes(required('weights')),
    readText(required('config')),
    readText(required('vocab')),
  ]);
  const texts = JSON.parse(required('texts')) as string[];
  const encoder = library.SentenceEncoder.fromParts({ config: JSON.parse(configText), weights, vocab });
  const embeddings = await encoder.embed(texts);
  const bits = embeddings.map((row) => Array.from(new Uint32Array(row.buffer, row.byteOffset, row.length)));
  console.log(JSON.stringify({ runtime: runtimeName(), entry, bits }));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
  const exit = (runtime.Deno as unknown as { exit?: (code: number) => never } | undefined)?.exit;
  if (exit) exit(1);
  (runtime.process as unknown as { exitCode: number }).exitCode = 1;
});
