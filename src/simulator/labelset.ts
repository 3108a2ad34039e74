/**
 * The simulator's classifier: the label of a point is the label whose colour is nearest (Euclidean
 * distance in RGB, ties to the lower id) to the pixel under it. Anyone can check its answers.
 */
import type { Classification } from '../coralnet/schemas.js';

export interface Label {
  id: number;
  code: string;
  name: string;
  /** `#RRGGBB` */
  colour: string;
}

export const DEFAULT_LABELSET: readonly Label[] = [
  { id: 1, code: 'CORAL', name: 'Hard coral', colour: '#FF7F50' },
  { id: 2, code: 'CCA', name: 'Crustose coralline algae', colour: '#C71585' },
  { id: 3, code: 'MA', name: 'Macroalgae', colour: '#228B22' },
  { id: 4, code: 'TURF', name: 'Turf algae', colour: '#9ACD32' },
  { id: 5, code: 'SAND', name: 'Sand', colour: '#F5DEB3' },
];

export type Rgb = readonly [number, number, number];

/** A colour as one number, `0xRRGGBB`: what the simulator keeps for each point of a job. */
export const packRgb = (rgb: Rgb): number => (rgb[0] << 16) | (rgb[1] << 8) | rgb[2];

export const unpackRgb = (packed: number): Rgb => [(packed >> 16) & 0xff, (packed >> 8) & 0xff, packed & 0xff];

const parsedColours = new Map<string, Rgb>();

/** `#RRGGBB` as numbers; remembered, since the classifier asks for each label at every point. */
export function hexToRgb(colour: string): Rgb {
  const known = parsedColours.get(colour);
  if (known) return known;
  const match = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(colour);
  if (!match) throw new Error(`"${colour}" is not a #RRGGBB colour`);
  const rgb: Rgb = [parseInt(match[1]!, 16), parseInt(match[2]!, 16), parseInt(match[3]!, 16)];
  parsedColours.set(colour, rgb);
  return rgb;
}

/** How sharply the score falls with colour distance: a pixel on a label colour scores ~0.9+. */
const SCORE_SCALE = 24;

/**
 * The classifications of one pixel, best first: at most 5, scores in [0, 1] summing to 1, the
 * nearest colour first.
 * @example classifyPixel([255, 127, 80])[0].label_code // 'CORAL'
 */
export function classifyPixel(rgb: Rgb, labelset: readonly Label[] = DEFAULT_LABELSET): Classification[] {
  const ranked = labelset
    .map((label) => {
      const [r, g, b] = hexToRgb(label.colour);
      return { label, distance: Math.hypot(rgb[0] - r, rgb[1] - g, rgb[2] - b) };
    })
    .sort((x, y) => x.distance - y.distance || x.label.id - y.label.id)
    .slice(0, 5);
  const nearest = ranked[0]!.distance;
  const weights = ranked.map(({ distance }) => Math.exp(-(distance - nearest) / SCORE_SCALE));
  const total = weights.reduce((sum, w) => sum + w, 0);
  return ranked.map(({ label }, i) => ({
    score: weights[i]! / total,
    label_id: label.id,
    label_code: label.code,
    label_name: label.name,
  }));
}
