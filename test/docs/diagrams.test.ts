/**
 * The committed diagrams (docs/images/*.svg) are exactly what scripts/make-diagrams.ts draws from
 * today's code, so a change to the tokenizer, the config or the model that alters a picture fails
 * here until `npm run docs:diagrams` is run. Also a few sanity checks of the SVG text itself.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { layerCosts, renderDiagrams } from '../../scripts/make-diagrams.ts';
import { parseBertConfig } from '../../src/model/config.ts';
import { SYNTHETIC_FULL } from '../../src/model/synthetic.ts';

const IMAGES = fileURLToPath(new URL('../../docs/images/', import.meta.url));

describe('docs/images', async () => {
  const rendered = await renderDiagrams();

  it('holds exactly the diagrams the script draws', () => {
    expect(readdirSync(IMAGES).filter((f) => f.endsWith('.svg')).sort()).toEqual([...rendered.keys()].sort());
  });

  for (const [name, svg] of rendered) {
    it(`${name} is up to date (npm run docs:diagrams)`, () => {
      expect(readFileSync(`${IMAGES}${name}`, 'utf8') === svg, `${name} differs from what the script draws now`).toBe(true);
    });

    it(`${name} is plain, well-formed SVG`, () => {
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      expect(svg).not.toMatch(/NaN|undefined|Infinity|\[object /);
      for (const tag of ['text', 'title', 'defs', 'marker']) {
        expect((svg.match(new RegExp(`<${tag}[ >]`, 'g')) ?? []).length, tag).toBe((svg.match(new RegExp(`</${tag}>`, 'g')) ?? []).length);
      }
      // Text content is escaped: no raw < or & inside <text> elements.
      for (const match of svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)) expect(match[1]).not.toMatch(/&(?!amp;|lt;|gt;|quot;)/);
    });
  }

  it('the per-layer costs it prints add up to 21.2 MFLOP per token over six layers', () => {
    const costs = layerCosts(parseBertConfig(SYNTHETIC_FULL.config));
    const perLayer = costs.qkv.flop + costs.attentionOutput.flop + costs.intermediate.flop + costs.output.flop;
    // 2·H·(3H + H + I + I) with H = 384, I = 1536, computed independently here.
    expect(perLayer).toBe(2 * 384 * (3 * 384 + 384 + 1536 + 1536));
    expect(perLayer * 6).toBe(21_233_664);
    expect(costs.attentionPerContextToken).toBe(4 * 384);
  });
});
