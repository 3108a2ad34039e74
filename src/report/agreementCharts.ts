/**
 * The review in the report: the confidence curve (top-1 accuracy of the reviewed points at or above
 * each threshold, and the share of the survey's points that threshold accepts, the chosen threshold
 * marked) and the confusion matrix as a grid shaded by the share of each human label's points.
 * SVG drawn here, as the report's other charts.
 */
import type { Agreement } from '../review/compare.js';
import type { ConfidenceCurve } from '../review/confidence.js';
import { escapeXml } from './palette.js';

const ACCURACY = '#1f6fb4';
const ACCEPTED = '#d9822b';

const pct = (share: number): string => `${(100 * share).toFixed(1)} %`;

/** A line through the thresholds that have a value; a threshold without one breaks it. */
function line(curve: ConfidenceCurve, value: (row: ConfidenceCurve['rows'][number]) => number | null, x: (t: number) => number, y: (share: number) => number): string {
  let d = '';
  let drawing = false;
  for (const row of curve.rows) {
    const v = value(row);
    if (v === null) {
      drawing = false;
      continue;
    }
    d += `${drawing ? 'L' : 'M'}${x(row.threshold).toFixed(1)},${y(v).toFixed(1)}`;
    drawing = true;
  }
  return d;
}

/**
 * The overall confidence curve.
 * @example confidenceCurve(agreement.confidence.overall, agreement.confidence.target)
 */
export function confidenceCurve(curve: ConfidenceCurve, target: number): string {
  const [width, height, left, right, top, bottom] = [900, 340, 60, 20, 20, 60];
  const x = (t: number) => left + (t / 100) * (width - left - right);
  const y = (share: number) => top + (1 - share) * (height - top - bottom);
  const grid = [0, 25, 50, 75, 100]
    .map((p) => `<line x1="${left}" x2="${width - right}" y1="${y(p / 100)}" y2="${y(p / 100)}" stroke="#ddd"/><text x="${left - 6}" y="${y(p / 100) + 4}" font-size="10" text-anchor="end">${p}%</text>`)
    .join('');
  const ticks = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map((t) => `<text x="${x(t)}" y="${height - bottom + 16}" font-size="10" text-anchor="middle">${t}%</text>`).join('');
  const targetLine = `<line x1="${left}" x2="${width - right}" y1="${y(target / 100)}" y2="${y(target / 100)}" stroke="${ACCURACY}" stroke-dasharray="4 4" stroke-opacity="0.6"/><text x="${left + 6}" y="${y(target / 100) + 14}" font-size="10" fill="${ACCURACY}">target ${target} %</text>`;
  const chosen = curve.chosen;
  const mark =
    chosen === null
      ? `<text id="no-threshold" x="${left + 10}" y="${top + 14}" font-size="12">No threshold reaches ${target} % on the reviewed points.</text>`
      : `<g id="chosen" data-threshold="${chosen.threshold}"><line x1="${x(chosen.threshold)}" x2="${x(chosen.threshold)}" y1="${top}" y2="${height - bottom}" stroke="#123" stroke-width="1.5"/>` +
        `<text x="${x(chosen.threshold) + (chosen.threshold > 60 ? -6 : 6)}" y="${height - bottom - 10}" font-size="12" text-anchor="${chosen.threshold > 60 ? 'end' : 'start'}" stroke="#fff" stroke-width="3" paint-order="stroke">${chosen.threshold} %: ${pct(chosen.accuracy ?? 0)} right, accepts ${pct(chosen.surveyShare ?? 0)} of the survey's points</text></g>`;
  const titles =
    `<text x="14" y="${(height - bottom) / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 14 ${(height - bottom) / 2})">% of points</text>` +
    `<text x="${left + (width - left - right) / 2}" y="${height - 18}" font-size="11" text-anchor="middle">threshold: the machine's top score at or above</text>`;
  const accuracy = `<path id="accuracy-line" d="${line(curve, (r) => r.accuracy, x, y)}" fill="none" stroke="${ACCURACY}" stroke-width="2.5"/>`;
  const accepted = `<path id="accepted-line" d="${line(curve, (r) => r.surveyShare, x, y)}" fill="none" stroke="${ACCEPTED}" stroke-width="2.5"/>`;
  return `<svg id="confidence-curve" viewBox="0 0 ${width} ${height}" role="img" data-thresholds="${curve.rows.length}">${grid}${ticks}${targetLine}${accuracy}${accepted}${mark}${titles}</svg>`;
}

/** The legend of the curve's two lines. */
export const curveLegend = `<ul class="legend"><li><span class="swatch" style="background:${ACCURACY}"></span>top-1 accuracy of the reviewed points at or above</li><li><span class="swatch" style="background:${ACCEPTED}"></span>share of the survey's points accepted</li></ul>`;

/**
 * The confusion matrix: rows the human label, columns the machine's first choice, each cell shaded
 * by its share of the row and showing its count.
 * @example confusionMatrix(agreement.confusion)
 */
export function confusionMatrix(confusion: Agreement['confusion']): string {
  const { labels, counts } = confusion;
  const cell = Math.max(18, Math.min(44, Math.floor(640 / Math.max(1, labels.length))));
  const [left, top] = [110, 100];
  const size = cell * labels.length;
  const cells = counts.flatMap((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((n, j) => {
      const share = total === 0 ? 0 : n / total;
      const colour = i === j ? `rgba(31,111,180,${(0.1 + 0.9 * share).toFixed(2)})` : `rgba(200,60,40,${(share === 0 ? 0 : 0.15 + 0.85 * share).toFixed(2)})`;
      const text = n === 0 ? '' : `<text x="${left + j * cell + cell / 2}" y="${top + i * cell + cell / 2 + 4}" font-size="${Math.min(12, cell / 2.5).toFixed(0)}" text-anchor="middle" fill="${share > 0.6 ? '#fff' : '#123'}">${n}</text>`;
      return `<g class="cell" data-human="${escapeXml(labels[i]!)}" data-machine="${escapeXml(labels[j]!)}" data-count="${n}"><rect x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="${colour}" stroke="#fff"><title>human ${escapeXml(labels[i]!)}, machine ${escapeXml(labels[j]!)}: ${n} (${pct(share)} of ${escapeXml(labels[i]!)})</title></rect>${text}</g>`;
    });
  });
  const rowNames = labels.map((label, i) => `<text x="${left - 6}" y="${top + i * cell + cell / 2 + 4}" font-size="11" text-anchor="end">${escapeXml(label)}</text>`).join('');
  const columnNames = labels.map((label, j) => `<text x="${left + j * cell + cell / 2}" y="${top - 6}" font-size="11" text-anchor="start" transform="rotate(-45 ${left + j * cell + cell / 2} ${top - 6})">${escapeXml(label)}</text>`).join('');
  const titles = `<text x="${left + size / 2}" y="12" font-size="11" text-anchor="middle">the machine's first choice</text><text x="12" y="${top + size / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 12 ${top + size / 2})">the reviewer's label</text>`;
  return `<svg id="confusion-matrix" viewBox="0 0 ${left + size + 20} ${top + size + 20}" role="img" data-labels="${labels.length}" style="max-width:${left + size + 20}px">${titles}${columnNames}${rowNames}${cells.join('')}</svg>`;
}

/**
 * The report's review section.
 * @example reviewSection(JSON.parse(await readFile('agreement.json', 'utf8')))
 */
export function reviewSection(agreement: Agreement): string {
  const { overall, target } = agreement.confidence;
  const chosen = overall.chosen;
  const summary =
    `<p>${agreement.images} reviewed images, ${agreement.matched} points matched: top-1 ${agreement.top1Accuracy === undefined ? 'n/a' : pct(agreement.top1Accuracy)}. ` +
    (chosen === null
      ? `No threshold reaches ${target} % top-1 accuracy on the reviewed points.`
      : `At a threshold of ${chosen.threshold} % the reviewed points are ${pct(chosen.accuracy ?? 0)} right (target ${target} %), and ${chosen.surveyPoints.toLocaleString('en')} of the survey's ${overall.surveyPoints.toLocaleString('en')} points (${pct(chosen.surveyShare ?? 0)}) would be accepted without review.`) +
    '</p>';
  return `<section id="review"><h2>How far to trust the machine (reviewed points)</h2>${summary}${curveLegend}${confidenceCurve(overall, target)}<h3>Confusion matrix</h3>${confusionMatrix(agreement.confusion)}</section>`;
}
