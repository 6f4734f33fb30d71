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
 * Aho–Corasick in leftmost-longest mode). We scan once, and try the tokens only at positions
 * holding one of their first characters, which keeps the scan linear.
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
  /** First UTF-16 code units of the tokens: a position holding none of these cannot match. */
  private readonly firstUnits: Set<number>;

  constructor(tokens: readonly SpecialToken[]) {
    // Longest first, so the first match found at a position is the longest one.
    this.tokens = tokens.filter((t) => t.content.length > 0).sort((a, b) => b.content.length - a.content.length);
    this.firstUnits = new Set(this.tokens.map((t) => t.content.charCodeAt(0)));
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
    let textStart = 0;
    if (this.tokens.length > 0) {
      for (let i = 0; i < text.length; i++) {
        if (!this.firstUnits.has(text.charCodeAt(i))) continue;
        const match = this.tokens.find((t) => text.startsWith(t.content, i));
        if (match === undefined) continue;
        if (i > textStart) onText(textStart, i);
        onSpecial(match.id, i, i + match.content.length);
        textStart = i + match.content.length;
        i = textStart - 1; // the loop's i++ moves to textStart
      }
    }
    if (text.length > textStart) onText(textStart, text.length);
  }
}
