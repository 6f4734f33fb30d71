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
 * we run all four on one code point before moving to the next, in a single pass. The result
 * keeps, for every output code unit, the index in the original string of the character it came
 * from: that is how tokens get their offsets.
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

const SPACE = 0x20;
const REPLACEMENT_CHARACTER = 0xFFFD;

export class BertNormalizer {
  readonly options: Readonly<NormalizerOptions>;
  /** Steps 3 and 4 for BMP code points above ASCII, computed once per code point seen. */
  private readonly mappingCache = new Map<number, string>();

  constructor(options: NormalizerOptions) {
    this.options = { ...options };
  }

  /**
   * Normalises input[start, end). `origins` are indices into `input` itself.
   *
   *   new BertNormalizer(allOn).normalize('Héllo 世界').text === 'hello  世  界 '
   */
  normalize(input: string, start = 0, end = input.length): NormalizedText {
    const { cleanText, handleChineseChars } = this.options;
    const out = new CodeUnitWriter(end - start);
    for (let i = start; i < end; ) {
      let cp = codePointAt(input, i, end);
      const origin = i;
      i += codePointWidth(cp);
      if (cp >= 0xD800 && cp <= 0xDFFF) cp = REPLACEMENT_CHARACTER; // a lone surrogate

      const cls = charClass(cp);
      if (cleanText) {
        if (cp === 0 || cp === REPLACEMENT_CHARACTER || (cls & CONTROL) !== 0) continue;
        if ((cls & WHITESPACE) !== 0) {
          out.push(SPACE, origin);
          continue;
        }
      }
      const spaced = handleChineseChars && (cls & CJK_IDEOGRAPH) !== 0;
      if (spaced) out.push(SPACE, origin);
      this.writeMapped(cp, origin, out);
      if (spaced) out.push(SPACE, origin);
    }
    return out.finish();
  }

  /** Steps 3 and 4 (strip accents, lowercase) for one code point. */
  private writeMapped(cp: number, origin: number, out: CodeUnitWriter): void {
    const { stripAccents, lowercase } = this.options;
    if (cp < 0x80) {
      // Fast path for ASCII: no decompositions, and lowercase is A–Z → a–z.
      out.push(lowercase && cp >= 0x41 && cp <= 0x5A ? cp + 0x20 : cp, origin);
      return;
    }
    if (!stripAccents && !lowercase) {
      out.pushCodePoint(cp, origin);
      return;
    }
    let mapped = cp < 0x10000 ? this.mappingCache.get(cp) : undefined;
    if (mapped === undefined) {
      mapped = mapCodePoint(cp, stripAccents, lowercase);
      // Only the BMP is cached: at most 65,536 entries, whatever the input.
      if (cp < 0x10000) this.mappingCache.set(cp, mapped);
    }
    for (let k = 0; k < mapped.length; k++) out.push(mapped.charCodeAt(k), origin);
  }
}

/** Strip accents (NFD, drop Mn) then lowercase each resulting code point, for one code point. */
export function mapCodePoint(cp: number, stripAccents: boolean, lowercase: boolean): string {
  let chars = String.fromCodePoint(cp);
  if (stripAccents) {
    let kept = '';
    for (const c of chars.normalize('NFD')) {
      if ((charClass(c.codePointAt(0)!) & NONSPACING_MARK) === 0) kept += c;
    }
    chars = kept;
  }
  if (lowercase) {
    let lowered = '';
    // Per code point: `toLowerCase` on a whole string would apply the final-sigma rule.
    for (const c of chars) lowered += c.toLowerCase();
    chars = lowered;
  }
  return chars;
}

/**
 * A growable buffer of UTF-16 code units with their origins. Growing by doubling keeps the total
 * copying linear; the final string is built in chunks, because passing a huge array as
 * arguments to String.fromCharCode would overflow the stack.
 */
class CodeUnitWriter {
  private units: Uint16Array; // [capacity]
  private origins: Int32Array; // [capacity]
  private length = 0;

  constructor(expectedLength: number) {
    const capacity = Math.max(16, expectedLength + (expectedLength >> 3));
    this.units = new Uint16Array(capacity);
    this.origins = new Int32Array(capacity);
  }

  push(unit: number, origin: number): void {
    if (this.length === this.units.length) this.grow();
    this.units[this.length] = unit;
    this.origins[this.length] = origin;
    this.length++;
  }

  pushCodePoint(cp: number, origin: number): void {
    if (cp < 0x10000) {
      this.push(cp, origin);
    } else {
      this.push(0xD800 + ((cp - 0x10000) >> 10), origin);
      this.push(0xDC00 + ((cp - 0x10000) & 0x3FF), origin);
    }
  }

  finish(): NormalizedText {
    const CHUNK = 8192;
    const parts: string[] = [];
    for (let i = 0; i < this.length; i += CHUNK) {
      const chunk = this.units.subarray(i, Math.min(i + CHUNK, this.length));
      parts.push(String.fromCharCode.apply(null, chunk as unknown as number[]));
    }
    return { text: parts.join(''), origins: this.origins.subarray(0, this.length) };
  }

  private grow(): void {
    const units = new Uint16Array(this.units.length * 2);
    units.set(this.units);
    this.units = units;
    const origins = new Int32Array(this.origins.length * 2);
    origins.set(this.origins);
    this.origins = origins;
  }
}
