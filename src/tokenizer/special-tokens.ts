/**
 * Special tokens written in the raw text. The reference (Hugging Face `tokenizers`,
 * added_vocabulary.rs) looks for its added tokens ([PAD] [UNK] [CLS] [SEP] [MASK]) in the input
 * BEFORE normalisation, case-sensitively, and cuts the text around them; only the pieces between
 * them are normalised and split into words.
 *
 *   'hello[MASK] world' → text 'hello', special [MASK], text ' world'
 *   '[mask]'            → no match (case matters): normalised and split as '[' 'mask' ']'
 *
 * Where several could match, the leftmost wins, then the longest (the reference uses
 * Aho–Corasick in leftmost-longest mode). We jump with indexOf from one occurrence of a
 * token's first character to the next and try the tokens only there, which keeps it linear.
 *
 * Left out: the added-token options lstrip, rstrip, single_word and normalized: true. BERT's
 * special tokens use none of them; tokenizer-json.ts refuses files that ask for them.
 */

export interface SpecialToken {
  content: string;
  id: number;
}

export class SpecialTokenSplitter {
  readonly tokens: readonly SpecialToken[];
  /** The distinct first characters of the tokens ('[' for BERT): only these can start a match. */
  private readonly firstChars: string[];

  constructor(tokens: readonly SpecialToken[]) {
    // Longest first, so the first match found at a position is the longest one.
    this.tokens = tokens.filter((t) => t.content.length > 0).sort((a, b) => b.content.length - a.content.length);
    this.firstChars = [...new Set(this.tokens.map((t) => t.content[0]!))];
  }

  /**
   * Walks text from left to right, calling `onText(start, end)` for each non-empty stretch of
   * ordinary text and `onSpecial(id, start, end)` for each special token found.
   */
  split(
    text: string,
    onText: (start: number, end: number) => void,
    onSpecial: (id: number, start: number, end: number) => void,
  ): void {
    // next[k]: the next index >= `from` holding firstChars[k], or -1. Each only moves forward,
    // so all the indexOf calls together read the text once per distinct first character.
    const next = this.firstChars.map((c) => text.indexOf(c));
    let textStart = 0;
    let from = 0;
    for (;;) {
      let candidate = -1;
      for (let k = 0; k < next.length; k++) {
        if (next[k]! >= 0 && next[k]! < from) next[k] = text.indexOf(this.firstChars[k]!, from);
        if (next[k]! >= 0 && (candidate < 0 || next[k]! < candidate)) candidate = next[k]!;
      }
      if (candidate < 0) break;
      const match = this.tokens.find((t) => text.startsWith(t.content, candidate));
      if (match === undefined) {
        from = candidate + 1;
        continue;
      }
      if (candidate > textStart) onText(textStart, candidate);
      onSpecial(match.id, candidate, candidate + match.content.length);
      textStart = from = candidate + match.content.length;
    }
    if (text.length > textStart) onText(textStart, text.length);
  }
}
