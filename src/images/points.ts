/**
 * CoralNet's point placement (docs: points-and-export.md): the annotation area, and the simple
 * random, stratified random and uniform grid methods with CoralNet's cell arithmetic and numbering.
 */
import type { Point } from '../model.js';
import type { Random } from '../util/random.js';

/** The annotation area in percent of the image, per edge, as on CoralNet's website. */
export interface PercentArea {
  unit: 'percent';
  minX: number;
  maxX: number;
  minY: number;
  maxY: number;
}

/** The annotation area in pixels, inclusive. */
export interface PixelArea {
  unit: 'pixels';
  minColumn: number;
  maxColumn: number;
  minRow: number;
  maxRow: number;
}

export type AnnotationArea = PercentArea | PixelArea;

export const WHOLE_IMAGE: PercentArea = { unit: 'percent', minX: 0, maxX: 100, minY: 0, maxY: 100 };

export type PointMethod =
  | { kind: 'random'; points: number }
  | { kind: 'stratified'; rows: number; columns: number; perCell: number }
  | { kind: 'grid'; rows: number; columns: number };

/** Rows and columns of an area, inclusive, in pixels of one image. */
export interface AreaBounds {
  minRow: number;
  maxRow: number;
  minColumn: number;
  maxColumn: number;
}

const percentToPixel = (pct: number, dim: number): number => Math.max(Math.ceil((pct / 100) * dim) - 1, 0);

/**
 * The area's pixel bounds in an image of `width` × `height`.
 * @example areaBounds({ unit: 'percent', minX: 15, maxX: 85, minY: 15, maxY: 85 }, 4000, 3000)
 * // { minRow: 449, maxRow: 2549, minColumn: 599, maxColumn: 3399 }
 */
export function areaBounds(area: AnnotationArea, width: number, height: number): AreaBounds {
  if (area.unit === 'percent') {
    return {
      minRow: percentToPixel(area.minY, height),
      maxRow: percentToPixel(area.maxY, height),
      minColumn: percentToPixel(area.minX, width),
      maxColumn: percentToPixel(area.maxX, width),
    };
  }
  return { minRow: area.minRow, maxRow: Math.min(area.maxRow, height - 1), minColumn: area.minColumn, maxColumn: Math.min(area.maxColumn, width - 1) };
}

/** The stratified and grid cells, row-major: `[first, last]` rows and columns of each, inclusive. */
export function cells(bounds: AreaBounds, rows: number, columns: number): Array<{ rows: [number, number]; columns: [number, number] }> {
  const H = bounds.maxRow - bounds.minRow + 1;
  const W = bounds.maxColumn - bounds.minColumn + 1;
  const out: Array<{ rows: [number, number]; columns: [number, number] }> = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      out.push({
        rows: [Math.floor((r * H) / rows) + bounds.minRow, Math.floor(((r + 1) * H) / rows) + bounds.minRow - 1],
        columns: [Math.floor((c * W) / columns) + bounds.minColumn, Math.floor(((c + 1) * W) / columns) + bounds.minColumn - 1],
      });
    }
  }
  return out;
}

type Grid = ReturnType<typeof cells>;

/** The last grid made, for the next image: a survey's photos mostly share one size and so one grid. */
let lastGrid: { bounds: AreaBounds; rows: number; columns: number; grid: Grid } | undefined;

function cellsOf(bounds: AreaBounds, rows: number, columns: number): Grid {
  const last = lastGrid;
  if (
    last !== undefined &&
    last.rows === rows &&
    last.columns === columns &&
    last.bounds.minRow === bounds.minRow &&
    last.bounds.maxRow === bounds.maxRow &&
    last.bounds.minColumn === bounds.minColumn &&
    last.bounds.maxColumn === bounds.maxColumn
  ) {
    return last.grid;
  }
  const grid = cells(bounds, rows, columns);
  lastGrid = { bounds: { ...bounds }, rows, columns, grid };
  return grid;
}

export function pointCount(method: PointMethod): number {
  switch (method.kind) {
    case 'random':
      return method.points;
    case 'stratified':
      return method.rows * method.columns * method.perCell;
    case 'grid':
      return method.rows * method.columns;
  }
}

/**
 * Places the points of one image. Throws when the area is too small for the method (a cell
 * without pixels).
 */
export function placePoints(method: PointMethod, bounds: AreaBounds, rng: Random): Point[] {
  const H = bounds.maxRow - bounds.minRow + 1;
  const W = bounds.maxColumn - bounds.minColumn + 1;
  if (H < 1 || W < 1) throw new Error('the annotation area has no pixels');
  if (method.kind === 'random') {
    const drawn = Array.from({ length: method.points }, (_, i) => {
      const row = rng.int(bounds.minRow, bounds.maxRow);
      const column = rng.int(bounds.minColumn, bounds.maxColumn);
      const bucket = Math.floor(((row - bounds.minRow) * 5) / H) * 5 + Math.floor(((column - bounds.minColumn) * 5) / W);
      return { row, column, bucket, i };
    });
    // CoralNet numbers simple random points by a 5×5 bucket grid, row-major; generation order within.
    drawn.sort((a, b) => a.bucket - b.bucket || a.i - b.i);
    return drawn.map(({ row, column }) => ({ row, column }));
  }
  if (H < method.rows || W < method.columns) {
    throw new Error(`the annotation area (${W} × ${H} pixels) is smaller than the ${method.columns} × ${method.rows} cell grid`);
  }
  const grid = cellsOf(bounds, method.rows, method.columns);
  if (method.kind === 'grid') {
    return grid.map((cell) => ({ row: Math.floor((cell.rows[0] + cell.rows[1]) / 2), column: Math.floor((cell.columns[0] + cell.columns[1]) / 2) }));
  }
  // Plain loops: a million photos place tens of millions of points.
  const points: Point[] = [];
  for (const cell of grid) {
    for (let k = 0; k < method.perCell; k++) {
      const row = rng.int(cell.rows[0], cell.rows[1]);
      points.push({ row, column: rng.int(cell.columns[0], cell.columns[1]) });
    }
  }
  return points;
}

/**
 * Reads a method as users write it: `random:30`, `stratified:5x6x1` (rows × columns × points per
 * cell), `grid:10x10`. CoralNet's codes work too: `m_30`, `t_5_6_1`, `u_10_10`.
 */
export function parsePointMethod(text: string): PointMethod {
  // The whole text, as written or as CoralNet's codes: every number a whole number of its own.
  const match =
    /^(random):(\d+)$|^(m)_(\d+)$/.exec(text) ?? /^(stratified):(\d+)x(\d+)x(\d+)$|^(t)_(\d+)_(\d+)_(\d+)$/.exec(text) ?? /^(grid):(\d+)x(\d+)$|^(u)_(\d+)_(\d+)$/.exec(text);
  const [name, ...digits] = (match?.slice(1) ?? []).filter((part) => part !== undefined);
  const numbers = digits.map(Number);
  const kind = name === 'random' || name === 'm' ? 'random' : name === 'stratified' || name === 't' ? 'stratified' : name === 'grid' || name === 'u' ? 'grid' : undefined;
  const valid = (n: number, count: number): boolean => numbers.length === count && numbers.every((x) => x >= 1) && n <= 1000;
  if (kind === 'random' && valid(numbers[0] ?? 0, 1)) return { kind, points: numbers[0]! };
  if (kind === 'stratified' && valid(numbers[0]! * numbers[1]! * numbers[2]!, 3)) return { kind, rows: numbers[0]!, columns: numbers[1]!, perCell: numbers[2]! };
  if (kind === 'grid' && valid(numbers[0]! * numbers[1]!, 2)) return { kind, rows: numbers[0]!, columns: numbers[1]! };
  throw new Error(`"${text}" is not a point method: write random:30, stratified:5x6x1 (rows x columns x points per cell) or grid:10x10, at most 1000 points`);
}

/**
 * Reads an area: `15,85,15,85` (percent: minX,maxX,minY,maxY, as CoralNet's website) or
 * `px:600,3400,450,2550` (pixels: minColumn,maxColumn,minRow,maxRow, inclusive).
 */
export function parseArea(text: string): AnnotationArea {
  const pixels = text.startsWith('px:');
  const values = text.replace(/^px:/, '').split(/[,;]/).map((v) => Number(v.trim()));
  const [a, b, c, d] = values;
  if (values.length !== 4 || values.some((v) => !Number.isFinite(v) || v < 0) || !(a! < b!) || !(c! < d!)) {
    throw new Error(`"${text}" is not an annotation area: write minX,maxX,minY,maxY in percent (15,85,15,85), or px:minColumn,maxColumn,minRow,maxRow`);
  }
  if (pixels) {
    if (!values.every(Number.isInteger)) throw new Error(`"${text}": pixel bounds are whole numbers`);
    return { unit: 'pixels', minColumn: a!, maxColumn: b!, minRow: c!, maxRow: d! };
  }
  if (b! > 100 || d! > 100) throw new Error(`"${text}": percentages go from 0 to 100`);
  return { unit: 'percent', minX: a!, maxX: b!, minY: c!, maxY: d! };
}
