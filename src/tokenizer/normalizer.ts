/**
 * The BERT normaliser, as the reference (Hugging Face `tokenizers`, normalizers/bert.rs) runs it.
 * Four steps, each optional, applied in this order:
 *
 *   1. clean text     delete U+0000, U+FFFD and control/format/private-use characters (Unicode 8.0
 *                     Cc, Cf, Co, but not \t \n \r); map every whitespace character to ' '.
 *   2. CJK spacing    put a space before and after each CJK ideograph, so each becomes its own word.
 *   3. strip accents  canonical decomposition (NFD), then drop nonspacing marks (Unicode 8.0 Mn):
 *                     'é' → 'e' + U+0301 → 'e'.
 *   4. lowercase      one code point at a time, so there is no final-sigma rule: 'Σ' → 'σ' always.
 *
 * For all-MiniLM-L6-v2 all four are on (strip_accents is null in tokenizer.json, which means
 * "same as lowercase").
 *
 * Each step maps one character to zero or more characters, independently of its neighbours, so
 * all four together are a function of one code point, `normalizeCodePoint`, applied in a single
 * pass. The result keeps, for every output code unit, the index in the original string of the
 * character it came from: that is how tokens get their offsets.
 *
 * Speed: most characters come out unchanged, so the output is built from slices of the input
 * (one per run of unchanged characters) and the replacements in between; a code point's
 * replacement is computed once and cached (ASCII in a table, the others in a bounded Map).
 *
 * Lone surrogates: the reference receives text as UTF-8, where a lone surrogate cannot exist;
 * its Node binding turns each into U+FFFD, which step 1 deletes. We do the same.
 *
 * Left out on purpose: NFD's canonical reordering of consecutive combining marks. Marks that
 * survive step 3 are either spacing marks or characters unknown to Unicode 8.0; none is in the
 * vocabulary, so any word holding one becomes [UNK] whatever their order, and ids cannot change.
 * NFD and lowercase mappings come from the JavaScript engine's (newer) Unicode, like the
 * reference's, which uses the Rust standard library's lowercase and a normalisation crate.
 */
import { CJK_IDEOGRAPH, CONTROL, NONSPACING_MARK, WHITESPACE, charClass } from './char-classes.ts';
import { codePointAt, codePointWidth } from './utf16.ts';

export interface NormalizerOptions {
  /** Delete control characters and map whitespace to ' '. */
  cleanText: boolean;
  /** Surround CJK ideographs with spaces. */
  handleChineseChars: boolean;
  /** NFD, then drop nonspacing marks. */
  stripAccents: boolean;
  /** Lowercase, one code point at a time. */
  lowercase: boolean;
}

/** Normalised text, with where each of its code units came from. */
export interface NormalizedText {
  text: string;
  /** [text.length] index in the original string of the character each code unit came from. */
  origins: Int32Array;
}

const REPLACEMENT_CHARACTER = 0xFFFD;
/** Most code points a normaliser remembers the replacement of (a few MB at most). */
const CACHE_LIMIT = 1 << 16;

/**
 * The four steps applied to one code point: what it becomes, or null if it comes out unchanged.
 * A lone surrogate (0xD800–0xDFFF) is treated as U+FFFD, as the reference receives it.
 *
 *   normalizeCodePoint(0x41, allOn)   === 'a'
 *   normalizeCodePoint(0xE9, allOn)   === 'e'        é: NFD 'e' U+0301, mark dropped
 *   normalizeCodePoint(0x4E16, allOn) === ' 世 '
 *   normalizeCodePoint(0x0C, allOn)   === ''         form feed: a control character, deleted
 *   normalizeCodePoint(0x61, allOn)   === null
 */
export function normalizeCodePoint(cp: number, options: NormalizerOptions): string | null {
  const original = String.fromCodePoint(cp);
  if (cp >= 0xD800 && cp <= 0xDFFF) cp = REPLACEMENT_CHARACTER;
  const cls = charClass(cp);
  if (options.cleanText) {
    if (cp === 0 || cp === REPLACEMENT_CHARACTER || (cls & CONTROL) !== 0) return '';
    if ((cls & WHITESPACE) !== 0) return original === ' ' ? null : ' ';
  }
  let chars = String.fromCodePoint(cp);
  if (options.stripAccents) {
    let kept = '';
    for (const c of chars.normalize('NFD')) {
      if ((charClass(c.codePointAt(0)!) & NONSPACING_MARK) === 0) kept += c;
    }
    chars = kept;
  }
  if (options.lowercase) {
    let lowered = '';
    // Per code point: `toLowerCase` on a whole string would apply the final-sigma rule.
    for (const c of chars) lowered += c.toLowerCase();
    chars = lowered;
  }
  // The class of the character before NFD decides, as in the reference (spacing comes first).
  if (options.handleChineseChars && (cls & CJK_IDEOGRAPH) !== 0) chars = ' ' + chars + ' ';
  return chars === original ? null : chars;
}

export class BertNormalizer {
  readonly options: Readonly<NormalizerOptions>;
  /** [128] normalizeCodePoint of each ASCII code point. */
  private readonly asciiReplacements: Array<string | null>;
  /** normalizeCodePoint of the other code points seen so far, up to CACHE_LIMIT of them. */
  private readonly replacements = new Map<number, string | null>();
  /** Scratch buffer for the origins, reused from call to call. */
  private readonly origins = new OriginWriter();

  constructor(options: NormalizerOptions) {
    this.options = { ...options };
    this.asciiReplacements = Array.from({ length: 0x80 }, (_, cp) => normalizeCodePoint(cp, this.options));
  }

  /**
   * Normalises input[start, end). `origins` are indices into `input` itself.
   *
   *   new BertNormalizer(allOn).normalize('Héllo 世界').text === 'hello  世  界 '
   */
  normalize(input: string, start = 0, end = input.length): NormalizedText {
    const origins = this.origins;
    origins.reset(end - start);
    const text = new TextBuilder();
    let copyFrom = start; // input[copyFrom, i) is unchanged so far: it will be copied as one slice
    for (let i = start; i < end; ) {
      const cp = codePointAt(input, i, end);
      const origin = i;
      const width = codePointWidth(cp);
      i += width;
      const replacement = this.replacementOf(cp);
      if (replacement === null) {
        origins.push(origin, width);
        continue;
      }
      if (origin > copyFrom) text.append(input.slice(copyFrom, origin));
      if (replacement.length > 0) {
        text.append(replacement);
        origins.push(origin, replacement.length);
      }
      copyFrom = i;
    }
    if (end > copyFrom) text.append(input.slice(copyFrom, end));
    return { text: text.finish(), origins: origins.finish() };
  }

  /** normalizeCodePoint, cached. */
  private replacementOf(cp: number): string | null {
    if (cp < 0x80) return this.asciiReplacements[cp]!;
    let replacement = this.replacements.get(cp);
    if (replacement === undefined) {
      replacement = normalizeCodePoint(cp, this.options);
      // Bounded, so that text full of distinct rare characters cannot grow the cache forever.
      if (this.replacements.size < CACHE_LIMIT) this.replacements.set(cp, replacement);
    }
    return replacement;
  }
}

/**
 * Collects strings to concatenate. Joining everything at the end is linear, but a text with a
 * change at every character would hold one array slot per character; joining every 4096 parts
 * into a chunk keeps that array small.
 */
class TextBuilder {
  private readonly chunks: string[] = [];
  private readonly parts: string[] = [];

  append(part: string): void {
    this.parts.push(part);
    if (this.parts.length === 4096) {
      this.chunks.push(this.parts.join(''));
      this.parts.length = 0;
    }
  }

  finish(): string {
    if (this.chunks.length === 0) return this.parts.join('');
    this.chunks.push(this.parts.join(''));
    return this.chunks.join('');
  }
}

/**
 * A growable Int32Array of origins. Short texts (the usual case) use one scratch buffer, reused
 * from call to call because allocating typed arrays for every sentence is slow, and get a copy
 * of it. A long text gets a buffer of its own, handed over without copying. Growing by
 * doubling keeps the total copying linear.
 */
class OriginWriter {
  private static readonly SCRATCH_SIZE = 1 << 16;
  private readonly scratch = new Int32Array(OriginWriter.SCRATCH_SIZE);
  private buffer = this.scratch; // [capacity]
  private length = 0;

  /** Empties the writer, making room for about `expectedLength` entries. */
  reset(expectedLength: number): void {
    this.length = 0;
    this.buffer = expectedLength <= this.scratch.length ? this.scratch : new Int32Array(expectedLength + (expectedLength >> 3));
  }

  /** Appends `origin` `count` times. */
  push(origin: number, count: number): void {
    while (this.length + count > this.buffer.length) {
      const bigger = new Int32Array(this.buffer.length * 2);
      bigger.set(this.buffer.subarray(0, this.length));
      this.buffer = bigger;
    }
    for (let k = 0; k < count; k++) this.buffer[this.length++] = origin;
  }

  /** The origins written: a copy of the scratch buffer, or the long text's own buffer. */
  finish(): Int32Array {
    const own = this.buffer !== this.scratch;
    const origins = own ? this.buffer.subarray(0, this.length) : this.scratch.slice(0, this.length);
    this.buffer = this.scratch;
    return origins;
  }
}
