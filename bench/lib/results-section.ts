/**
 * Results files that several commands share, one section each: a command rewrites the text
 * between its own `<!-- name:begin -->` and `<!-- name:end -->` markers and leaves the others'
 * results as they are (bench/SERVER-RESULTS.md, bench/PAIRED-RESULTS.md).
 */

import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Replaces section `name` of `file` with `markdown`, or appends it when absent. A file that does
 * not exist yet starts with `heading` (its title and any text above the sections).
 */
export function writeMarkedSection(file: string, heading: string, name: string, markdown: string): void {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = `${heading.trim()}\n`;
  }
  const block = `${begin}\n${markdown.trim()}\n${end}`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  text = from >= 0 && to > from ? text.slice(0, from) + block + text.slice(to + end.length) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, text);
}
