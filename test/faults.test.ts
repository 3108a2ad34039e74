/**
 * Whole runs against a misbehaving server: every image of the source ends in the CSV or in the
 * errors file with its reason, once, and the server holds no job twice.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { CoralNetClient, type ClientEvent } from '../src/coralnet/client.js';
import { paintedLabel, paintSurvey, type PaintedImage } from '../src/demo/syntheticSurvey.js';
import { runSurvey, type SurveyOptions, type SurveySummary } from '../src/flow/runSurvey.js';
import { startSimulator, type SimulatorOptions, type RunningSimulator } from '../src/simulator/server.js';
import { serveFolder } from '../src/sources/folderServer.js';
import { tempFolder } from './helpers.js';

const lifted = { burst: { limit: 100_000, periodMs: 60_000 }, sustained: { limit: 1_000_000, periodMs: 3_600_000 } };

interface Survey {
  root: string;
  list: string;
  painted: PaintedImage[];
  /** Every name in the list, in order (a duplicate URL's line has its own name). */
  names: string[];
  missing: string[];
  duplicate: string;
}

/** 230 painted photos on a loopback web server, listed with two that 404 and one URL listed twice. */
async function survey(t: { after: (fn: () => Promise<void>) => void }): Promise<Survey> {
  const root = await tempFolder(t);
  const painted = await paintSurvey(join(root, 'www'), 230, { width: 96, height: 96, blockRows: 2, blockColumns: 2 });
  const served = await serveFolder(join(root, 'www'));
  t.after(() => served.close());
  const lines = painted.map((p) => [served.urlOf(p.name), p.name]);
  lines.splice(50, 0, [served.urlOf('gone-1.jpg'), 'gone-1.jpg']);
  lines.splice(170, 0, [served.urlOf('gone-2.jpg'), 'gone-2.jpg']);
  lines.splice(120, 0, [served.urlOf(painted[3]!.name), 'again.jpg']);
  const list = join(root, 'urls.csv');
  await writeFile(list, `url,name\n${lines.map((line) => line.join(',')).join('\n')}\n`);
  return { root, list, painted, names: lines.map(([, name]) => name!), missing: ['gone-1.jpg', 'gone-2.jpg'], duplicate: 'again.jpg' };
}

async function simulator(t: { after: (fn: () => Promise<void>) => void }, options: SimulatorOptions): Promise<RunningSimulator> {
  const sim = await startSimulator({ imageMs: 1, workers: 8, ...options });
  t.after(() => sim.close());
  return sim;
}

/** Runs the survey with a client that backs off quickly (the faults are many; the test is not about waiting). */
type TimedEvent = ClientEvent & { at: number };

async function run(s: Survey, sim: RunningSimulator, clientOptions: { username?: string; jobSlots?: number; windows?: SurveyOptions['windows']; activeJobsRecheckMs?: number }, events: TimedEvent[] = []): Promise<SurveySummary> {
  const client = await CoralNetClient.connect({
    apiUrl: sim.url,
    token: sim.token,
    username: clientOptions.username,
    jobSlots: clientOptions.jobSlots,
    windows: clientOptions.windows ?? [lifted.burst, lifted.sustained],
    retry: { baseDelayMs: 20, maxDelayMs: 200, attempts: 12 },
    activeJobsRecheckMs: clientOptions.activeJobsRecheckMs,
    onEvent: (event) => events.push({ ...event, at: performance.now() }),
  });
  try {
    return await runSurvey({ client, classifierId: 1, source: s.list, points: 'stratified:3x3x1', seed: 2, imageSize: { width: 96, height: 96 }, maxAttempts: 2, out: join(s.root, 'results.csv'), ndjson: join(s.root, 'results.ndjson'), chunkFlushMs: 50 });
  } finally {
    await client.close();
  }
}

/** Every listed image once: annotated with the painted labels, or in the errors file for its reason. */
async function assertAccountedFor(s: Survey, summary: SurveySummary): Promise<void> {
  const annotated = (await readFile(join(s.root, 'results.ndjson'), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { name: string; points: Array<{ row: number; column: number; classifications: Array<{ label_code: string }> }> });
  const errors = (await readFile(join(s.root, 'results.errors.ndjson'), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { name: string; reason: string; attempts: number });
  assert.deepEqual([...annotated.map((a) => a.name), ...errors.map((e) => e.name)].sort(), [...s.names].sort(), 'each listed image once, in one output or the other');
  assert.deepEqual(annotated.map((a) => a.name), s.painted.map((p) => p.name), 'rows in the order of the list');
  const byName = new Map(s.painted.map((p) => [p.name, p]));
  for (const image of annotated) {
    assert.equal(image.points.length, 9);
    for (const point of image.points) assert.equal(point.classifications[0]!.label_code, paintedLabel(byName.get(image.name)!, point.row, point.column), `${image.name} ${point.row},${point.column}`);
  }
  const csv = (await readFile(join(s.root, 'results.csv'), 'utf8')).trim().split('\n');
  assert.equal(csv.length, 1 + 230 * 9);
  for (const name of s.missing) {
    const error = errors.find((e) => e.name === name);
    assert.match(error?.reason ?? '', /^spacer\.exceptions\.URLDownloadError: .*HTTP Error 404/, name);
    assert.equal(error?.attempts, 2, `${name} was sent twice`);
  }
  const duplicate = errors.find((e) => e.name === s.duplicate);
  assert.match(duplicate?.reason ?? '', /IMG_0004\.jpg is listed again: it is annotated once, under its first line\.$/);
  assert.equal(duplicate?.attempts, 0, 'a URL listed twice is sent once');
  assert.equal(errors.length, 3);
  assert.equal(summary.images, 233);
  assert.equal(summary.annotated, 230);
  assert.equal(summary.failed, 3);
}

test('5xx pages, a burst of 503s, dropped connections, slow answers and 409 after 303: every image accounted for, no job twice', async (t) => {
  const s = await survey(t);
  const sim = await simulator(t, {
    ...lifted,
    faults: { seed: 'storm', serverErrors: 0.15, drops: 0.1, slow: 0.1, slowMs: 150, conflictAfterSeeOther: 1, outages: [{ from: 6, count: 10 }] },
  });
  const events: TimedEvent[] = [];
  const summary = await run(s, sim, { username: sim.username }, events);
  await assertAccountedFor(s, summary);
  // The faults did happen, and the run went through them.
  assert.ok(sim.stats.injectedServerErrors >= 10, `${sim.stats.injectedServerErrors} 5xx answers`);
  assert.ok(sim.stats.injectedDrops > 0 && sim.stats.injectedSlow > 0 && sim.stats.injectedConflicts > 0, JSON.stringify(sim.stats));
  assert.ok(events.some((e) => e.type === 'retry'));
  // A deploy whose answer was lost was found on the server, not sent again.
  assert.equal(sim.stats.jobsCreated, summary.jobs, 'as many jobs on the server as the run sent');
  t.diagnostic(JSON.stringify(sim.stats));
});

test('429 with Retry-After: every request waits it out, no storm of 429s, every image accounted for', async (t) => {
  const s = await survey(t);
  // The server allows 8 requests a second; the client believes in 600 a minute.
  const sim = await simulator(t, { burst: { limit: 8, periodMs: 1000 }, sustained: lifted.sustained });
  const events: TimedEvent[] = [];
  const summary = await run(s, sim, { username: sim.username, windows: [{ limit: 600, periodMs: 60_000 }] }, events);
  await assertAccountedFor(s, summary);
  const throttled = events.filter((e): e is Extract<TimedEvent, { type: 'throttled' }> => e.type === 'throttled');
  assert.ok(throttled.length > 0, 'the server did throttle');
  assert.equal(throttled.length, sim.stats.throttled);
  // After a 429, only requests already on the wire (answered within moments) may get one too:
  // nothing is sent again before Retry-After has passed.
  for (const first of throttled) {
    for (const later of throttled) {
      const gap = later.at - first.at;
      if (gap > 150) assert.ok(gap >= first.retryAfterSeconds * 1000 - 20, `a 429 ${Math.round(gap)} ms after one that said Retry-After: ${first.retryAfterSeconds}`);
    }
  }
  t.diagnostic(`${throttled.length} 429s over ${sim.stats.requests} requests`);
});

test('429 without Retry-After (the job limit): deploys wait for a job to finish, every image accounted for', async (t) => {
  const s = await survey(t);
  const sim = await simulator(t, { ...lifted, jobSlots: 1, imageMs: 3 });
  // Without a username the client cannot read the limit; it believes in 4 slots. It would send a
  // refused deploy again after 30 s; only its own jobs finishing let it go on sooner.
  const summary = await run(s, sim, { jobSlots: 4, activeJobsRecheckMs: 30_000 });
  await assertAccountedFor(s, summary);
  assert.ok(sim.stats.jobLimitRefusals > 0, 'the server refused deploys over its limit');
  assert.ok(sim.stats.jobLimitRefusals <= sim.stats.jobsCreated, `${sim.stats.jobLimitRefusals} refusals for ${sim.stats.jobsCreated} jobs: one wait per job at most`);
  assert.equal(sim.stats.jobsCreated, summary.jobs);
});

test('a job that says finished and never gives its result is given up on: its images go in a new job, the slot it holds is planned without', async (t) => {
  const s = await survey(t);
  // Job 1's finish time is never set: 303, then 409 until it is purged.
  const sim = await simulator(t, { ...lifted, faults: { stuckJobs: [1] } });
  const events: ClientEvent[] = [];
  const client = await CoralNetClient.connect({ apiUrl: sim.url, token: sim.token, username: sim.username, windows: [lifted.burst, lifted.sustained], retry: { baseDelayMs: 20, maxDelayMs: 200, attempts: 12 }, onEvent: (event) => events.push(event) });
  t.after(() => client.close());
  const summary = await runSurvey({
    client,
    classifierId: 1,
    source: s.list,
    points: 'stratified:3x3x1',
    seed: 2,
    imageSize: { width: 96, height: 96 },
    maxAttempts: 2,
    out: join(s.root, 'results.csv'),
    ndjson: join(s.root, 'results.ndjson'),
    chunkFlushMs: 50,
    stuckJobAfter: { answers: 3, ms: 0 },
  });
  await assertAccountedFor(s, summary);
  assert.deepEqual(events.filter((e) => e.type === 'stuck-job').map((e) => [e.type === 'stuck-job' && e.jobId, e.type === 'stuck-job' && e.slotsLeft]), [['1', 4]]);
  assert.equal(client.gate.jobs.limit, 4, 'the run plans with one slot fewer');
  // The first job's images were annotated in another job, and say both.
  const first = (await readFile(join(s.root, 'results.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { name: string; jobIds: string[] })[0]!;
  assert.equal(first.jobIds[0], '1');
  assert.equal(first.jobIds.length, 2);
  // The server still counts job 1 among the account's active jobs.
  assert.deepEqual((await client.user()).activeJobIds, ['1']);
});
