// The review loop: a survey folder annotated through CoralNet; only the images the machine is unsure
// of (and a sample of the rest) pushed to COCO Annotator; once people have reviewed them, the
// confidence curve, the survey's final labels, and the corrected points for CoralNet.
//   CORALNET_TOKEN=… COCO_ANNOTATOR_URL=… COCO_ANNOTATOR_USER=… COCO_ANNOTATOR_PASSWORD=… \
//     node dist/pipelines/review-loop.js /surveys/lagoon "Lagoon review" push 0.8     # annotate, push the uncertain
//     node dist/pipelines/review-loop.js /surveys/lagoon "Lagoon review" finish       # after the review
import { acceptedPaths, agreementPaths, CocoAnnotator, compareWithHumans, NdjsonFile, pushForReview, pushRecordPath, readPushRecord, readResultLines, runSurvey, writeAccepted, writeAgreement, writeCoralNetAnnotations, type ReviewedImage } from 'reefstream';

const [folder = '/surveys/lagoon', dataset = 'Lagoon review', step = 'push', below = '0.8'] = process.argv.slice(2);
const env = process.env;
const login = { url: env.COCO_ANNOTATOR_URL ?? 'http://127.0.0.1:5000/', username: env.COCO_ANNOTATOR_USER ?? '', password: env.COCO_ANNOTATOR_PASSWORD ?? '' };
const results = 'results.ndjson';

if (step === 'push') {
  const summary = await runSurvey({
    apiUrl: env.CORALNET_API, // unset: https://coralnet.ucsd.edu/api/
    token: env.CORALNET_TOKEN,
    username: env.CORALNET_USER,
    classifierId: Number(env.CORALNET_CLASSIFIER ?? 1),
    source: folder,
    points: 'stratified:5x6x1',
    out: 'results.csv',
    ndjson: results,
  });
  // The uncertain points of the images that have one, and 20 other images whole, to keep measuring above the threshold.
  const pushed = await pushForReview({ ...login, dataset, results, below: Number(below), sample: 20, seed: '1', points: 'below' });
  const chosen = pushed.selection!;
  console.log(`${summary.annotated} images annotated; for review: ${chosen.uncertain} with a point under ${chosen.below}, ${chosen.sampled} sampled; ${pushed.annotations} points pushed`);
  for (const { name, reason } of pushed.lost.reasons) console.error(`not in ${dataset}: ${name}: ${reason}`);
  if (pushed.lost.reasons.length > 0 || summary.failed > 0) process.exitCode = 3;
} else {
  const annotator = await CocoAnnotator.connect(login);
  const { id } = await annotator.dataset(dataset);
  // Compared on the points that were pushed: the rest of an uncertain image was not shown to anyone.
  const pushed = await readPushRecord(pushRecordPath(results), annotator.url.origin, id);
  const reviewed = new Map<string, ReviewedImage>();
  const points = await NdjsonFile.open(agreementPaths('agreement').points);
  const agreement = await compareWithHumans({
    human: await annotator.exportCoco(id),
    machine: readResultLines(results),
    pushed,
    target: 95,
    onReviewed: async (image) => {
      reviewed.set(image.name, image);
      await points.write(image);
    },
  });
  await points.close();
  await writeAgreement(agreement, 'agreement');
  const chosen = agreement.confidence.overall.chosen;
  const threshold = chosen === null ? 1 : chosen.threshold / 100;
  const accepted = await writeAccepted({ results, threshold, reviewed, out: acceptedPaths(results).csv, ndjson: acceptedPaths(results).ndjson });
  const exported = await writeCoralNetAnnotations(reviewed.values(), 'coralnet-annotations.csv');
  console.log(
    `${agreement.matched} reviewed points, top-1 ${((agreement.top1Accuracy ?? 0) * 100).toFixed(1)} %; ` +
      `${chosen === null ? 'no threshold reaches 95 %: only reviewed points are labelled' : `95 % reached at ${chosen.threshold} %`}; ` +
      `final labels: ${accepted.human} reviewed, ${accepted.robot} machine, ${accepted.unlabelled} none (results.accepted.csv); ` +
      `${exported.points} points for CoralNet (coralnet-annotations.csv)`,
  );
}
