/**
 * Fuzzing for a fixed time: the safetensors parser, the tokenizer, and the server's request
 * parser, each with the generators and checks of the property tests (test/reliability), run in
 * rounds with a fresh seed each until the time is up. A failing round is shrunk to a small
 * counterexample and reported with its seed, so it can be replayed and turned into a test.
 *
 *   npm run fuzz -- --minutes 5           (default 5; the time is shared equally by the targets)
 *   npm run fuzz -- --minutes 1 --target tokenizer --seed 42
 *
 * Targets (each gets an equal share of the time):
 *   safetensors/mutations       structured mutations of valid files; parser vs the plain oracle
 *   safetensors/header-length   wrong length fields, truncation, appended bytes, byte edits
 *   safetensors/deep-json       deeply nested arrays and objects in every field of the header
 *   tokenizer/invariants        any text → ids in the vocab, [CLS] … [SEP], ≤ maxLength, offsets
 *   tokenizer/differential      tokenizer.json vs vocab.txt; truncation = prefix of the full encoding
 *   server/request              any JSON body → a valid request or an HTTP 400 ApiError
 *
 * Exit code 0 when nothing failed, 1 otherwise.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { ApiError } from '../src/server/errors.ts';
import { parseEmbeddingsRequest } from '../src/server/embeddings-request.ts';
import { BertTokenizer } from '../src/tokenizer/index.ts';
import {
  checkParse, describeError, embedInLargerBuffer, headerText, mutate, mutationArb, oracleAccepts, renderModel, validModelArb,
} from '../test/reliability/safetensors-fuzz-model.ts';
import { textArb } from '../test/reliability/text-arbitraries.ts';

// ---------------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------------

const modelDir = new URL('../weights/all-MiniLM-L6-v2/', import.meta.url);
const vocabText = readFileSync(new URL('vocab.txt', modelDir), 'utf8');
const fromVocab = BertTokenizer.fromVocab(vocabText, { maxLength: 256 });
const fromJson = BertTokenizer.fromTokenizerJson(readFileSync(new URL('tokenizer.json', modelDir), 'utf8'), { maxLength: 256 });

function fail(message: string): never {
  throw new Error(message);
}

function checkIds(ids: number[], maxLength: number, text: string): void {
  const where = `text ${JSON.stringify(text.slice(0, 80))}`;
  if (ids.length < 2 || ids.length > maxLength) fail(`${where}: ${ids.length} ids for maxLength ${maxLength}`);
  if (ids[0] !== 101 || ids[ids.length - 1] !== 102) fail(`${where}: does not start with [CLS] and end with [SEP]: ${ids.slice(0, 3)} … ${ids.slice(-3)}`);
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= fromVocab.vocabSize || fromVocab.idToToken(id) === undefined) fail(`${where}: id ${id} is not in the vocabulary`);
  }
}

/** A JSON value nested `depth` levels deep: [[[…]]] or {"a":{"a":…}}. */
function deepJson(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

const DEEP_PLACES = [
  (v: string) => `{"t":{"dtype":"F32","shape":${v},"data_offsets":[0,0]}}`,
  (v: string) => `{"t":{"dtype":"F32","shape":[1],"data_offsets":${v}}}`,
  (v: string) => `{"t":{"dtype":${v},"shape":[1],"data_offsets":[0,4]}}`,
  (v: string) => `{"t":${v}}`,
  (v: string) => `{"__metadata__":${v}}`,
  (v: string) => `{"__metadata__":{"k":${v}}}`,
  (v: string) => `{"t":{"dtype":"F32","shape":[],"data_offsets":[0,4],"extra":${v}}}`,
  (v: string) => v,
];

function rawHeaderFile(header: string, dataLength = 0): Uint8Array {
  const text = new TextEncoder().encode(header);
  const bytes = new Uint8Array(8 + text.length + dataLength);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(text.length), true);
  bytes.set(text, 8);
  return bytes;
}

const REQUEST_LIMITS = { maxInputs: 16, vocabSize: 30522, maxSeqLength: 256, dimension: 384, clsId: 101, sepId: 102 };
const requestBodyArb = fc.oneof(
  fc.jsonValue(),
  fc.record(
    {
      input: fc.oneof(
        fc.string(),
        fc.array(fc.string({ maxLength: 5 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: -2, max: 31000 }), { maxLength: 300 }),
        fc.array(fc.integer({ min: 100, max: 103 }), { maxLength: 6 }),
        fc.array(fc.array(fc.oneof(fc.integer({ min: -2, max: 31000 }), fc.double()), { maxLength: 5 }), { maxLength: 20 }),
        fc.jsonValue(),
      ),
      model: fc.oneof(fc.string(), fc.jsonValue()),
      encoding_format: fc.oneof(fc.constantFrom('float', 'base64', 'int8'), fc.jsonValue()),
      dimensions: fc.oneof(fc.integer({ min: -1, max: 400 }), fc.double(), fc.jsonValue()),
    },
    { requiredKeys: [] },
  ),
);

interface Target {
  name: string;
  /** Fraction of --runs-per-round for this target (slow inputs: smaller rounds). */
  roundScale?: number;
  property: () => fc.IPropertyWithHooks<unknown[]> | fc.IProperty<unknown[]>;
}

const TARGETS: Target[] = [
  {
    name: 'safetensors/mutations',
    property: () =>
      fc.property(validModelArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 7 }), (model, mutations, offset) => {
        const mutated = mutate(model, mutations);
        const outcome = checkParse(embedInLargerBuffer(renderModel(mutated), offset));
        const expected = oracleAccepts(mutated);
        if (outcome.accepted !== expected) {
          fail(`parser ${outcome.accepted ? 'accepted' : `rejected (${outcome.code})`}, oracle ${expected ? 'accepts' : 'rejects'}: ${headerText(mutated)} + ${mutated.dataLength} bytes`);
        }
      }) as fc.IProperty<unknown[]>,
  },
  {
    name: 'safetensors/header-length',
    property: () =>
      fc.property(
        validModelArb,
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.integer({ min: -16, max: 16 }),
        fc.nat(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        (model, anyLength, delta, cutSeed, edits) => {
          const headerLength = BigInt(new TextEncoder().encode(headerText(model)).length);
          checkParse(renderModel(model, anyLength));
          if (headerLength + BigInt(delta) >= 0n) checkParse(renderModel(model, headerLength + BigInt(delta)));
          const bytes = renderModel(model);
          checkParse(bytes.slice(0, cutSeed % (bytes.length + 1)));
          for (const [at, value] of edits) bytes[at % bytes.length] = value;
          checkParse(bytes);
        },
      ) as fc.IProperty<unknown[]>,
  },
  {
    name: 'safetensors/deep-json',
    roundScale: 0.1,
    property: () =>
      fc.property(
        fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 64, max: 4096 }), fc.integer({ min: 4096, max: 300_000 })),
        fc.constantFrom('array' as const, 'object' as const),
        fc.nat(DEEP_PLACES.length - 1),
        (depth, kind, place) => {
          checkParse(rawHeaderFile(DEEP_PLACES[place]!(deepJson(depth, kind))));
        },
      ) as fc.IProperty<unknown[]>,
  },
  {
    name: 'tokenizer/invariants',
    property: () =>
      fc.property(textArb(200), fc.integer({ min: 2, max: 600 }), (text, maxLength) => {
        checkIds(fromVocab.tokenize(text), 256, text);
        checkIds(fromVocab.tokenize(text, { maxLength }), maxLength, text);
        const encoding = fromVocab.encode(text);
        if (encoding.ids.join() !== fromVocab.tokenize(text).join()) fail(`encode and tokenize disagree on ${JSON.stringify(text)}`);
        for (const [start, end] of encoding.offsets) {
          if (!(0 <= start && start <= end && end <= text.length)) fail(`offset [${start}, ${end}] outside ${JSON.stringify(text)}`);
        }
      }) as fc.IProperty<unknown[]>,
  },
  {
    name: 'tokenizer/differential',
    property: () =>
      fc.property(textArb(200), fc.integer({ min: 2, max: 60 }), (text, maxLength) => {
        const a = fromVocab.tokenize(text);
        const b = fromJson.tokenize(text);
        if (a.join() !== b.join()) fail(`vocab.txt and tokenizer.json disagree on ${JSON.stringify(text)}: ${a} vs ${b}`);
        const full = fromVocab.tokenize(text, { maxLength: 1_000_000 });
        const cut = fromVocab.tokenize(text, { maxLength });
        const expected = [...full.slice(0, Math.min(maxLength, full.length) - 1), 102];
        if (cut.join() !== expected.join()) fail(`truncation to ${maxLength} is not a prefix on ${JSON.stringify(text)}`);
      }) as fc.IProperty<unknown[]>,
  },
  {
    name: 'server/request',
    property: () =>
      fc.property(requestBodyArb, (body) => {
        try {
          const request = parseEmbeddingsRequest(body, REQUEST_LIMITS);
          if (request.inputs.length === 0 || request.inputs.length > REQUEST_LIMITS.maxInputs && request.inputs.length !== 1) fail(`accepted ${request.inputs.length} inputs`);
          for (const input of request.inputs) {
            if (input.ids !== undefined) {
              const framed = input.ids[0] === 101 && input.ids[input.ids.length - 1] === 102;
              if (!framed || input.ids.length > 256 || !input.ids.every((id) => Number.isInteger(id) && id >= 0 && id < 30522)) fail(`accepted bad ids ${JSON.stringify(input.ids)}`);
            } else if (typeof input.text !== 'string' || input.text.length === 0) {
              fail(`accepted bad text ${JSON.stringify(input.text)}`);
            }
          }
        } catch (error) {
          if (!(error instanceof ApiError) || error.status !== 400) fail(`threw ${describeError(error)} instead of a 400 ApiError`);
        }
      }) as fc.IProperty<unknown[]>,
  },
];

// ---------------------------------------------------------------------------------------------
// The loop
// ---------------------------------------------------------------------------------------------

interface Finding {
  target: string;
  seed: number;
  counterexample: string;
  error: string;
}

function main(): number {
  const { values } = parseArgs({
    options: { minutes: { type: 'string', default: '5' }, target: { type: 'string' }, seed: { type: 'string' }, 'runs-per-round': { type: 'string', default: '200' } },
  });
  const minutes = Number(values.minutes);
  if (!(minutes > 0)) throw new Error(`--minutes must be a positive number, got ${values.minutes}`);
  const targets = TARGETS.filter((t) => values.target === undefined || t.name.startsWith(values.target));
  if (targets.length === 0) throw new Error(`no target matches ${values.target}; targets: ${TARGETS.map((t) => t.name).join(', ')}`);
  const runsPerRound = Number(values['runs-per-round']);
  let seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);

  const deadline = Date.now() + minutes * 60_000;
  const runs = new Map<string, number>(targets.map((t) => [t.name, 0]));
  const time = new Map<string, number>(targets.map((t) => [t.name, 0]));
  const findings: Finding[] = [];
  console.log(`fuzzing ${targets.length} target(s) for ${minutes} min, first seed ${seed}`);
  while (Date.now() < deadline) {
    // Equal time for every target: the next round goes to the one that has had the least.
    const target = targets.reduce((least, t) => (time.get(t.name)! < time.get(least.name)! ? t : least));
    {
      const started = Date.now();
      const details = fc.check(target.property(), { numRuns: Math.max(1, Math.round(runsPerRound * (target.roundScale ?? 1))), seed });
      time.set(target.name, time.get(target.name)! + Date.now() - started);
      runs.set(target.name, runs.get(target.name)! + details.numRuns);
      if (details.failed) {
        const error = details.errorInstance instanceof Error ? describeError(details.errorInstance) : String(details.errorInstance);
        const counterexample = abbreviate(fc.stringify(details.counterexample));
        const known = findings.some((f) => f.target === target.name && f.error.split(':')[0] === error.split(':')[0]);
        if (!known) {
          findings.push({ target: target.name, seed, counterexample, error });
          console.log(`FOUND in ${target.name} (seed ${seed}): ${error}\n  counterexample: ${counterexample}`);
        }
      }
      seed = (seed + 1) % 2 ** 31;
    }
  }

  console.log('\n| target | inputs tried | seconds | distinct failures |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const target of targets) {
    const count = findings.filter((f) => f.target === target.name).length;
    console.log(`| ${target.name} | ${runs.get(target.name)} | ${(time.get(target.name)! / 1000).toFixed(0)} | ${count} |`);
  }
  if (findings.length > 0) {
    console.log(`\n${findings.length} distinct failure(s); replay one with --target NAME --seed SEED`);
    for (const f of findings) console.log(`- ${f.target}, seed ${f.seed}: ${f.error}\n  ${f.counterexample}`);
    return 1;
  }
  console.log('\nno failures');
  return 0;
}

function abbreviate(text: string): string {
  return text.length > 400 ? `${text.slice(0, 200)} … (${text.length} characters) … ${text.slice(-100)}` : text;
}

process.exitCode = main();
