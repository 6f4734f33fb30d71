/**
 * The heatmap colours of the demo: one blue ramp for "how much" (attention, similarity above 0)
 * and a short warm ramp for similarity below 0. Each ramp starts at the page's own background, so
 * a 0 reads as "nothing" and only strong cells stand out. Light and dark variants follow the
 * system's colour scheme.
 */

export type Rgb = readonly [number, number, number];

const LIGHT = {
  cool: ['#f7f5f0', '#d9e6ee', '#a9c8dc', '#6c9fc3', '#3a72a2', '#1c4a78', '#10305a'],
  warm: ['#f7f5f0', '#f2dcc9', '#e2ac86', '#c4713f'],
};

const DARK = {
  cool: ['#1b2028', '#1f3347', '#27517a', '#3a75a8', '#5e9bcc', '#9cc6e8', '#dcecf8'],
  warm: ['#1b2028', '#3d2c21', '#7a4a2c', '#c4713f'],
};

function parseHex(hex: string): Rgb {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

const parsed = {
  light: { cool: LIGHT.cool.map(parseHex), warm: LIGHT.warm.map(parseHex) },
  dark: { cool: DARK.cool.map(parseHex), warm: DARK.warm.map(parseHex) },
};

function scheme(): typeof parsed.light {
  const dark = typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches;
  return dark ? parsed.dark : parsed.light;
}

/** Piecewise-linear interpolation along evenly spaced stops; t is clamped to [0, 1]. */
function along(stops: Rgb[], t: number): Rgb {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i]!;
  const b = stops[i + 1]!;
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/** Colour of t in [0, 1] on the blue ramp. */
export function sequential(t: number): Rgb {
  return along(scheme().cool, t);
}

/** Colour of a similarity in [-1, 1]: blue above 0, warm below. */
export function diverging(value: number): Rgb {
  const s = scheme();
  return value >= 0 ? along(s.cool, value) : along(s.warm, -value);
}

export function css([r, g, b]: Rgb): string {
  return `rgb(${Math.round(r)} ${Math.round(g)} ${Math.round(b)})`;
}

/** Black-ish or white text, whichever reads better on `background` (WCAG relative luminance). */
export function textOn(background: Rgb): string {
  const linear = background.map((c) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  const luminance = 0.2126 * linear[0]! + 0.7152 * linear[1]! + 0.0722 * linear[2]!;
  return luminance > 0.32 ? '#1d2430' : '#ffffff';
}

/** A CSS linear-gradient of the ramp from `from` to `to` (values passed to `colour`). */
export function gradient(colour: (value: number) => Rgb, from: number, to: number, steps = 12): string {
  const parts = Array.from({ length: steps + 1 }, (_, k) => css(colour(from + ((to - from) * k) / steps)));
  return `linear-gradient(to right, ${parts.join(', ')})`;
}
