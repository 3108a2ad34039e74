/** The confidence curve: hand-computed counts, shares and chosen thresholds. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfidenceTally, percentStep } from '../src/review/confidence.js';
import { compareWithHumans, type MachineImage, type ReviewedImage } from '../src/review/compare.js';
import type { CocoFile } from '../src/review/cocoAnnotator.js';

test('percent steps: the highest whole percent at or under the score, not what score × 100 rounds to', () => {
  const cases: Array<[number, number]> = [
    [0, 0],
    [0.005, 0],
    [0.29, 29],
    [0.57, 57], // 0.57 × 100 is 56.99…
    [0.8, 80],
    [0.999, 99],
    [1, 100],
    [-0.1, -1],
  ];
  for (const [score, step] of cases) assert.equal(percentStep(score), step, String(score));
});

/** Reviewed: label, score, agreed. Survey: the reviewed points and two more. */
function handTally(): ConfidenceTally {
  const tally = new ConfidenceTally();
  const reviewed: Array<[string, number, boolean]> = [
    ['A', 0.9, true],
    ['A', 0.8, true],
    ['A', 0.8, false],
    ['A', 0.5, true],
    ['B', 0.6, false],
  ];
  for (const [label, score, agreed] of reviewed) {
    tally.reviewed(label, score, agreed);
    tally.survey(label, score);
  }
  tally.survey('A', 0.95);
  tally.survey('B', 0.3);
  return tally;
}

test('the curve by hand: points at a threshold count (ties included), shares of reviewed and survey points, the lowest threshold reaching the target', () => {
  const { overall, labels } = handTally().curves(95);
  assert.equal(overall.rows.length, 101);
  assert.deepEqual([overall.reviewedPoints, overall.surveyPoints], [5, 7]);
  const at = (t: number) => overall.rows[t]!;
  assert.deepEqual(at(0), { threshold: 0, points: 5, share: 1, agreed: 3, accuracy: 3 / 5, surveyPoints: 7, surveyShare: 1 });
  assert.deepEqual(at(51), { threshold: 51, points: 4, share: 4 / 5, agreed: 2, accuracy: 2 / 4, surveyPoints: 5, surveyShare: 5 / 7 });
  // The two points of 0.8 are at or above 80, not above 81.
  assert.deepEqual(at(80), { threshold: 80, points: 3, share: 3 / 5, agreed: 2, accuracy: 2 / 3, surveyPoints: 4, surveyShare: 4 / 7 });
  assert.deepEqual(at(81), { threshold: 81, points: 1, share: 1 / 5, agreed: 1, accuracy: 1, surveyPoints: 2, surveyShare: 2 / 7 });
  // Above every reviewed point: nothing to measure, though one survey point is still there.
  assert.deepEqual(at(91), { threshold: 91, points: 0, share: 0, agreed: 0, accuracy: null, surveyPoints: 1, surveyShare: 1 / 7 });
  assert.deepEqual(at(100), { threshold: 100, points: 0, share: 0, agreed: 0, accuracy: null, surveyPoints: 0, surveyShare: 0 });
  assert.equal(overall.chosen?.threshold, 81);

  const [a, b] = labels;
  assert.deepEqual([a!.label, a!.reviewedPoints, a!.surveyPoints, a!.chosen?.threshold], ['A', 4, 5, 81]);
  // B: one point, never agreed with; no points at all above 60.
  assert.deepEqual([b!.label, b!.reviewedPoints, b!.surveyPoints, b!.chosen], ['B', 1, 2, null]);
  assert.deepEqual(b!.rows[60], { threshold: 60, points: 1, share: 1, agreed: 0, accuracy: 0, surveyPoints: 1, surveyShare: 1 / 2 });
  assert.deepEqual(b!.rows[61], { threshold: 61, points: 0, share: 0, agreed: 0, accuracy: null, surveyPoints: 0, surveyShare: 0 });

  // 2 of 3 reaches 66 %, first at 61; 19 of 20 would reach 95 exactly (compared as counts).
  assert.equal(handTally().curves(66).overall.chosen?.threshold, 61);
  const exact = new ConfidenceTally();
  for (let i = 0; i < 20; i++) exact.reviewed('A', 0.7, i > 0);
  assert.equal(exact.curves(95).overall.chosen?.threshold, 0);
  assert.equal(exact.curves(95.1).overall.chosen, null);
});

test('a reviewed set of one label: its curve is the overall curve', () => {
  const tally = new ConfidenceTally();
  for (const [score, agreed] of [[0.2, false], [0.6, true], [0.9, true]] as const) {
    tally.reviewed('SAND', score, agreed);
    tally.survey('SAND', score);
  }
  const { overall, labels } = tally.curves(90);
  assert.equal(labels.length, 1);
  assert.deepEqual(labels[0]!.rows, overall.rows);
  assert.equal(overall.chosen?.threshold, 21);
  assert.deepEqual(overall.chosen, { threshold: 21, points: 2, share: 2 / 3, agreed: 2, accuracy: 1, surveyPoints: 2, surveyShare: 2 / 3 });
});

test('compare: the curve from matched points by the machine label, survey points from every image; pushed points only; reviewed points told in survey names', async () => {
  const point = (row: number, column: number, label: string, score: number) => ({ row, column, classifications: [{ label_code: label, score }, { label_code: 'SAND', score: 1 - score }] });
  const machine: MachineImage[] = [
    { name: 'site1/IMG_1.JPG', points: [point(10, 10, 'CORAL', 0.9), point(10, 20, 'CORAL', 0.55), point(20, 10, 'TURF', 0.4)] },
    { name: 'IMG_2.JPG', points: [point(10, 10, 'CORAL', 0.99)] }, // not reviewed
  ];
  async function* lines(): AsyncGenerator<MachineImage> {
    for (const image of machine) yield await Promise.resolve(image);
  }
  const human: CocoFile = {
    images: [{ id: 1, file_name: 'site1__IMG_1.JPG', width: 40, height: 30 }],
    categories: [{ id: 1, name: 'coral' }, { id: 2, name: 'Turf-x' }],
    annotations: [
      { id: 1, image_id: 1, category_id: 1, keypoints: [10, 10, 2] }, // agreed, 0.9
      { id: 2, image_id: 1, category_id: 2, keypoints: [21, 10, 2] }, // relabelled and moved a pixel, 0.55
    ],
  };
  const told: ReviewedImage[] = [];
  // Only the first two points were pushed: the third is not "removed by the reviewer".
  const pushed = new Map([['site1/IMG_1.JPG', new Set(['10,10', '10,20'])]]);
  const agreement = await compareWithHumans({ human, machine: lines(), tolerance: 1, target: 100, pushed, onReviewed: (image) => void told.push(image) });
  assert.deepEqual([agreement.matched, agreement.humanOnly, agreement.machineOnly], [2, 0, 0]);
  const { overall, labels } = agreement.confidence;
  assert.deepEqual([overall.reviewedPoints, overall.surveyPoints], [2, 4]);
  assert.deepEqual(overall.rows[55], { threshold: 55, points: 2, share: 1, agreed: 1, accuracy: 0.5, surveyPoints: 3, surveyShare: 3 / 4 });
  assert.equal(overall.chosen?.threshold, 56);
  assert.deepEqual(overall.chosen?.surveyPoints, 2);
  assert.deepEqual(labels.map((l) => [l.label, l.reviewedPoints, l.surveyPoints]), [['CORAL', 2, 3], ['TURF', 0, 1]]);
  assert.deepEqual(told, [
    {
      name: 'site1/IMG_1.JPG',
      points: [
        { row: 10, column: 10, label: 'CORAL', machine: { row: 10, column: 10, label: 'CORAL', score: 0.9 } },
        { row: 10, column: 21, label: 'Turf-x', machine: { row: 10, column: 20, label: 'CORAL', score: 0.55 } },
      ],
    },
  ]);

  // Without the record, the unpushed point counts as removed.
  const all = await compareWithHumans({ human, machine: lines(), tolerance: 1 });
  assert.deepEqual([all.matched, all.humanOnly, all.machineOnly], [2, 0, 1]);
});
