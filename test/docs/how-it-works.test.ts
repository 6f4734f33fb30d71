/**
 * docs/how-it-works.md, run: every command of its ```sh blocks and every ```ts runnable program is
 * executed (commands through bin/minilm.js, programs through tsx, both from the repository root),
 * and what they print must match the ```text output block after them, to the precision printed.
 * Also: every relative link points at a file that exists, a link whose text names a function
 * points at a file that defines that name, and every anchor link points at a heading.
 *
 * The synthetic checkpoint used by `--synthetic` is written once into a temporary cache.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeBlocks, outputMismatch, relativeLinks, shellCommands, shellWords, type CodeBlock } from './doc-blocks.ts';

const REPOSITORY = fileURLToPath(new URL('../../', import.meta.url));
const DOCS = join(REPOSITORY, 'docs');
const DOCUMENT = join(DOCS, 'how-it-works.md');
const markdown = readFileSync(DOCUMENT, 'utf8');
const blocks = codeBlocks(markdown);

let scratch = '';
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'minilm-docs-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(
      file,
      args,
      {
        cwd: REPOSITORY,
        env: { ...process.env, MINILM_CACHE: join(scratch, 'cache'), HF_HUB_OFFLINE: '1', NO_COLOR: '1' },
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** `minilm …` as this repository runs it: node bin/minilm.js …. */
function runCommand(command: string): Promise<Run> {
  const [program, ...args] = shellWords(command);
  if (program !== 'minilm') throw new Error(`the doc test only runs minilm commands, not: ${command}`);
  return run(process.execPath, [join(REPOSITORY, 'bin', 'minilm.js'), ...args]);
}

/** A program block saved as a module outside the repository, its ./src imports pointed back in. */
async function runProgram(block: CodeBlock): Promise<Run> {
  const source = block.content.replace(/(from\s+['"])\.\/src\//g, `$1${pathToFileURL(join(REPOSITORY, 'src')).href}/`);
  const file = join(scratch, `block-line-${block.line}.mts`);
  await writeFile(file, source);
  return run(process.execPath, [join(REPOSITORY, 'node_modules', 'tsx', 'dist', 'cli.mjs'), file]);
}

function label(block: CodeBlock): string {
  const firstLine = block.content.split('\n').find((l) => l.trim() !== '' && !l.startsWith('import')) ?? '';
  return `line ${block.line}: ${firstLine.trim().slice(0, 70)}`;
}

describe('docs/how-it-works.md runs', () => {
  const runnable = blocks.filter((b) => b.language === 'sh' || b.language === 'bash' || (b.language === 'ts' && b.tags.includes('runnable')));

  it('has commands and programs to run, each output block right after one', () => {
    expect(runnable.filter((b) => b.language === 'ts').length).toBeGreaterThanOrEqual(5);
    expect(runnable.filter((b) => b.language !== 'ts').length).toBeGreaterThanOrEqual(2);
    blocks.forEach((block, i) => {
      if (block.language === 'text' && block.tags.includes('output')) {
        expect(runnable, `output block at line ${block.line} follows no runnable block`).toContain(blocks[i - 1]);
      }
    });
  });

  for (const block of runnable) {
    const index = blocks.indexOf(block);
    const next = blocks[index + 1];
    const expected = next !== undefined && next.language === 'text' && next.tags.includes('output') ? next.content : undefined;
    it(label(block), async () => {
      let stdout = '';
      if (block.language === 'ts') {
        const result = await runProgram(block);
        expect(result.code, `the program failed:\n${result.stderr}`).toBe(0);
        stdout = result.stdout;
      } else {
        for (const command of shellCommands(block)) {
          const result = await runCommand(command);
          expect(result.code, `${command} failed:\n${result.stderr}`).toBe(0);
          stdout += result.stdout;
        }
      }
      if (expected !== undefined) {
        const mismatch = outputMismatch(expected, stdout);
        expect(mismatch, `the output differs from the document at ${mismatch}\n--- actual output:\n${stdout}`).toBeNull();
      }
    });
  }
});

describe('docs link to what exists', () => {
  for (const name of ['how-it-works.md', 'reading-order.md']) {
    const text = readFileSync(join(DOCS, name), 'utf8');

    it(`${name}: relative links point at files, and named functions are defined there`, () => {
      const links = relativeLinks(text);
      expect(links.length).toBeGreaterThan(5);
      for (const { text: linkText, target } of links) {
        const path = resolve(DOCS, decodeURIComponent(target));
        expect(existsSync(path), `${name}: link [${linkText}](${target}) points at nothing`).toBe(true);
        // [`BertNormalizer.normalize`](file) must name things the file defines or mentions.
        const code = /^`([A-Za-z_$][\w$.]*)`$/.exec(linkText);
        if (code !== null && /\.tsx?$/.test(path)) {
          const source = readFileSync(path, 'utf8');
          for (const part of code[1]!.split('.')) {
            expect(new RegExp(`\\b${part.replace('$', '\\$')}\\b`).test(source), `${name}: ${target} does not contain ${part}`).toBe(true);
          }
        }
      }
    });

    it(`${name}: anchor links point at headings`, () => {
      const anchors = new Set(
        [...text.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) =>
          m[1]!.trim().toLowerCase().replace(/`/g, '').replace(/[^\p{L}\p{N}\s-]/gu, '').replace(/\s/g, '-'),
        ),
      );
      for (const match of text.matchAll(/\]\(#([^)]+)\)/g)) {
        expect(anchors.has(match[1]!), `${name}: no heading for #${match[1]}`).toBe(true);
      }
    });
  }

  it('every image the document shows is committed', () => {
    const images = [...markdown.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]!);
    expect(images.length).toBeGreaterThanOrEqual(4);
    for (const image of images) expect(existsSync(resolve(dirname(DOCUMENT), image)), image).toBe(true);
  });
});
