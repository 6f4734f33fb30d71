/**
 * Draws the diagrams of docs/how-it-works.md as SVG files:
 *
 *   pipeline.svg           text → tokenizer stages → embeddings → 6 layers → pooling → vector
 *   encoder-layer.svg      one BertLayer: the boxes, the weight shapes, FLOP and bytes per token
 *   attention-head.svg     one head as matrices with their shapes, P filled in from a real run
 *   attention-heatmap.svg  the 12 heads of layer 1 on the example sentence
 *
 * Run:   npm run docs:diagrams          (writes docs/images/*.svg)
 *        npx tsx scripts/make-diagrams.ts [outDir]
 *
 * Nothing in the pictures is typed by hand: the tokenizer examples come from the tokenizer, the
 * shapes, FLOP and byte counts from the all-MiniLM-L6-v2 config, and the attention probabilities
 * from a forward pass of the synthetic checkpoint (meaningless weights, real arithmetic), so the
 * pictures follow the code. The SVG is written as plain strings: rectangles, lines, text.
 * Left out: any layout engine; coordinates are computed here, for fixed font sizes.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseBertConfig, type BertConfig } from '../src/model/config.ts';
import { SentenceEncoder } from '../src/model/sentence-encoder.ts';
import { generateSyntheticCheckpoint, SYNTHETIC_FULL } from '../src/model/synthetic.ts';
import { BertNormalizer, preTokenize, type BertTokenizer } from '../src/tokenizer/index.ts';

/** The sentence every diagram follows. */
export const EXAMPLE_SENTENCE = "Héllo! Tokenization isn't hard.";

const SANS = "'DejaVu Sans', 'Helvetica Neue', Arial, sans-serif";
const MONO = "'DejaVu Sans Mono', Menlo, Consolas, monospace";
const INK = '#1f2328';
const MUTED = '#59636e';
const LINE = '#8c959f';
const TOKENIZER_FILL = '#ddf4ff';
const TOKENIZER_STROKE = '#54aeff';
const MODEL_FILL = '#fff1e5';
const MODEL_STROKE = '#fb8f44';
const POOL_FILL = '#dafbe1';
const POOL_STROKE = '#4ac26b';

// ---------------------------------------------------------------------------------------------
// SVG building blocks
// ---------------------------------------------------------------------------------------------

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A number with at most `digits` decimals, no trailing zeros: stable text for coordinates. */
function n(value: number, digits = 1): string {
  return String(Number(value.toFixed(digits)));
}

interface TextStyle {
  size?: number;
  weight?: 'bold' | 'normal';
  fill?: string;
  anchor?: 'start' | 'middle' | 'end';
  mono?: boolean;
  italic?: boolean;
  transform?: string;
}

function text(x: number, y: number, content: string, style: TextStyle = {}): string {
  const attributes = [
    `x="${n(x)}"`,
    `y="${n(y)}"`,
    `font-size="${style.size ?? 14}"`,
    style.mono ? `font-family="${MONO}"` : '',
    style.weight === 'bold' ? 'font-weight="bold"' : '',
    style.italic ? 'font-style="italic"' : '',
    `fill="${style.fill ?? INK}"`,
    style.anchor && style.anchor !== 'start' ? `text-anchor="${style.anchor}"` : '',
    style.transform ? `transform="${style.transform}"` : '',
  ].filter((a) => a !== '');
  return `<text ${attributes.join(' ')}>${escapeXml(content)}</text>`;
}

function rect(x: number, y: number, width: number, height: number, fill: string, stroke = 'none', radius = 6): string {
  const strokeAttributes = stroke === 'none' ? '' : ` stroke="${stroke}" stroke-width="1.5"`;
  return `<rect x="${n(x)}" y="${n(y)}" width="${n(width)}" height="${n(height)}" rx="${radius}" fill="${fill}"${strokeAttributes}/>`;
}

function line(x1: number, y1: number, x2: number, y2: number, options: { arrow?: boolean; color?: string; dashed?: boolean } = {}): string {
  const color = options.color ?? LINE;
  return (
    `<line x1="${n(x1)}" y1="${n(y1)}" x2="${n(x2)}" y2="${n(y2)}" stroke="${color}" stroke-width="1.5"` +
    `${options.dashed ? ' stroke-dasharray="5 4"' : ''}${options.arrow ? ' marker-end="url(#arrow)"' : ''}/>`
  );
}

function path(d: string, options: { arrow?: boolean; color?: string } = {}): string {
  return `<path d="${d}" fill="none" stroke="${options.color ?? LINE}" stroke-width="1.5"${options.arrow ? ' marker-end="url(#arrow)"' : ''}/>`;
}

function svgDocument(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${SANS}">`,
    `<title>${escapeXml(title)}</title>`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">' +
      `<path d="M 0 0 L 10 5 L 0 10 z" fill="${LINE}"/></marker></defs>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** Sequential colour scale from white to dark blue, t in [0, 1]. */
function blues(t: number): string {
  const stops = [
    [255, 255, 255],
    [198, 219, 239],
    [107, 174, 214],
    [33, 113, 181],
    [8, 48, 107],
  ];
  const clamped = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(clamped));
  const f = clamped - i;
  const channel = (c: number): string =>
    Math.round(stops[i]![c]! + (stops[i + 1]![c]! - stops[i]![c]!) * f).toString(16).padStart(2, '0');
  return `#${channel(0)}${channel(1)}${channel(2)}`;
}

/** Approximate width of text in px (for layout only). */
function textWidth(content: string, size: number, mono = false): number {
  return [...content].length * size * (mono ? 0.602 : 0.56);
}

// ---------------------------------------------------------------------------------------------
// Numbers the diagrams show
// ---------------------------------------------------------------------------------------------

/** FLOP per token and weight bytes (float32) of each part of one encoder layer. */
export function layerCosts(config: BertConfig): {
  qkv: { flop: number; bytes: number };
  attentionPerContextToken: number;
  attentionOutput: { flop: number; bytes: number };
  intermediate: { flop: number; bytes: number };
  output: { flop: number; bytes: number };
  layerNormBytes: number;
} {
  const { hiddenSize: H, intermediateSize: I } = config;
  const linearCost = (inF: number, outF: number): { flop: number; bytes: number } => ({
    flop: 2 * inF * outF, // one multiply and one add per weight, per token
    bytes: (inF * outF + outF) * 4, // weight and bias, float32
  });
  return {
    qkv: linearCost(H, 3 * H),
    // q·k for every key (2·d per head, A heads) and p·v for every key: 4·H per key
    attentionPerContextToken: 4 * H,
    attentionOutput: linearCost(H, H),
    intermediate: linearCost(H, I),
    output: linearCost(I, H),
    layerNormBytes: 2 * 2 * H * 4, // two LayerNorms, γ and β each
  };
}

interface TokenizerExample {
  normalized: string;
  words: string[];
  pieces: string[][]; // pieces of each word
  tokens: string[];
  ids: number[];
}

function tokenizerExample(tokenizer: BertTokenizer, sentence: string): TokenizerExample {
  const normalizer = new BertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true });
  const normalized = normalizer.normalize(sentence).text;
  const words = preTokenize(normalized);
  const pieces = words.map((word) => tokenizer.encode(word, { addSpecialTokens: false }).tokens);
  const encoding = tokenizer.encode(sentence);
  // The stages shown one by one must add up to what the tokenizer does in one call.
  if (pieces.flat().join(' ') !== encoding.tokens.slice(1, -1).join(' ')) {
    throw new Error('make-diagrams: the stage-by-stage tokenization differs from BertTokenizer.encode');
  }
  return { normalized, words, pieces, tokens: encoding.tokens, ids: encoding.ids };
}

/** P_h [L][L] of every head of one layer for one sentence, from a forward pass. */
async function attentionOfLayer(encoder: SentenceEncoder, ids: number[], layer: number): Promise<number[][][]> {
  const L = ids.length;
  const heads = Array.from({ length: encoder.config.numHeads }, () => Array.from({ length: L }, () => new Array<number>(L).fill(0)));
  await encoder.embedTokenIds([{ inputIds: ids }], {
    attention(l, _sequence, head, query, probs, length) {
      if (l === layer) for (let j = 0; j < length; j++) heads[head]![query]![j] = probs[j]!;
    },
  });
  return heads;
}

// ---------------------------------------------------------------------------------------------
// pipeline.svg
// ---------------------------------------------------------------------------------------------

function pipelineDiagram(example: TokenizerExample, config: BertConfig, maxSeqLength: number): string {
  const L = example.tokens.length;
  const H = config.hiddenSize;
  interface Row {
    stage: string;
    file: string;
    lines: string[];
    caption: string;
    group: 'input' | 'tokenizer' | 'model' | 'pooling';
  }
  const rows: Row[] = [
    { stage: 'input text', file: '', lines: [JSON.stringify(EXAMPLE_SENTENCE)], caption: 'a JavaScript string', group: 'input' },
    {
      stage: 'normaliser',
      file: 'src/tokenizer/normalizer.ts',
      lines: [JSON.stringify(example.normalized)],
      caption: 'clean control characters, space CJK, strip accents, lowercase',
      group: 'tokenizer',
    },
    {
      stage: 'pre-tokeniser',
      file: 'src/tokenizer/pre-tokenizer.ts',
      lines: [example.words.join(' │ ')],
      caption: 'split on whitespace; every punctuation mark is a word',
      group: 'tokenizer',
    },
    {
      stage: 'WordPiece',
      file: 'src/tokenizer/wordpiece.ts',
      lines: [example.pieces.map((p) => p.join(' ')).join(' │ ')],
      caption: `greedy longest match in the ${config.vocabSize.toLocaleString('en-US')}-token vocabulary; ## = inside a word`,
      group: 'tokenizer',
    },
    {
      stage: 'template, truncation',
      file: 'src/tokenizer/encoding.ts',
      lines: [example.tokens.join(' '), example.ids.join(' ')],
      caption: `[CLS] … [SEP], at most ${maxSeqLength} tokens; ids = line numbers in vocab.txt`,
      group: 'tokenizer',
    },
    {
      stage: 'embeddings',
      file: 'src/layers/embeddings.ts',
      lines: [`[${L}, ${H}]`],
      caption: 'word + position + token type rows, summed, then LayerNorm',
      group: 'model',
    },
    {
      stage: `${config.numLayers} × encoder layer`,
      file: 'src/layers/encoder-layer.ts',
      lines: [`[${L}, ${H}] → [${L}, ${H}]`],
      caption: 'self-attention and feed-forward, each closed by residual + LayerNorm',
      group: 'model',
    },
    {
      stage: 'mean pooling',
      file: 'src/model/pooling.ts',
      lines: [`[${H}]`],
      caption: `the average of the ${L} token vectors`,
      group: 'pooling',
    },
    {
      stage: 'L2 normalise',
      file: 'src/model/pooling.ts',
      lines: [`[${H}], ‖v‖₂ = 1`],
      caption: 'so that cosine similarity is a dot product',
      group: 'pooling',
    },
  ];

  const width = 1000;
  const boxX = 40;
  const boxWidth = 270;
  const detailX = boxX + boxWidth + 36;
  const rowGap = 26;
  const top = 64;
  const body: string[] = [];
  body.push(text(boxX, 34, 'How a sentence becomes a vector', { size: 20, weight: 'bold' }));

  const heights = rows.map((row) => Math.max(56, 26 + row.lines.length * 20 + 18));
  const ys: number[] = [];
  let y = top;
  rows.forEach((row, i) => {
    // A wider gap where one group (panel) ends and the next begins.
    if (i > 0 && rows[i - 1]!.group !== row.group) y += 14;
    ys.push(y);
    y += heights[i]! + rowGap;
  });
  const height = y - rowGap + 28;

  // Group panels behind the rows.
  const panel = (group: Row['group'], label: string, fill: string, stroke: string): void => {
    const indices = rows.map((r, i) => (r.group === group ? i : -1)).filter((i) => i >= 0);
    const y0 = ys[indices[0]!]! - 12;
    const y1 = ys[indices.at(-1)!]! + heights[indices.at(-1)!]! + 12;
    body.push(`<rect x="${boxX - 22}" y="${n(y0)}" width="${width - 2 * (boxX - 22)}" height="${n(y1 - y0)}" rx="10" fill="${fill}" fill-opacity="0.35" stroke="${stroke}" stroke-opacity="0.5" stroke-dasharray="4 4"/>`);
    body.push(text(width - boxX + 12, y0 + 18, label, { size: 12, fill: MUTED, anchor: 'end', italic: true }));
  };
  panel('tokenizer', 'tokenizer: text → ids', TOKENIZER_FILL, TOKENIZER_STROKE);
  panel('model', 'model: ids → one vector per token', MODEL_FILL, MODEL_STROKE);
  panel('pooling', 'pooling: token vectors → sentence vector', POOL_FILL, POOL_STROKE);

  rows.forEach((row, i) => {
    const rowY = ys[i]!;
    const h = heights[i]!;
    const [fill, stroke] =
      row.group === 'tokenizer' ? [TOKENIZER_FILL, TOKENIZER_STROKE]
        : row.group === 'model' ? [MODEL_FILL, MODEL_STROKE]
          : row.group === 'pooling' ? [POOL_FILL, POOL_STROKE] : ['#f6f8fa', LINE];
    body.push(rect(boxX, rowY, boxWidth, h, fill, stroke));
    const nameY = row.file === '' ? rowY + h / 2 + 5 : rowY + h / 2 - 3;
    body.push(text(boxX + 14, nameY, row.stage, { size: 15, weight: 'bold' }));
    if (row.file !== '') body.push(text(boxX + 14, rowY + h / 2 + 16, row.file, { size: 11.5, mono: true, fill: MUTED }));
    row.lines.forEach((content, k) => {
      body.push(text(detailX, rowY + 24 + k * 20, content, { size: 14, mono: true }));
    });
    body.push(text(detailX, rowY + 24 + row.lines.length * 20 + 2, row.caption, { size: 12, fill: MUTED }));
    if (i + 1 < rows.length) body.push(line(boxX + boxWidth / 2, rowY + h, boxX + boxWidth / 2, ys[i + 1]! - 2, { arrow: true }));
  });
  return svgDocument(width, height, 'How a sentence becomes a vector', body);
}

// ---------------------------------------------------------------------------------------------
// encoder-layer.svg
// ---------------------------------------------------------------------------------------------

function megaFlop(flop: number): string {
  return `${(flop / 1e6).toFixed(2)} MFLOP`;
}

function megaBytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(2)} MB`;
}

function encoderLayerDiagram(config: BertConfig): string {
  const { hiddenSize: H, intermediateSize: I, numHeads: A, headSize: d } = config;
  const costs = layerCosts(config);
  interface Step {
    kind: 'tensor' | 'box' | 'add' | 'norm';
    title?: string;
    detail?: string;
    cost?: string;
    shapeAfter?: string;
  }
  const steps: Step[] = [
    { kind: 'tensor', title: `x   [L, ${H}]`, detail: 'one row per token' },
    {
      kind: 'box',
      title: 'query, key, value (one fused matmul)',
      detail: `attention.self.{query,key,value}   W [${3 * H}, ${H}]`,
      cost: `${megaFlop(costs.qkv.flop)} · ${megaBytes(costs.qkv.bytes)}`,
      shapeAfter: `[L, ${3 * H}]`,
    },
    {
      kind: 'box',
      title: `self-attention, ${A} heads of ${d}`,
      detail: `softmax(Q Kᵀ / √${d}) V, per head`,
      cost: `${(costs.attentionPerContextToken).toLocaleString('en-US')}·L FLOP · no weights`,
      shapeAfter: `[L, ${H}]`,
    },
    {
      kind: 'box',
      title: 'attention output projection',
      detail: `attention.output.dense   W [${H}, ${H}]`,
      cost: `${megaFlop(costs.attentionOutput.flop)} · ${megaBytes(costs.attentionOutput.bytes)}`,
      shapeAfter: `[L, ${H}]`,
    },
    { kind: 'add', title: '+' },
    { kind: 'norm', title: 'LayerNorm', detail: 'attention.output.LayerNorm   ε = 1e-12', shapeAfter: `[L, ${H}]` },
    {
      kind: 'box',
      title: 'feed-forward up + GELU (erf)',
      detail: `intermediate.dense   W [${I}, ${H}]`,
      cost: `${megaFlop(costs.intermediate.flop)} · ${megaBytes(costs.intermediate.bytes)}`,
      shapeAfter: `[L, ${I}]`,
    },
    {
      kind: 'box',
      title: 'feed-forward down',
      detail: `output.dense   W [${H}, ${I}]`,
      cost: `${megaFlop(costs.output.flop)} · ${megaBytes(costs.output.bytes)}`,
      shapeAfter: `[L, ${H}]`,
    },
    { kind: 'add', title: '+' },
    { kind: 'norm', title: 'LayerNorm', detail: 'output.LayerNorm   ε = 1e-12', shapeAfter: `[L, ${H}]` },
    { kind: 'tensor', title: `y   [L, ${H}]`, detail: 'to the next layer (or to pooling after the last)' },
  ];

  const width = 840;
  const centerX = 320;
  const boxWidth = 360;
  const costX = centerX + boxWidth / 2 + 40;
  const gap = 34;
  const body: string[] = [];
  body.push(text(30, 34, 'One encoder layer (BertLayer), post-LN', { size: 20, weight: 'bold' }));
  body.push(text(30, 56, `L tokens; FLOP and weight bytes per token on the right (float32, all-MiniLM-L6-v2)`, { size: 12.5, fill: MUTED }));
  body.push(text(costX, 92, 'per token · weights', { size: 12, fill: MUTED, weight: 'bold' }));

  const heightOf = (step: Step): number => (step.kind === 'add' ? 30 : step.kind === 'tensor' ? 46 : 54);
  const ys: number[] = [];
  let y = 104;
  for (const step of steps) {
    ys.push(y);
    y += heightOf(step) + gap;
  }
  const height = y - gap + 70;

  steps.forEach((step, i) => {
    const top = ys[i]!;
    const h = heightOf(step);
    if (step.kind === 'add') {
      body.push(`<circle cx="${centerX}" cy="${n(top + h / 2)}" r="15" fill="#ffffff" stroke="${INK}" stroke-width="1.5"/>`);
      body.push(text(centerX, top + h / 2 + 6, '+', { size: 20, anchor: 'middle', weight: 'bold' }));
    } else {
      const [fill, stroke] = step.kind === 'tensor' ? ['#f6f8fa', LINE] : step.kind === 'norm' ? [POOL_FILL, POOL_STROKE] : [MODEL_FILL, MODEL_STROKE];
      body.push(rect(centerX - boxWidth / 2, top, boxWidth, h, fill, stroke));
      if (step.kind === 'tensor') {
        body.push(text(centerX, top + 20, step.title!, { size: 14, anchor: 'middle', mono: true, weight: 'bold' }));
        body.push(text(centerX, top + 37, step.detail!, { size: 11.5, anchor: 'middle', fill: MUTED }));
      } else {
        body.push(text(centerX, top + 22, step.title!, { size: 14.5, anchor: 'middle', weight: 'bold' }));
        body.push(text(centerX, top + 41, step.detail!, { size: 11.5, anchor: 'middle', mono: true, fill: MUTED }));
      }
    }
    if (step.cost) body.push(text(costX, top + h / 2 + 5, step.cost, { size: 12.5, mono: true }));
    if (i + 1 < steps.length) {
      const from = top + (step.kind === 'add' ? h / 2 + 15 : h);
      const to = ys[i + 1]! + (steps[i + 1]!.kind === 'add' ? heightOf(steps[i + 1]!) / 2 - 15 : 0);
      body.push(line(centerX, from, centerX, to - 2, { arrow: true }));
      if (step.shapeAfter) body.push(text(centerX + 10, (from + to) / 2 + 4, step.shapeAfter, { size: 11.5, mono: true, fill: MUTED }));
    }
  });

  // Residual connections: from the input of each half around to its "+".
  const skip = (fromStep: number, addStep: number, label: string): void => {
    const startY = ys[fromStep]! + heightOf(steps[fromStep]!) + gap / 2;
    const addY = ys[addStep]! + heightOf(steps[addStep]!) / 2;
    const leftX = centerX - boxWidth / 2 - 48;
    body.push(`<circle cx="${centerX}" cy="${n(startY)}" r="3.5" fill="${LINE}"/>`);
    body.push(path(`M ${centerX} ${n(startY)} H ${n(leftX)} V ${n(addY)} H ${n(centerX - 17)}`, { arrow: true }));
    body.push(text(leftX - 8, (startY + addY) / 2, label, { size: 12, fill: MUTED, anchor: 'end', italic: true }));
    body.push(text(leftX - 8, (startY + addY) / 2 + 16, 'residual', { size: 12, fill: MUTED, anchor: 'end', italic: true }));
  };
  skip(0, 4, 'x');
  skip(5, 8, 'x₁');

  const total = costs.qkv.flop + costs.attentionOutput.flop + costs.intermediate.flop + costs.output.flop;
  const bytes = costs.qkv.bytes + costs.attentionOutput.bytes + costs.intermediate.bytes + costs.output.bytes + costs.layerNormBytes;
  body.push(
    text(
      30,
      height - 36,
      `Per layer: ${megaFlop(total)} per token in the four matmuls, plus ${costs.attentionPerContextToken.toLocaleString('en-US')}·L in attention; ` +
        `${megaBytes(bytes)} of weights.`,
      { size: 13 },
    ),
  );
  body.push(
    text(30, height - 16, `× ${config.numLayers} layers = ${megaFlop(total * config.numLayers)} per token in the linear layers.`, { size: 13 }),
  );
  return svgDocument(width, height, 'One encoder layer', body);
}

// ---------------------------------------------------------------------------------------------
// attention-head.svg
// ---------------------------------------------------------------------------------------------

function attentionHeadDiagram(tokens: string[], probs: number[][], config: BertConfig, layer: number, head: number): string {
  const L = tokens.length;
  const d = config.headSize;
  const H = config.hiddenSize;
  const cell = 17; // px per token
  const dimWidth = 80; // px for the d = 32 dimensions
  const labelWidth = Math.max(...tokens.map((t) => textWidth(t, 11, true))) + 8;
  const maxProb = Math.max(...probs.flat());

  const body: string[] = [];
  body.push(text(24, 34, `One attention head: head ${head} of layer ${layer + 1}, on ${L} tokens`, { size: 20, weight: 'bold' }));
  body.push(
    text(24, 56, `Q, K, V [L, ${d}] are columns ${head * d}…${head * d + d - 1} of the query, key and value projections [L, ${H}]; L = ${L} here`, {
      size: 12.5,
      fill: MUTED,
    }),
  );

  const top = 112;
  const matrixHeight = L * cell;
  /** A matrix drawn as a box with one light line per token row or column. */
  const matrix = (x: number, y: number, w: number, h: number, name: string, shape: string, rowsAreTokens: boolean, colsAreTokens: boolean): void => {
    body.push(`<rect x="${n(x)}" y="${n(y)}" width="${n(w)}" height="${n(h)}" fill="${MODEL_FILL}" stroke="${MODEL_STROKE}" stroke-width="1.5"/>`);
    if (rowsAreTokens) for (let r = 1; r < L; r++) body.push(`<line x1="${n(x)}" y1="${n(y + r * cell)}" x2="${n(x + w)}" y2="${n(y + r * cell)}" stroke="${MODEL_STROKE}" stroke-opacity="0.35"/>`);
    if (colsAreTokens) for (let c = 1; c < L; c++) body.push(`<line x1="${n(x + c * cell)}" y1="${n(y)}" x2="${n(x + c * cell)}" y2="${n(y + h)}" stroke="${MODEL_STROKE}" stroke-opacity="0.35"/>`);
    body.push(text(x + w / 2, y - 24, name, { size: 15, weight: 'bold', anchor: 'middle' }));
    body.push(text(x + w / 2, y - 8, shape, { size: 12, mono: true, anchor: 'middle', fill: MUTED }));
  };
  const operator = (x: number, y: number, symbol: string): void => {
    body.push(text(x, y, symbol, { size: 22, anchor: 'middle', weight: 'bold' }));
  };

  let x = 24 + labelWidth;
  // Q with token labels on its rows.
  tokens.forEach((t, r) => body.push(text(x - 6, top + r * cell + cell / 2 + 4, t, { size: 11, mono: true, anchor: 'end' })));
  matrix(x, top, dimWidth, matrixHeight, 'Q', `[L, ${d}]`, true, false);
  x += dimWidth + 34;
  operator(x - 17, top + matrixHeight / 2 + 7, '·');
  const kTop = top + (matrixHeight - dimWidth) / 2;
  matrix(x, kTop, L * cell, dimWidth, 'Kᵀ', `[${d}, L]`, false, true);
  x += L * cell + 60;
  body.push(line(x - 52, top + matrixHeight / 2, x - 8, top + matrixHeight / 2, { arrow: true }));
  body.push(text(x - 30, top + matrixHeight / 2 - 10, `÷√${d}`, { size: 12, anchor: 'middle', fill: MUTED }));
  body.push(text(x - 30, top + matrixHeight / 2 + 22, 'softmax', { size: 12, anchor: 'middle', fill: MUTED }));
  body.push(text(x - 30, top + matrixHeight / 2 + 36, 'each row', { size: 12, anchor: 'middle', fill: MUTED }));

  // P, coloured with the probabilities of the real run.
  const pX = x + labelWidth;
  tokens.forEach((t, r) => body.push(text(pX - 6, top + r * cell + cell / 2 + 4, t, { size: 11, mono: true, anchor: 'end' })));
  for (let r = 0; r < L; r++) {
    for (let c = 0; c < L; c++) {
      body.push(`<rect x="${n(pX + c * cell)}" y="${n(top + r * cell)}" width="${cell}" height="${cell}" fill="${blues(probs[r]![c]! / maxProb)}"/>`);
    }
  }
  body.push(`<rect x="${n(pX)}" y="${top}" width="${L * cell}" height="${matrixHeight}" fill="none" stroke="${MODEL_STROKE}" stroke-width="1.5"/>`);
  tokens.forEach((t, c) =>
    body.push(text(pX + c * cell + cell / 2 + 4, top + matrixHeight + 8, t, { size: 11, mono: true, anchor: 'end', transform: `rotate(-60 ${n(pX + c * cell + cell / 2 + 4)} ${n(top + matrixHeight + 8)})` })),
  );
  body.push(text(pX + (L * cell) / 2, top - 24, 'P', { size: 15, weight: 'bold', anchor: 'middle' }));
  body.push(text(pX + (L * cell) / 2, top - 8, '[L, L]  rows sum to 1', { size: 12, mono: true, anchor: 'middle', fill: MUTED }));
  x = pX + L * cell + 34;
  operator(x - 17, top + matrixHeight / 2 + 7, '·');
  matrix(x, top, dimWidth, matrixHeight, 'V', `[L, ${d}]`, true, false);
  x += dimWidth + 34;
  operator(x - 17, top + matrixHeight / 2 + 7, '=');
  matrix(x, top, dimWidth, matrixHeight, 'context', `[L, ${d}]`, true, false);
  const width = Math.ceil(x + dimWidth + 30);

  const notesY = top + matrixHeight + 96;
  const notes = [
    `P[i][j]: how much token i (row, the query) takes from token j (column, the key); darker = more (max ${maxProb.toFixed(2)} here, uniform would be ${(1 / L).toFixed(2)}).`,
    `Row i of the context is Σ_j P[i][j] · V[j]: a weighted average of the value vectors.`,
    `The ${config.numHeads} heads' contexts, side by side, make the [L, ${H}] input of attention.output.dense.`,
    'Synthetic weights: the pattern carries no meaning, the arithmetic is the real one.',
  ];
  notes.forEach((note, k) => body.push(text(24, notesY + k * 20, note, { size: 12.5, fill: k === 3 ? MUTED : INK, italic: k === 3 })));
  return svgDocument(width, notesY + notes.length * 20 + 10, 'One attention head', body);
}

// ---------------------------------------------------------------------------------------------
// attention-heatmap.svg
// ---------------------------------------------------------------------------------------------

function attentionHeatmap(tokens: string[], heads: number[][][], layer: number): string {
  const L = tokens.length;
  const cell = 13;
  const columns = 4;
  const labelWidth = Math.max(...tokens.map((t) => textWidth(t, 10.5, true))) + 10;
  const mapSize = L * cell;
  const gapX = 22;
  const gapY = 34;
  const left = 24 + labelWidth;
  const top = 112;
  const rowsOfMaps = Math.ceil(heads.length / columns);
  const maxProb = Math.max(...heads.flat(2));
  const body: string[] = [];
  body.push(text(24, 34, `Attention probabilities of the ${heads.length} heads of layer ${layer + 1}`, { size: 20, weight: 'bold' }));
  body.push(text(24, 56, 'Row = query token, column = key token; every row sums to 1.', { size: 12.5, fill: MUTED }));
  body.push(text(24, 74, 'Synthetic checkpoint: the arithmetic is real, the weights (and so the patterns) are meaningless.', { size: 12.5, fill: MUTED }));

  heads.forEach((probs, h) => {
    const x0 = left + (h % columns) * (mapSize + gapX);
    const y0 = top + Math.floor(h / columns) * (mapSize + gapY);
    body.push(text(x0 + mapSize / 2, y0 - 8, `head ${h}`, { size: 12.5, anchor: 'middle', weight: 'bold' }));
    for (let r = 0; r < L; r++) {
      for (let c = 0; c < L; c++) {
        body.push(`<rect x="${n(x0 + c * cell)}" y="${n(y0 + r * cell)}" width="${cell}" height="${cell}" fill="${blues(probs[r]![c]! / maxProb)}"/>`);
      }
    }
    body.push(`<rect x="${n(x0)}" y="${n(y0)}" width="${mapSize}" height="${mapSize}" fill="none" stroke="${LINE}"/>`);
    if (h % columns === 0) {
      tokens.forEach((t, r) => body.push(text(x0 - 5, y0 + r * cell + cell / 2 + 4, t, { size: 10.5, mono: true, anchor: 'end' })));
    }
    if (Math.floor(h / columns) === rowsOfMaps - 1) {
      tokens.forEach((t, c) => {
        const tx = x0 + c * cell + cell / 2 + 3;
        const ty = y0 + mapSize + 7;
        body.push(text(tx, ty, t, { size: 10.5, mono: true, anchor: 'end', transform: `rotate(-60 ${n(tx)} ${n(ty)})` }));
      });
    }
  });

  const legendY = top + rowsOfMaps * (mapSize + gapY) + 62;
  const legendWidth = 220;
  const steps = 44;
  body.push(text(left, legendY - 8, 'probability', { size: 12, fill: MUTED }));
  for (let k = 0; k < steps; k++) {
    body.push(`<rect x="${n(left + (k * legendWidth) / steps)}" y="${legendY}" width="${n(legendWidth / steps + 0.5)}" height="12" fill="${blues(k / (steps - 1))}"/>`);
  }
  body.push(`<rect x="${left}" y="${legendY}" width="${legendWidth}" height="12" fill="none" stroke="${LINE}"/>`);
  body.push(text(left, legendY + 28, '0', { size: 11.5, mono: true }));
  body.push(text(left + legendWidth, legendY + 28, maxProb.toFixed(2), { size: 11.5, mono: true, anchor: 'end' }));
  body.push(text(left + legendWidth + 20, legendY + 10, `uniform attention would be 1/${L} = ${(1 / L).toFixed(3)} everywhere`, { size: 12, fill: MUTED }));
  const width = Math.ceil(left + columns * (mapSize + gapX) + 10);
  return svgDocument(Math.max(width, left + legendWidth + 380), legendY + 44, `Attention of layer ${layer + 1}`, body);
}

// ---------------------------------------------------------------------------------------------
// Driver
// ---------------------------------------------------------------------------------------------

const REPOSITORY = new URL('../', import.meta.url);

/** Every diagram, file name → SVG text. */
export async function renderDiagrams(): Promise<Map<string, string>> {
  const vocab = await readFile(new URL('weights/all-MiniLM-L6-v2/vocab.txt', REPOSITORY), 'utf8');
  const config = parseBertConfig(SYNTHETIC_FULL.config);
  // The plain backend: the textbook loops, so the pictures do not depend on a faster kernel's summation order.
  const encoder = SentenceEncoder.fromParts({
    config: SYNTHETIC_FULL.config,
    weights: generateSyntheticCheckpoint(SYNTHETIC_FULL),
    vocab,
    backend: 'plain',
  });
  const example = tokenizerExample(encoder.tokenizer, EXAMPLE_SENTENCE);
  const layer = 0;
  const heads = await attentionOfLayer(encoder, example.ids, layer);
  return new Map([
    ['pipeline.svg', pipelineDiagram(example, config, encoder.maxSeqLength)],
    ['encoder-layer.svg', encoderLayerDiagram(config)],
    ['attention-head.svg', attentionHeadDiagram(example.tokens, heads[0]!, config, layer, 0)],
    ['attention-heatmap.svg', attentionHeatmap(example.tokens, heads, layer)],
  ]);
}

async function main(args: string[]): Promise<void> {
  const outDir = resolve(args[0] ?? fileURLToPath(new URL('docs/images/', REPOSITORY)));
  await mkdir(outDir, { recursive: true });
  for (const [name, svg] of await renderDiagrams()) {
    await writeFile(join(outDir, name), svg);
    console.log(`wrote ${join(outDir, name)} (${svg.length} bytes)`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main(process.argv.slice(2));
}
