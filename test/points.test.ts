import assert from 'node:assert/strict';
import { test } from 'node:test';
import { areaBounds, cells, parseArea, parsePointMethod, placePoints, WHOLE_IMAGE } from '../src/images/points.js';
import { seededRandom } from '../src/util/random.js';

const survey = parseArea('15,85,15,85');

test("the 4000×3000 example: CoralNet's stratified 5×6 cells, exactly", () => {
  const bounds = areaBounds(survey, 4000, 3000);
  assert.deepEqual(bounds, { minRow: 449, maxRow: 2549, minColumn: 599, maxColumn: 3399 });
  const grid = cells(bounds, 5, 6);
  const rowRanges = [...new Set(grid.map((c) => c.rows.join('-')))];
  const columnRanges = [...new Set(grid.map((c) => c.columns.join('-')))];
  assert.deepEqual(rowRanges, ['449-868', '869-1288', '1289-1708', '1709-2128', '2129-2549']);
  assert.deepEqual(columnRanges, ['599-1064', '1065-1531', '1532-1998', '1999-2465', '2466-2932', '2933-3399']);
});

test('the whole image: 0 % → 0 and 100 % → dim − 1', () => {
  assert.deepEqual(areaBounds(WHOLE_IMAGE, 800, 600), { minRow: 0, maxRow: 599, minColumn: 0, maxColumn: 799 });
  assert.deepEqual(areaBounds(parseArea('px:10,20,30,40'), 800, 600), { minRow: 30, maxRow: 40, minColumn: 10, maxColumn: 20 });
});

test('stratified: P points per cell, numbered cell by cell, each inside its cell', () => {
  const bounds = areaBounds(survey, 4000, 3000);
  const points = placePoints(parsePointMethod('stratified:5x6x2'), bounds, seededRandom(1));
  assert.equal(points.length, 60);
  const grid = cells(bounds, 5, 6);
  points.forEach((p, i) => {
    const cell = grid[Math.floor(i / 2)]!;
    assert.ok(p.row >= cell.rows[0] && p.row <= cell.rows[1] && p.column >= cell.columns[0] && p.column <= cell.columns[1], JSON.stringify({ i, p, cell }));
  });
});

test('uniform grid: one point at each cell centre, (min + max) // 2', () => {
  const points = placePoints(parsePointMethod('grid:5x6'), areaBounds(survey, 4000, 3000), seededRandom(1));
  assert.equal(points.length, 30);
  assert.deepEqual(points[0], { row: 658, column: 831 });
  assert.deepEqual(points[29], { row: 2339, column: 3166 });
});

test('simple random: inside the area, numbered by the 5×5 buckets row-major', () => {
  const bounds = areaBounds(survey, 4000, 3000);
  const points = placePoints(parsePointMethod('random:200'), bounds, seededRandom(7));
  assert.equal(points.length, 200);
  const H = bounds.maxRow - bounds.minRow + 1;
  const W = bounds.maxColumn - bounds.minColumn + 1;
  const buckets = points.map((p) => Math.floor(((p.row - bounds.minRow) * 5) / H) * 5 + Math.floor(((p.column - bounds.minColumn) * 5) / W));
  assert.deepEqual([...buckets].sort((a, b) => a - b), buckets);
  assert.ok(points.every((p) => p.row >= 449 && p.row <= 2549 && p.column >= 599 && p.column <= 3399));
});

test('the same seed gives the same points; another seed other points', () => {
  const bounds = areaBounds(WHOLE_IMAGE, 1000, 1000);
  const method = parsePointMethod('stratified:2x2x3');
  assert.deepEqual(placePoints(method, bounds, seededRandom('1:a.jpg')), placePoints(method, bounds, seededRandom('1:a.jpg')));
  assert.notDeepEqual(placePoints(method, bounds, seededRandom('1:a.jpg')), placePoints(method, bounds, seededRandom('2:a.jpg')));
});

test('the generator draws what it always drew: a survey placed again gets the same points', () => {
  const rng = seededRandom(1);
  assert.deepEqual([rng.next(), rng.next(), rng.next()], [0.07573103904724121, 0.606203944189474, 0.30778138362802565]);
  const named = seededRandom('1:IMG_0001.JPG');
  assert.deepEqual(Array.from({ length: 6 }, () => named.int(0, 3999)), [3940, 3396, 1404, 1516, 2168, 1515]);
  const points = placePoints(parsePointMethod('stratified:5x6x1'), areaBounds(survey, 4000, 3000), seededRandom('1:IMG_0001.JPG'));
  assert.deepEqual(points.slice(0, 3), [{ row: 862, column: 994 }, { row: 596, column: 1242 }, { row: 676, column: 1708 }]);
});

test('an image smaller than the grid is refused with its size', () => {
  assert.throws(() => placePoints(parsePointMethod('grid:10x10'), areaBounds(WHOLE_IMAGE, 8, 20), seededRandom(1)), /the annotation area \(8 × 20 pixels\) is smaller than the 10 × 10 cell grid/);
});

test('methods and areas as users write them, and CoralNet codes', () => {
  assert.deepEqual(parsePointMethod('random:30'), { kind: 'random', points: 30 });
  assert.deepEqual(parsePointMethod('m_30'), { kind: 'random', points: 30 });
  assert.deepEqual(parsePointMethod('t_5_6_1'), { kind: 'stratified', rows: 5, columns: 6, perCell: 1 });
  assert.deepEqual(parsePointMethod('grid:10x10'), { kind: 'grid', rows: 10, columns: 10 });
  assert.throws(() => parsePointMethod('random:0'), /is not a point method/);
  assert.throws(() => parsePointMethod('grid:40x40'), /at most 1000 points/);
  assert.throws(() => parsePointMethod('hexagons:5'), /is not a point method/);
  // Every character counts: a sign, a space or a tail is not taken as another number.
  for (const text of ['random:-3', 'random: 30', 'random:30abc', 'stratified:5x6', 'grid:10x10x1', 'm_3_0']) assert.throws(() => parsePointMethod(text), /is not a point method/, text);
  assert.deepEqual(parsePointMethod('u_10_10'), { kind: 'grid', rows: 10, columns: 10 });
  assert.throws(() => parseArea('85,15,15,85'), /is not an annotation area/);
  assert.throws(() => parseArea('0,120,0,100'), /from 0 to 100/);
});
