// A URL list (one URL a line, or CSV with url,name,Aux1..5) to NDJSON with every score, for
// surveys whose camera gives every photo one size: nothing is downloaded on this side.
//   CORALNET_TOKEN=… node dist/pipelines/urls-to-ndjson.js urls.csv results
import { runSurvey } from 'reefstream';

const [list = 'urls.txt', name = 'results'] = process.argv.slice(2);

const summary = await runSurvey({
  apiUrl: process.env.CORALNET_API,
  token: process.env.CORALNET_TOKEN,
  username: process.env.CORALNET_USER,
  classifierId: Number(process.env.CORALNET_CLASSIFIER ?? 1),
  source: list,
  imageSize: { width: 4000, height: 3000 },
  points: 'random:30',
  seed: 7,
  out: `${name}.csv`,
  ndjson: `${name}.ndjson`,
});
console.log(`${summary.points} points from ${summary.jobs} jobs in ${summary.seconds.toFixed(0)} s`);
