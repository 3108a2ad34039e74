import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Subject, lastValueFrom, from, toArray } from 'rxjs';
import type { ImageRef, PlannedImage } from '../src/model.js';
import { chunk } from '../src/operators/chunk.js';
import { dropDuplicates } from '../src/operators/dropDuplicates.js';
import { requestEntries } from '../src/operators/deploy.js';
import { failedBeforeSending, isFailed, type OrFailed } from '../src/operators/failures.js';
import { outcomesOf } from '../src/operators/retryErrors.js';
import { progressLine } from '../src/flow/progress.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RateGate } from '../src/coralnet/rateGate.js';
import { PollPlanner } from '../src/flow/pollPlanner.js';
import { givenPoints, readPointsCsv } from '../src/operators/samplePoints.js';
import { tempFolder } from './helpers.js';

const planned = (name: string, points = 30): PlannedImage => ({
  name,
  url: `https://example.org/${name}`,
  width: 100,
  height: 100,
  attempts: 0,
  points: Array.from({ length: points }, (_, i) => ({ row: i % 100, column: 0 })),
});

test('chunk: at most 100 entries a request; an image of 201–400 points counts twice; failures pass at once', async () => {
  const items: Array<OrFailed<PlannedImage>> = [
    ...Array.from({ length: 150 }, (_, i) => planned(`${i}.jpg`)),
    failedBeforeSending({ name: 'bad.jpg' }, 'not an image'),
    planned('big.jpg', 250),
    ...Array.from({ length: 99 }, (_, i) => planned(`x${i}.jpg`)),
  ];
  const out = await lastValueFrom(from(items).pipe(chunk(100), toArray()));
  const sizes = out.map((c) => (Array.isArray(c) ? c.length : 'failed'));
  // 50 more small ones and big.jpg's 2 entries, then 48 of the rest fill the second request.
  assert.deepEqual(sizes, [100, 'failed', 99, 51]);
  const entries = out.filter(Array.isArray).map((c) => requestEntries(c).length);
  assert.deepEqual(entries, [100, 100, 51]);
});

test('chunk: a partial chunk is sent after the flush time without a new image', async () => {
  const source = new Subject<PlannedImage>();
  const seen: number[] = [];
  const subscription = source.pipe(chunk(100, 50)).subscribe((c) => seen.push(Array.isArray(c) ? c.length : -1));
  source.next(planned('a.jpg'));
  source.next(planned('b.jpg'));
  await new Promise((resolve) => setTimeout(resolve, 120));
  assert.deepEqual(seen, [2]);
  source.next(planned('c.jpg'));
  source.complete();
  assert.deepEqual(seen, [2, 1]);
  subscription.unsubscribe();
});

test('entries of a split image are joined back; one failed entry fails the image', () => {
  const big = planned('big.jpg', 250);
  const small = planned('small.jpg', 2);
  const point = (row: number) => ({ row, column: 0, classifications: [{ label_id: 1, label_code: 'A', label_name: 'a', score: 1 }] });
  const ok = outcomesOf({
    job: { id: '4', statusUrl: '', resultUrl: '' },
    images: [big, small],
    sentAt: 0,
    results: [
      { url: big.url!, ok: true, points: big.points.slice(0, 200).map((p) => point(p.row)) },
      { url: big.url!, ok: true, points: big.points.slice(200).map((p) => point(p.row)) },
      { url: small.url!, ok: false, errors: ["spacer.exceptions.URLDownloadError: Failed to download from the URL 'x'. / Details - timed out"] },
    ],
  });
  const [first, second] = ok.map((o) => o.outcome);
  assert.ok(first?.ok);
  assert.deepEqual(first.classified.map((p) => p.row), big.points.map((p) => p.row));
  assert.ok(second && !second.ok);
  assert.equal(second.transient, true);
  assert.deepEqual(second.jobIds, ['4']);
});

test('the progress line', () => {
  const line = progressLine({ total: 175_000, done: 1204, failed: 3, inFlight: 500, activeJobs: 5, points: 36_120, startedAt: 0 }, 60_000 * 3);
  assert.equal(line, '1,204/175,000 done · 3 failed · 500 in flight · 5 jobs · 402/min · ETA 7h11m');
  // Resumed, and waiting out a 429: the images of the runs before count as done, not in the rate.
  const resumed = progressLine({ total: 175_000, done: 1204, failed: 3, inFlight: 500, activeJobs: 5, points: 36_120, alreadyWritten: 100_000, waiting: 'throttled by the server (429), waiting 12 s', startedAt: 0 }, 60_000 * 3);
  assert.equal(resumed, '101,204/175,000 done (100,000 before this run) · 3 failed · 500 in flight · 5 jobs · 402/min · ETA 3h03m · throttled by the server (429), waiting 12 s');
  // Minutes into a run on the real server, no job's result is in yet: the jobs' status answers move the line.
  const early = progressLine({ total: 175_000, done: 0, failed: 0, inFlight: 500, activeJobs: 5, points: 0, inRunningJobs: 120, startedAt: 0 }, 60_000 * 4);
  assert.equal(early, '0/175,000 done · 120 done in running jobs · 0 failed · 500 in flight · 5 jobs · 30/min · ETA 97h09m');
});

test('given points: read from Name,Row,Column, matched by name; missing or outside points fail the image', async (t) => {
  const root = await tempFolder(t);
  const file = join(root, 'points.csv');
  await writeFile(file, 'Name,Row,Column\na.jpg,1,2\na.jpg,3,4\nb.jpg,150,5\n');
  const points = await readPointsCsv(file);
  const probed = (name: string) => ({ name, url: `https://example.org/${name}`, width: 100, height: 100 });
  const out = await lastValueFrom(from([probed('a.jpg'), probed('b.jpg'), probed('c.jpg')]).pipe(givenPoints(points), toArray()));
  assert.deepEqual((out[0] as PlannedImage).points, [{ row: 1, column: 2 }, { row: 3, column: 4 }]);
  assert.deepEqual(out.slice(1).map((o) => ('reason' in o ? o.reason : '')), [
    'b.jpg: point (row 150, column 5) is outside the image (100 x 100).',
    'c.jpg: the points file has no points for this image.',
  ]);
  await writeFile(file, 'Name,Row,Column\na.jpg,1.5,2\n');
  await assert.rejects(readPointsCsv(file), /points\.csv, line 2: needs Name, Row and Column/);
});

test('poll planning: as often as the budget allows for all active jobs, else when progress says the job ends', () => {
  const gate = new RateGate({ windows: [{ limit: 60, periodMs: 60_000 }, { limit: 1000, periodMs: 3_600_000 }], jobSlots: 5 });
  const planner = new PollPlanner(gate);
  for (let i = 0; i < 5; i++) gate.jobs.occupy();
  // 5 jobs polling within 80 % of 1000/hour: one poll each every 22.5 s.
  assert.equal(planner.budgetIntervalMs(), 22_500);
  assert.equal(planner.nextPollMs({ successes: 0, failures: 0, total: 100 }, { done: 0, at: 0 }, 10_000), 22_500);
  // 50 more done in the 300 s since the last poll: the other 40 in about 240 s; poll in a quarter of that.
  assert.equal(planner.nextPollMs({ successes: 55, failures: 5, total: 100 }, { done: 10, at: 0 }, 300_000), 60_000);
  // Nothing new since the last poll (the job waits in the server's queue): the budget's pace.
  assert.equal(planner.nextPollMs({ successes: 10, failures: 0, total: 100 }, { done: 10, at: 0 }, 300_000), 22_500);
  // One left, about 3.3 s away: polled just after, but not sooner than a quarter of the budget's pace.
  assert.equal(planner.nextPollMs({ successes: 99, failures: 0, total: 100 }, { done: 90, at: 0 }, 30_000), 5_625);
  // 10 more in 60 s, 10 left: a quarter (15 s) is below the budget; poll just after the end instead.
  assert.equal(planner.nextPollMs({ successes: 90, failures: 0, total: 100 }, { done: 80, at: 0 }, 60_000), 60_010);
  // The first poll that saw the job under way gives a sooner end than the last interval: that one.
  assert.equal(planner.nextPollMs({ successes: 90, failures: 0, total: 100 }, { done: 80, at: 0 }, 60_000, { done: 10, at: -300_000 }), 45_010);
  // The previous poll saw nothing done: the job started at some moment since, so no rate yet.
  assert.equal(planner.nextPollMs({ successes: 5, failures: 0, total: 100 }, { done: 0, at: 0 }, 300_000), 22_500);
});

test('dropDuplicates: a URL seen before becomes a failed image naming the first, over many growths of its table', async () => {
  const images: ImageRef[] = [];
  for (let i = 0; i < 5000; i++) images.push({ name: `n${i}`, url: `https://survey.example/IMG_${i}.JPG`, seq: images.length });
  // Every 7th URL again, later in the list; and a local file with no URL.
  for (let i = 0; i < 5000; i += 7) images.push({ name: `again${i}`, url: `https://survey.example/IMG_${i}.JPG`, seq: images.length });
  images.push({ name: 'local.jpg', path: '/photos/local.jpg', seq: images.length });
  const out = await lastValueFrom(from(images).pipe(dropDuplicates(), toArray()));
  const failed = out.filter(isFailed);
  assert.equal(out.length, images.length);
  assert.equal(failed.length, 715);
  assert.deepEqual(failed.map((f) => f.name), Array.from({ length: 715 }, (_, k) => `again${k * 7}`));
  assert.equal(failed[3]!.reason, 'https://survey.example/IMG_21.JPG is listed again: it is annotated once, under its first line.');
  assert.equal(failed[3]!.attempts, 0);
  assert.equal(out.filter((image) => !isFailed(image)).length, 5001);
});

test('inSourceOrder: an item without a place is an error of the stream, never a throw past it', async () => {
  const { inSourceOrder } = await import('../src/flow/sourceOrder.js');
  await assert.rejects(lastValueFrom(from([{ seq: 0 }, { name: 'IMG_7.jpg' } as { seq?: number }]).pipe(inSourceOrder())), /IMG_7\.jpg reached the writer without a place in the stream/);
});

test('reasonKind: a failure reason as the summary counts it, without names, paths and URLs', async () => {
  const { reasonKind } = await import('../src/flow/runSurvey.js');
  assert.equal(reasonKind('spacer.exceptions.URLDownloadError: https://example.org/a.jpg: 404'), 'URLDownloadError');
  assert.equal(reasonKind('/surveys/lagoon/IMG_0100.HEIC is a HEIC file, which CoralNet cannot read: convert it to JPEG'), 'is a HEIC file, which CoralNet cannot read');
  assert.equal(reasonKind('The folder /surveys/lagoon/site3 could not be read (EACCES): its photos are not in this run.'), 'The folder could not be read (EACCES)');
  assert.equal(reasonKind('notes.jpg is not an image that can be read (JPEG, PNG, TIFF or WebP): check the file'), 'is not an image that can be read (JPEG, PNG, TIFF or WebP)');
});

test('backpressure in the public operators: the listing runs no further ahead of the sinks than its window, skipped images give their credits back', async (t) => {
  const { startSimulator } = await import('../src/simulator/server.js');
  const { CoralNetClient } = await import('../src/coralnet/client.js');
  const { listImages } = await import('../src/operators/listImages.js');
  const { probe } = await import('../src/operators/probe.js');
  const { samplePoints } = await import('../src/operators/samplePoints.js');
  const { annotate } = await import('../src/operators/annotate.js');
  const { skipImages } = await import('../src/operators/skipImages.js');
  const { writeCsv, writeErrors, writeNdjson } = await import('../src/operators/write.js');
  const { readFile } = await import('node:fs/promises');
  const sim = await startSimulator({ burst: { limit: 6000, periodMs: 60_000 }, sustained: { limit: 60_000, periodMs: 3_600_000 }, fakeImages: { width: 64, height: 48 } });
  t.after(() => sim.close());
  const client = await CoralNetClient.connect({ apiUrl: sim.url, token: sim.token, windows: [{ limit: 6000, periodMs: 60_000 }] });
  t.after(() => client.close());
  const folder = await tempFolder(t);
  let pulled = 0;
  let written = 0;
  let skipped = 0;
  let mostAhead = 0;
  function* refs() {
    for (let i = 0; i < 1000; i++) {
      pulled++;
      mostAhead = Math.max(mostAhead, pulled - written - skipped);
      yield { name: `IMG_${i}.jpg`, url: `https://example.org/survey/IMG_${i}.jpg` };
    }
  }
  const { lastValueFrom, tap } = await import('rxjs');
  await lastValueFrom(
    listImages(refs(), { window: 150 }).pipe(
      skipImages((image) => image.name.endsWith('7.jpg') && ++skipped > 0),
      probe({ imageSize: { width: 64, height: 48 } }),
      samplePoints({ method: 'random:3' }),
      chunk(100, 50),
      annotate(client, { classifierId: 1 }),
      writeCsv(join(folder, 'out.csv')),
      tap(() => written++),
      writeNdjson(join(folder, 'out.ndjson')),
      writeErrors(join(folder, 'out.errors.ndjson')),
    ),
    { defaultValue: undefined },
  );
  assert.equal(pulled, 1000);
  assert.equal(written, 900, 'every image but the skipped tenth');
  assert.equal(skipped, 100);
  // The credit of an image goes back just before it is counted here: one more may be pulled in between.
  assert.ok(mostAhead <= 151, `the listing ran ${mostAhead} images ahead of what was written or skipped (window 150)`);
  assert.ok(mostAhead >= 100, `a job's worth at least was in flight (${mostAhead})`);
  assert.equal((await readFile(join(folder, 'out.csv'), 'utf8')).trim().split('\n').length, 1 + 900 * 3);
  assert.equal((await readFile(join(folder, 'out.ndjson'), 'utf8')).trim().split('\n').length, 900);
  assert.equal(await readFile(join(folder, 'out.errors.ndjson'), 'utf8'), '');
});
