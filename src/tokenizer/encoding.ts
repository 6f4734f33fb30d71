/**
 * What the tokenizer hands to the model: the Encoding of one text, the padded BatchEncoding of
 * several, and the two last steps that build them.
 *
 *   template + truncation   [CLS] + the first (maxLength - 2) content tokens + [SEP]. This is
 *                           what the reference does with truncation "LongestFirst" on a single
 *                           text: for maxLength 256 it keeps 254 content tokens, so the result is
 *                           the first 255 ids of the untruncated encoding followed by [SEP].
 *   padding                 every row of a batch right-padded to the longest row with [PAD],
 *                           attention mask 1 on real tokens and 0 on padding.
 */

export interface Encoding {
  /** With [CLS]/[SEP], truncated to maxLength. */
  ids: number[];
  /** Token strings, same length as ids. */
  tokens: string[];
  /** [start, end) UTF-16 indices into the input; [0, 0] for the [CLS]/[SEP] of the template. */
  offsets: Array<[number, number]>;
  /** All 1 for a single encoding. */
  attentionMask: number[];
  /** All 0: one segment. */
  tokenTypeIds: number[];
  /** Token count before truncation, specials included. */
  untruncatedLength: number;
}

/** [batch, longest row] each, right-padded with [PAD] and mask 0. */
export interface BatchEncoding {
  inputIds: number[][];
  attentionMask: number[][];
  tokenTypeIds: number[][];
}

/**
 * Receives the content tokens of one text in order, keeps the first `limit` and counts them all.
 * Keeping only what survives truncation bounds memory by maxLength, whatever the input length.
 */
export class TokenCollector {
  readonly ids: number[] = [];
  /** [ids.length] start offsets, filled only when offsets are wanted. */
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  /** Every token seen, kept or not. */
  count = 0;

  constructor(
    readonly limit: number,
    readonly wantOffsets: boolean,
  ) {}

  add(id: number, start: number, end: number): void {
    if (this.count < this.limit) {
      this.ids.push(id);
      if (this.wantOffsets) {
        this.starts.push(start);
        this.ends.push(end);
      }
    }
    this.count++;
  }
}

/** Right-pads id rows into a batch. */
export function padBatch(rows: number[][], padId: number): BatchEncoding {
  let longest = 0;
  for (const row of rows) longest = Math.max(longest, row.length);
  const inputIds: number[][] = [];
  const attentionMask: number[][] = [];
  const tokenTypeIds: number[][] = [];
  for (const row of rows) {
    const ids = new Array<number>(longest).fill(padId);
    const mask = new Array<number>(longest).fill(0);
    for (let t = 0; t < row.length; t++) {
      ids[t] = row[t]!;
      mask[t] = 1;
    }
    inputIds.push(ids);
    attentionMask.push(mask);
    tokenTypeIds.push(new Array<number>(longest).fill(0));
  }
  return { inputIds, attentionMask, tokenTypeIds };
}
