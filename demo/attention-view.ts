/**
 * The attention heatmap of the "look inside" panel, drawn on a canvas: row q, column k is how
 * much query token q attends to key token k (a softmax row: non-negative, sums to 1). Token
 * labels run down the left and, slanted, along the top; a small colour key fills the top-left
 * corner. Hovering a cell shows its value and tells the page which query row is under the
 * pointer (to highlight that token).
 *
 * Colours are scaled to the largest weight in the map, not to 1: most heads spread their weight
 * thinly, and a fixed 0..1 scale would paint them almost blank.
 */

import { css, sequential, textOn } from './colors.ts';

export interface AttentionMap {
  tokens: string[];
  /** [L, L], row-major: values[q * L + k]. */
  values: Float32Array;
}

const LABEL_FONT = '12px ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace';
const MAX_LABEL = 14; // characters shown of a long token
const SLANT = (50 * Math.PI) / 180;

interface Layout {
  L: number;
  cell: number;
  left: number; // x of the first column
  top: number; // y of the first row
  width: number;
  height: number;
  max: number;
}

export class AttentionView {
  private map: AttentionMap | null = null;
  private layout: Layout | null = null;
  private hover: { q: number; k: number } | null = null;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly tip: HTMLElement,
    private readonly onHoverRow: (query: number | null) => void,
  ) {
    canvas.addEventListener('mousemove', (event) => this.pointer(event));
    canvas.addEventListener('mouseleave', () => this.pointer(null));
    const container = canvas.parentElement;
    if (container !== null && typeof ResizeObserver === 'function') {
      let lastWidth = container.clientWidth;
      new ResizeObserver(() => {
        if (container.clientWidth !== lastWidth) {
          lastWidth = container.clientWidth;
          this.draw();
        }
      }).observe(container);
    }
  }

  show(map: AttentionMap): void {
    this.map = map;
    this.hover = null;
    this.draw();
  }

  private draw(): void {
    const map = this.map;
    const ctx = this.canvas.getContext('2d');
    if (map === null || ctx === null) return;
    const L = map.tokens.length;
    ctx.font = LABEL_FONT;
    const labels = map.tokens.map(shorten);
    const labelWidth = Math.max(40, ...labels.map((label) => ctx.measureText(label).width));
    const available = Math.max(200, (this.canvas.parentElement?.clientWidth ?? 600) - labelWidth - 40);
    const cell = Math.max(12, Math.min(44, Math.floor(available / L)));
    const left = Math.ceil(labelWidth + 14);
    const top = Math.ceil(labelWidth * Math.sin(SLANT) + 22);
    const width = left + cell * L + Math.ceil(labelWidth * Math.cos(SLANT)) + 8;
    const height = top + cell * L + 4;
    let max = 0;
    for (let i = 0; i < L * L; i++) max = Math.max(max, map.values[i]!);
    this.layout = { L, cell, left, top, width, height, max };

    const dpr = globalThis.devicePixelRatio || 1;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);

    const styles = getComputedStyle(this.canvas);
    const ink = styles.getPropertyValue('--ink').trim() || '#1d2430';
    const muted = styles.getPropertyValue('--muted').trim() || '#5f6875';
    const accent = styles.getPropertyValue('--accent').trim() || '#2a6496';
    const gap = cell >= 16 ? 1 : 0;

    // Cells.
    for (let q = 0; q < L; q++) {
      for (let k = 0; k < L; k++) {
        const value = map.values[q * L + k]!;
        ctx.fillStyle = css(sequential(max > 0 ? value / max : 0));
        ctx.fillRect(left + k * cell, top + q * cell, cell - gap, cell - gap);
      }
    }
    // Values inside the cells when they are big enough to read.
    if (cell >= 30) {
      ctx.font = '10px ui-sans-serif, system-ui, sans-serif';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      for (let q = 0; q < L; q++) {
        for (let k = 0; k < L; k++) {
          const value = map.values[q * L + k]!;
          if (value < 0.1 * max) continue;
          ctx.fillStyle = textOn(sequential(max > 0 ? value / max : 0));
          ctx.fillText(value.toFixed(2).replace(/^0/, ''), left + k * cell + (cell - gap) / 2, top + q * cell + (cell - gap) / 2 + 0.5);
        }
      }
    }

    // Labels.
    ctx.font = LABEL_FONT;
    ctx.textBaseline = 'middle';
    const hover = this.hover;
    for (let i = 0; i < L; i++) {
      const special = /^\[[A-Z]+\]$/.test(map.tokens[i]!);
      ctx.fillStyle = hover?.q === i ? accent : special ? muted : ink;
      ctx.textAlign = 'right';
      ctx.fillText(labels[i]!, left - 8, top + i * cell + cell / 2);
      ctx.save();
      ctx.translate(left + i * cell + cell / 2, top - 8);
      ctx.rotate(-SLANT);
      ctx.textAlign = 'left';
      ctx.fillStyle = hover?.k === i ? accent : special ? muted : ink;
      ctx.fillText(labels[i]!, 0, 0);
      ctx.restore();
    }

    // The hovered row and column.
    if (hover !== null) {
      ctx.strokeStyle = accent;
      ctx.lineWidth = 1.5;
      ctx.strokeRect(left - 0.5, top + hover.q * cell - 0.5, L * cell, cell);
      ctx.strokeRect(left + hover.k * cell - 0.5, top - 0.5, cell, L * cell);
    }

    // Colour key in the top-left corner.
    const keyWidth = Math.min(90, left - 16);
    const keyX = 4;
    const keyY = 8;
    for (let x = 0; x < keyWidth; x++) {
      ctx.fillStyle = css(sequential(x / (keyWidth - 1)));
      ctx.fillRect(keyX + x, keyY, 1, 8);
    }
    ctx.font = '11px ui-sans-serif, system-ui, sans-serif';
    ctx.fillStyle = muted;
    ctx.textBaseline = 'top';
    ctx.textAlign = 'left';
    ctx.fillText('0', keyX, keyY + 12);
    ctx.textAlign = 'right';
    ctx.fillText(max.toFixed(2), keyX + keyWidth, keyY + 12);
  }

  private pointer(event: MouseEvent | null): void {
    const layout = this.layout;
    const map = this.map;
    let next: { q: number; k: number } | null = null;
    if (event !== null && layout !== null && map !== null) {
      const rect = this.canvas.getBoundingClientRect();
      const k = Math.floor((event.clientX - rect.left - layout.left) / layout.cell);
      const q = Math.floor((event.clientY - rect.top - layout.top) / layout.cell);
      if (q >= 0 && q < layout.L && k >= 0 && k < layout.L) next = { q, k };
    }
    if (next?.q === this.hover?.q && next?.k === this.hover?.k) {
      if (next !== null && event !== null) this.placeTip(event);
      return;
    }
    this.hover = next;
    this.draw();
    this.onHoverRow(next?.q ?? null);
    if (next === null || map === null || event === null) {
      this.tip.hidden = true;
      return;
    }
    const value = map.values[next.q * map.tokens.length + next.k]!;
    this.tip.replaceChildren(
      bold(map.tokens[next.q]!), document.createTextNode(' looks at '), bold(map.tokens[next.k]!),
      document.createTextNode(`: ${value.toFixed(3)}`),
    );
    this.tip.hidden = false;
    this.placeTip(event);
  }

  private placeTip(event: MouseEvent): void {
    const parent = this.canvas.parentElement!;
    const container = parent.getBoundingClientRect();
    this.tip.style.left = `${event.clientX - container.left + parent.scrollLeft + 14}px`;
    this.tip.style.top = `${event.clientY - container.top + 14}px`;
  }
}

function bold(text: string): HTMLElement {
  const b = document.createElement('b');
  b.textContent = text;
  return b;
}

function shorten(token: string): string {
  return token.length > MAX_LABEL ? `${token.slice(0, MAX_LABEL - 1)}…` : token;
}
