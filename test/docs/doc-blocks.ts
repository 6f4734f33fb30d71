/**
 * Reading a Markdown document as something to run: its fenced code blocks, the commands in its
 * ```sh blocks, and a comparison of printed output with the ```text output block that follows.
 *
 * Conventions of the docs:
 *   ```sh / ```bash        one command per line (# comments and blank lines skipped); each is run
 *   ```ts runnable         a complete program, run from the repository root
 *   ```text output         what the block just before it prints (stdout), compared line by line
 *
 * Output comparison: lines and words must match, except that numbers with decimals or an exponent
 * may differ by one unit of the last digit printed in the document (0.27 accepts 0.26 to 0.28,
 * 2.28e-7 accepts 2.27e-7 to 2.29e-7): a document claims them only to the precision it prints.
 * Integers (counts, ids, byte sizes) must be exact.
 */

export interface CodeBlock {
  /** First word of the info string ('ts', 'sh', 'text', …). */
  language: string;
  /** The rest of the info string ('runnable', 'output', …). */
  tags: string[];
  content: string;
  /** 1-based line of the opening fence. */
  line: number;
}

/** Every fenced (```) block, in document order. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*(.*)$/.exec(lines[i]!);
    if (open === null) continue;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !/^```\s*$/.test(lines[j]!)) body.push(lines[j++]!);
    if (j === lines.length) throw new Error(`code block opened at line ${i + 1} is never closed`);
    blocks.push({ language: open[1]!, tags: open[2]!.split(/\s+/).filter((t) => t !== ''), content: body.join('\n'), line: i + 1 });
    i = j;
  }
  return blocks;
}

/** The commands of a shell block: non-empty lines that are not comments. */
export function shellCommands(block: CodeBlock): string[] {
  return block.content.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

/** Splits a command line into words like a POSIX shell: '…' and "…" quoting, \ escapes. No expansions. */
export function shellWords(command: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unclosed ' in: ${command}`);
      word += command.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < command.length && command[j] !== '"'; j++) {
        if (command[j] === '\\' && '"\\$`'.includes(command[j + 1] ?? '')) j++;
        word += command[j];
      }
      if (j >= command.length) throw new Error(`unclosed " in: ${command}`);
      inWord = true;
      i = j;
    } else if (c === '\\') {
      word += command[++i] ?? '';
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if ('|&;<>()$`*?'.includes(c)) {
      throw new Error(`shell syntax "${c}" is not supported in documented commands: ${command}`);
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

const NUMBER = /^[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?:e([-+]?\d+))?$/i;

/** One unit of the last digit of a number as written ('0.27' → 0.01, '2.28e-7' → 1e-9); 0 for integers ('1,536'). */
function lastDigitUnit(token: string): number {
  const match = NUMBER.exec(token)!;
  if (match[1] === undefined && match[2] === undefined) return 0;
  const decimals = match[1]?.length ?? 0;
  const exponent = match[2] === undefined ? 0 : Number(match[2]);
  return 10 ** (exponent - decimals);
}

function parseNumber(token: string): number {
  return Number(token.replace(/,/g, ''));
}

/** Where `actual` output departs from the `expected` document block, or null when it does not. */
export function outputMismatch(expected: string, actual: string): string | null {
  const expectedLines = expected.replace(/\s+$/, '').split('\n');
  const actualLines = actual.replace(/\s+$/, '').split('\n');
  for (let i = 0; i < Math.max(expectedLines.length, actualLines.length); i++) {
    const want = expectedLines[i];
    const got = actualLines[i];
    if (want === undefined || got === undefined) {
      return `line ${i + 1}: ${want === undefined ? `unexpected extra output: ${got}` : `missing, expected: ${want}`}`;
    }
    const wantWords = want.trim().split(/\s+/);
    const gotWords = got.trim().split(/\s+/);
    const problem = `line ${i + 1}:\n  expected: ${want}\n  actual:   ${got}`;
    if (wantWords.length !== gotWords.length) return problem;
    for (let k = 0; k < wantWords.length; k++) {
      const w = wantWords[k]!;
      const g = gotWords[k]!;
      if (w === g) continue;
      if (!NUMBER.test(w) || !NUMBER.test(g)) return problem;
      if (Math.abs(parseNumber(w) - parseNumber(g)) > lastDigitUnit(w) * 1.000001) return `${problem}\n  (${g} is not ${w} to the precision printed)`;
    }
  }
  return null;
}

/** Relative links of a Markdown document: [text](target), without http(s) or #anchors. */
export function relativeLinks(markdown: string): Array<{ text: string; target: string }> {
  const links: Array<{ text: string; target: string }> = [];
  for (const match of markdown.matchAll(/!?\[([^\]]*)\]\(([^)\s]+)\)/g)) {
    const target = match[2]!;
    if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
    links.push({ text: match[1]!, target: target.replace(/#.*$/, '') });
  }
  return links;
}
