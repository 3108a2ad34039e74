/**
 * The README's pipeline (pipelines/readme-example.ts) for the memory bench, the one change being
 * `probe` told the photos' size: the bench's URLs are images the simulator makes up, with nothing to
 * read on this side (as `--image-size` in the CLI's run).
 *   CORALNET_API=… CORALNET_TOKEN=… node dist/bench/readmePipeline.js urls.txt out-prefix
 */
import { lastValueFrom } from 'rxjs';
import { CoralNetClient } from '../src/coralnet/client.js';
import { annotate } from '../src/operators/annotate.js';
import { chunk } from '../src/operators/chunk.js';
import { listImages } from '../src/operators/listImages.js';
import { probe } from '../src/operators/probe.js';
import { samplePoints } from '../src/operators/samplePoints.js';
import { writeCsv, writeErrors, writeNdjson } from '../src/operators/write.js';
import { parseRate } from '../src/util/duration.js';

const [list = 'urls.txt', out = 'results'] = process.argv.slice(2);
const lifted = [parseRate('100000000/1m'), parseRate('100000000/1h')];
const client = await CoralNetClient.connect({ apiUrl: process.env.CORALNET_API, token: process.env.CORALNET_TOKEN, windows: lifted });
await lastValueFrom(
  listImages(list).pipe(
    probe({ imageSize: { width: 4000, height: 3000 } }),
    samplePoints({ method: 'stratified:5x6x1', area: '15,85,15,85', seed: 1 }),
    chunk(100),
    annotate(client, { classifierId: 1 }),
    writeCsv(`${out}.csv`, { metadata: true }),
    writeNdjson(`${out}.ndjson`),
    writeErrors(`${out}.errors.ndjson`),
  ),
  { defaultValue: undefined },
);
await client.close();
