// The operators one by one, with an operator of your own: skip photos taken before the camera
// reached the reef (here, before 09:00:30), and keep only the top label in a CSV of your own.
//   CORALNET_TOKEN=… CORALNET_API=http://127.0.0.1:8123/api/ node dist/pipelines/custom-chain.js urls.txt
import { lastValueFrom, tap } from 'rxjs';
import { annotate, chunk, CoralNetClient, giveBack, isFailed, listImages, probe, samplePoints, skipImages, toRows, type OrFailed, type ProbedImage } from 'reefstream';

/** An operator of your own: photos from 09:00:30 on (failed images pass on to be reported); skipImages gives back the credits of the others. */
const onTheReef = skipImages((image: OrFailed<ProbedImage>) => !isFailed(image) && (image.dateTimeOriginal ?? '') < '2024:03:05 09:00:30');

const client = await CoralNetClient.connect({ apiUrl: process.env.CORALNET_API, token: process.env.CORALNET_TOKEN, username: process.env.CORALNET_USER });
console.log('Name,Row,Column,Label');
await lastValueFrom(
  listImages(process.argv[2] ?? 'urls.txt').pipe(
    probe(),
    onTheReef,
    samplePoints({ method: 'grid:2x2' }),
    chunk(100, 500),
    annotate(client, { classifierId: Number(process.env.CORALNET_CLASSIFIER ?? 1) }),
    toRows({ suggestions: 0 }),
    // A sink of your own: once an image's lines are out, its credit goes back to the listing.
    tap(({ outcome, rows }) => {
      rows.forEach((r) => console.log([outcome.name, r[1], r[2], r[3]].join(',')));
      giveBack(outcome);
    }),
  ),
  { defaultValue: undefined },
);
await client.close();
