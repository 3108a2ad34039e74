/**
 * How far the machine can be trusted at each confidence: for thresholds 0 to 100 %, the reviewed
 * points whose top score is at or above the threshold, how many of them people agreed with (top-1),
 * and how many of the whole survey's points that threshold would accept without review — overall
 * and per label (the machine's top label: what accepting acts on). The lowest threshold whose
 * accepted points reach a target accuracy is the one to accept at.
 *
 * Scores are kept as counts in 101 steps (1 %), so a survey of any size takes the same memory.
 */

/** One threshold of a curve. Shares and accuracy are 0–1, null without points to measure them. */
export interface ThresholdRow {
  /** Percent: a point counts when its top score ≥ threshold / 100. */
  threshold: number;
  /** Reviewed points at or above, and their share of the reviewed points. */
  points: number;
  share: number | null;
  /** Of those, the ones people gave the machine's top label; their share. */
  agreed: number;
  accuracy: number | null;
  /** Survey points at or above, and their share of the survey's points. */
  surveyPoints: number;
  surveyShare: number | null;
}

export interface ConfidenceCurve {
  /** A label code, or `All labels`. */
  label: string;
  reviewedPoints: number;
  surveyPoints: number;
  rows: ThresholdRow[];
  /** The lowest threshold whose reviewed points at or above it reach the target accuracy; null when none does. */
  chosen: ThresholdRow | null;
}

export interface Confidence {
  /** Target top-1 accuracy, percent. */
  target: number;
  overall: ConfidenceCurve;
  labels: ConfidenceCurve[];
}

export const ALL_LABELS = 'All labels';

/**
 * The highest whole percent `t` with `score ≥ t / 100` (-1 below 0, 100 at 1 and above). Worked on
 * the comparison itself, not on `score * 100`, which is 56.99… for 0.57.
 */
export function percentStep(score: number): number {
  if (!(score >= 0)) return -1;
  if (score >= 1) return 100;
  let t = Math.floor(score * 100);
  while (t < 100 && score >= (t + 1) / 100) t++;
  while (t > 0 && score < t / 100) t--;
  return t;
}

/** Counts at each step, 0–100. */
class Steps {
  readonly reviewed = new Array<number>(101).fill(0);
  readonly agreed = new Array<number>(101).fill(0);
  readonly survey = new Array<number>(101).fill(0);
}

/** The reviewed points and survey points, tallied by label and step. */
export class ConfidenceTally {
  readonly #labels = new Map<string, Steps>();
  readonly #all = new Steps();

  #steps(label: string): Steps {
    let steps = this.#labels.get(label);
    if (steps === undefined) this.#labels.set(label, (steps = new Steps()));
    return steps;
  }

  /** A point a person reviewed: the machine's top label and score, and whether the person agreed. */
  reviewed(label: string, score: number, agreed: boolean): void {
    const step = percentStep(score);
    if (step < 0) return;
    for (const steps of [this.#all, this.#steps(label)]) {
      steps.reviewed[step]!++;
      if (agreed) steps.agreed[step]!++;
    }
  }

  /** A point of the survey (reviewed or not): the machine's top label and score. */
  survey(label: string, score: number): void {
    const step = percentStep(score);
    if (step < 0) return;
    this.#all.survey[step]!++;
    this.#steps(label).survey[step]!++;
  }

  /**
   * The curves, labels in the order `show` spells them.
   * @example const { overall } = tally.curves(95); overall.chosen?.threshold
   */
  curves(target: number, show: (label: string) => string = (label) => label): Confidence {
    const labels = [...this.#labels]
      .map(([label, steps]) => curveOf(show(label), steps, target))
      .sort((a, b) => a.label.localeCompare(b.label));
    return { target, overall: curveOf(ALL_LABELS, this.#all, target), labels };
  }
}

function curveOf(label: string, steps: Steps, target: number): ConfidenceCurve {
  const sum = (counts: number[]) => counts.reduce((a, b) => a + b, 0);
  const reviewedPoints = sum(steps.reviewed);
  const surveyPoints = sum(steps.survey);
  const rows: ThresholdRow[] = [];
  let points = 0;
  let agreed = 0;
  let survey = 0;
  for (let t = 100; t >= 0; t--) {
    points += steps.reviewed[t]!;
    agreed += steps.agreed[t]!;
    survey += steps.survey[t]!;
    rows.push({
      threshold: t,
      points,
      share: reviewedPoints === 0 ? null : points / reviewedPoints,
      agreed,
      accuracy: points === 0 ? null : agreed / points,
      surveyPoints: survey,
      surveyShare: surveyPoints === 0 ? null : survey / surveyPoints,
    });
  }
  rows.reverse();
  // Compared as counts, so that 19 of 20 reaches 95 % exactly.
  const chosen = rows.find((row) => row.points > 0 && row.agreed * 100 >= target * row.points) ?? null;
  return { label, reviewedPoints, surveyPoints, rows, chosen };
}
