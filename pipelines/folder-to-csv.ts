// A folder of survey photos to CoralNet's export CSV, 30 stratified points each.
//   CORALNET_TOKEN=… node dist/pipelines/folder-to-csv.js /surveys/lagoon https://my.bucket.example/lagoon/ results.csv
// The folder's images must be published under the URL prefix (CoralNet downloads them).
import { runSurvey } from 'reefstream';

const [folder = 'survey', urlPrefix, out = 'results.csv'] = process.argv.slice(2);

const summary = await runSurvey({
  apiUrl: process.env.CORALNET_API, // unset: https://coralnet.ucsd.edu/api/
  token: process.env.CORALNET_TOKEN,
  username: process.env.CORALNET_USER,
  classifierId: Number(process.env.CORALNET_CLASSIFIER ?? 1),
  source: folder,
  urlPrefix,
  points: 'stratified:5x6x1',
  area: '15,85,15,85',
  seed: 1,
  out,
});
console.log(`${summary.annotated} images annotated, ${summary.failed} failed (see ${summary.outputs.errors})`);
