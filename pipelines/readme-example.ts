// The README's "Pipelines in code" example, as it stands there: a URL list to CoralNet's CSV, the
// NDJSON with every score and the errors file, with the operators one by one. At most 1,100 images
// are in flight: the listing goes on only as far as the sinks have written.
//   CORALNET_TOKEN=… CORALNET_API=http://127.0.0.1:8123/api/ node dist/pipelines/readme-example.js urls.txt
import { lastValueFrom } from 'rxjs';
import { annotate, chunk, CoralNetClient, listImages, probe, samplePoints, writeCsv, writeErrors, writeNdjson } from 'reefstream';

const client = await CoralNetClient.connect({ apiUrl: process.env.CORALNET_API, token: process.env.CORALNET_TOKEN, username: process.env.CORALNET_USER });
await lastValueFrom(
  listImages(process.argv[2] ?? 'urls.txt').pipe(
    probe(), // size, EXIF date and GPS
    samplePoints({ method: 'stratified:5x6x1', area: '15,85,15,85', seed: 1 }),
    chunk(100), // one deploy request each
    annotate(client, { classifierId: Number(process.env.CORALNET_CLASSIFIER ?? 1) }), // deploy → pollUntilDone → retryErrors, 5 at once
    writeCsv('results.csv', { metadata: true }), // CoralNet's export rows; each image's credit back once written
    writeNdjson('results.ndjson'),
    writeErrors('results.errors.ndjson'),
  ),
  { defaultValue: undefined },
);
await client.close();
