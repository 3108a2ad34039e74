// A Dropbox survey folder through CoralNet into COCO Annotator for people to check, 30 stratified
// points a photo; once they have reviewed, the agreement of machine and humans.
//   DROPBOX_TOKEN=… CORALNET_TOKEN=… COCO_ANNOTATOR_URL=… COCO_ANNOTATOR_USER=… COCO_ANNOTATOR_PASSWORD=… \
//     node dist/pipelines/dropbox-to-review.js /Surveys/site1 "Site 1 review"            # annotate and push
//     node dist/pipelines/dropbox-to-review.js /Surveys/site1 "Site 1 review" compare    # after the review
import { CocoAnnotator, compareWithHumans, dropbox, pushForReview, readResultLines, runSurvey, writeAgreement } from 'reefstream';

const [folder = '/Surveys/site1', dataset = 'Site 1 review', step = 'push'] = process.argv.slice(2);
const env = process.env;
const login = { url: env.COCO_ANNOTATOR_URL ?? 'http://127.0.0.1:5000/', username: env.COCO_ANNOTATOR_USER ?? '', password: env.COCO_ANNOTATOR_PASSWORD ?? '' };

if (step === 'push') {
  const summary = await runSurvey({
    apiUrl: env.CORALNET_API, // unset: https://coralnet.ucsd.edu/api/
    token: env.CORALNET_TOKEN,
    username: env.CORALNET_USER,
    classifierId: Number(env.CORALNET_CLASSIFIER ?? 1),
    source: dropbox({ token: env.DROPBOX_TOKEN, path: folder, apiUrl: env.DROPBOX_API }),
    sourceName: `dropbox:${folder}`,
    points: 'stratified:5x6x1',
    out: 'results.csv',
    ndjson: 'results.ndjson',
  });
  const pushed = await pushForReview({ ...login, dataset, results: 'results.ndjson' });
  console.log(`${summary.annotated} images annotated; ${pushed.uploaded} uploaded to ${dataset}, ${pushed.annotations} points to review`);
  // What the import dropped is not recorded as pushed: running this again sends it.
  for (const { name, reason } of pushed.lost.reasons) console.error(`not in ${dataset}: ${name}: ${reason}`);
  if (pushed.lost.reasons.length > 0 || summary.failed > 0) process.exitCode = 3;
} else {
  const annotator = await CocoAnnotator.connect(login);
  const human = await annotator.exportCoco((await annotator.dataset(dataset)).id);
  const agreement = await compareWithHumans({ human, machine: readResultLines('results.ndjson') });
  await writeAgreement(agreement, 'agreement');
  console.log(`top-1 agreement ${((agreement.top1Accuracy ?? 0) * 100).toFixed(1)} % on ${agreement.matched} reviewed points (agreement.*.csv)`);
}
