/**
 * The functions that run the documentation: code blocks are found with their tags, shell words are
 * split like a shell would, and the output comparison accepts exactly one unit of the last printed
 * digit, no more.
 */
import { describe, expect, it } from 'vitest';
import { codeBlocks, outputMismatch, relativeLinks, shellCommands, shellWords } from './doc-blocks.ts';

describe('codeBlocks', () => {
  it('finds fenced blocks with their language, tags and line', () => {
    const doc = 'text\n```sh\n# a comment\nminilm trace "x"\n\n```\nmore\n```ts runnable\nconsole.log(1);\n```\n```text output\n1\n```\n';
    const blocks = codeBlocks(doc);
    expect(blocks.map((b) => [b.language, b.tags, b.line])).toEqual([['sh', [], 2], ['ts', ['runnable'], 8], ['text', ['output'], 11]]);
    expect(shellCommands(blocks[0]!)).toEqual(['minilm trace "x"']);
    expect(blocks[1]!.content).toBe('console.log(1);');
  });

  it('refuses an unclosed block', () => {
    expect(() => codeBlocks('```sh\nminilm trace x\n')).toThrow(/line 1 is never closed/);
  });
});

describe('shellWords', () => {
  it('splits on blanks and honours quotes and escapes', () => {
    expect(shellWords(`minilm trace --synthetic "Hello world!"`)).toEqual(['minilm', 'trace', '--synthetic', 'Hello world!']);
    expect(shellWords(`minilm trace 'it''s' "a \\"b\\"" c\\ d ""`)).toEqual(['minilm', 'trace', 'its', 'a "b"', 'c d', '']);
  });

  it('refuses shell syntax it would silently mistreat', () => {
    expect(() => shellWords('minilm trace x > out.json')).toThrow(/not supported/);
    expect(() => shellWords('minilm trace "x')).toThrow(/unclosed/);
  });
});

describe('outputMismatch', () => {
  const expected = 'layer 1  2.28e-7  1e-4  ok\nL = 12 tokens, 21,233,664 FLOP, std 0.9968';
  it('accepts the same text with other spacing, and decimals one last-digit unit away', () => {
    expect(outputMismatch(expected, expected)).toBeNull();
    expect(outputMismatch(expected, 'layer 1    2.29e-7 1e-4 ok\nL = 12 tokens, 21,233,664 FLOP, std 0.9967\n')).toBeNull();
  });

  it('rejects decimals further off, any other integer, changed words, and missing or extra lines', () => {
    expect(outputMismatch(expected, expected.replace('2.28e-7', '2.30e-7'))).toMatch(/line 1/);
    expect(outputMismatch(expected, expected.replace('0.9968', '0.9970'))).toMatch(/line 2/);
    expect(outputMismatch(expected, expected.replace('21,233,664', '21,233,665'))).toMatch(/line 2/);
    expect(outputMismatch(expected, expected.replace('ok', 'DIVERGES'))).toMatch(/line 1/);
    expect(outputMismatch(expected, expected.split('\n')[0]!)).toMatch(/line 2: missing/);
    expect(outputMismatch(expected, `${expected}\nextra`)).toMatch(/line 3: unexpected extra output/);
  });
});

describe('relativeLinks', () => {
  it('keeps relative targets without their anchors, and skips web and in-page links', () => {
    const doc = 'See [`linear`](../src/tensor/linear.ts#L10), [web](https://example.com), [up](#top) and ![pic](images/a.svg).';
    expect(relativeLinks(doc)).toEqual([
      { text: '`linear`', target: '../src/tensor/linear.ts' },
      { text: 'pic', target: 'images/a.svg' },
    ]);
  });
});
