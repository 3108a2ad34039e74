import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Journal, readJournal } from '../src/flow/journal.js';
import { identityOf } from '../src/flow/writtenImages.js';
import type { PlannedImage } from '../src/model.js';
import { tempFolder } from './helpers.js';

const image = (n: number): PlannedImage => ({ name: `${n}.jpg`, url: `https://example.org/${n}.jpg`, width: 10, height: 10, points: [{ row: 1, column: 1 }], attempts: 1 });
const keys = (...ns: number[]): Set<string> => new Set(ns.map((n) => identityOf(image(n))));
const names = (images: PlannedImage[]): string[] => images.map((i) => i.name);

test('a journal read back: jobs paired with their deploys by id, the stale photos and the address kept, a cut last line ignored', async (t) => {
  const root = await tempFolder(t);
  const path = join(root, 'results.journal.ndjson');
  const journal = await Journal.open(path);
  await journal.record({ t: 'start', settings: { seed: '1' } });
  await journal.record({ t: 'served', url: 'http://127.0.0.1:40123/' });
  await journal.record({ t: 'sending', deploy: '0.0', images: [image(0), image(1)], knownMax: '6' });
  await journal.record({ t: 'sending', deploy: '0.1', images: [image(2), image(3)], knownMax: '6' });
  await journal.record({ t: 'sent', deploy: '0.1', job: '8' });
  await journal.record({ t: 'sent', deploy: '0.0', job: '7' });
  await journal.record({ t: 'written', at: { written: 68, csv: 120, errors: 0 } }, keys(0, 1));
  await journal.record({ t: 'stale', name: '9.jpg', before: { csv: 120, errors: 0 } });
  await journal.record({ t: 'sending', deploy: '0.2', images: [image(4)], knownMax: '8' });
  await journal.close();
  await writeFile(path, '{"t":"sent","deploy":"0.2","jo', { flag: 'a' });
  const state = await readJournal(path);
  assert.deepEqual(state?.settings, { seed: '1' });
  assert.equal(state?.served, 'http://127.0.0.1:40123/');
  assert.deepEqual(state?.checkpoint, { written: 68, csv: 120, errors: 0 });
  // Which images are written is in the written-images file: every deploy since the last compaction is here.
  assert.deepEqual(state?.jobs.map((j) => [j.deploy, j.job, names(j.images)]), [['0.0', '7', ['0.jpg', '1.jpg']], ['0.1', '8', ['2.jpg', '3.jpg']]]);
  assert.deepEqual(state?.unconfirmed.map((u) => [u.deploy, u.knownMax, names(u.images)]), [['0.2', '8', ['4.jpg']]]);
  assert.deepEqual(state?.stale, [{ name: '9.jpg', before: { csv: 120, errors: 0 } }]);
  assert.equal(state?.pruning, false);
  assert.equal(state?.sentSinceCheckpoint, 0, 'both sends came before the checkpoint');
  assert.equal(await readJournal(join(root, 'none.ndjson')), undefined);
  // Gone on with, the cut line is cut off first: the next record starts a line of its own.
  const resumed = await Journal.open(path, state);
  await resumed.record({ t: 'resumed' });
  await resumed.close();
  const after = await readJournal(path);
  assert.equal(after?.resumes, 1);
  assert.ok(!(await readFile(path, 'utf8')).includes('"jo{'));
});

test('a journal past its size is compacted at a checkpoint to what a resume needs, and goes on from there', async (t) => {
  const root = await tempFolder(t);
  const path = join(root, 'results.journal.ndjson');
  const journal = await Journal.open(path, undefined, { compactBytes: 1 });
  await journal.record({ t: 'start', settings: { seed: '1' } });
  await journal.record({ t: 'served', url: 'http://127.0.0.1:40123/' });
  await journal.record({ t: 'sending', deploy: '0.0', images: [image(0), image(1)], knownMax: '6' });
  await journal.record({ t: 'sent', deploy: '0.0', job: '7' });
  await journal.record({ t: 'sending', deploy: '0.1', images: [image(2), image(3)], knownMax: '7' });
  await journal.record({ t: 'sent', deploy: '0.1', job: '8' });
  await journal.record({ t: 'sending', deploy: '0.2', images: [image(4)], knownMax: '8' });
  await journal.record({ t: 'stale', name: '3.jpg', before: { csv: 10, errors: 0 } });
  const tally = { annotated: 2, failed: 0, points: 2, jobs: 2, seconds: 1.5, failures: {} };
  // A deploy recorded while the checkpoint compacts the journal is not lost; one of job 8's images is written.
  await Promise.all([
    journal.record({ t: 'written', at: { written: 102, csv: 120, errors: 0, tally } }, keys(0, 1, 2)),
    journal.record({ t: 'sending', deploy: '0.3', images: [image(5)], knownMax: '8' }),
  ]);
  const compacted = (await readFile(path, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { t: string });
  assert.deepEqual(compacted.map((record) => record.t), ['start', 'served', 'stale', 'sending', 'sent', 'sending', 'written', 'sending']);
  await journal.record({ t: 'sent', deploy: '0.3', job: '9' });
  await journal.close();
  const state = await readJournal(path);
  assert.deepEqual(state?.settings, { seed: '1' });
  assert.deepEqual(state?.checkpoint, { written: 102, csv: 120, errors: 0, tally });
  assert.deepEqual(state?.jobs.map((j) => [j.job, names(j.images)]), [['8', ['2.jpg', '3.jpg']], ['9', ['5.jpg']]]);
  assert.deepEqual(state?.unconfirmed.map((u) => [u.knownMax, names(u.images)]), [['8', ['4.jpg']]]);
  assert.equal(state?.sentSinceCheckpoint, 1, 'job 9 was sent after the checkpoint');

  // Resumed from that state, a later compaction keeps what the earlier run left open.
  const done = keys(0, 1, 2);
  const resumed = await Journal.open(path, state, { compactBytes: 1, isWritten: (i) => done.has(identityOf(i)) });
  // The lost deploy's job, found on the server, is recorded before the run says it resumed.
  await resumed.record({ t: 'sent', deploy: state.unconfirmed[0]!.deploy, job: '10' });
  await resumed.record({ t: 'resumed' });
  await resumed.record({ t: 'written', at: { written: 136, csv: 240, errors: 0, tally } }, keys(3));
  await resumed.close();
  const after = await readJournal(path);
  assert.deepEqual(after?.jobs.map((j) => [j.job, names(j.images)]).sort(), [['10', ['4.jpg']], ['9', ['5.jpg']]]);
  assert.deepEqual(after?.unconfirmed, []);
  assert.equal(after?.resumes, 1, 'the resume survives the compaction');
  assert.equal(after?.served, 'http://127.0.0.1:40123/', 'the address survives the compaction');
  assert.deepEqual(after?.stale, [{ name: '3.jpg', before: { csv: 10, errors: 0 } }], 'the stale photo survives until pruned');
  assert.equal((await readFile(path, 'utf8')).trim().split('\n').length, 9);
});

test('a pruned record ends the stale photos and marks a run that stopped while it renamed the copies', async (t) => {
  const path = join(await tempFolder(t), 'results.journal.ndjson');
  const journal = await Journal.open(path);
  await journal.record({ t: 'start', settings: { seed: '1' } });
  await journal.record({ t: 'stale', name: '3.jpg', before: { csv: 10, errors: 0 } });
  await journal.record({ t: 'written', at: { written: 34, csv: 40, errors: 0 } });
  await journal.record({ t: 'pruned', at: { written: 34, csv: 30, errors: 0 } });
  await journal.close();
  const state = await readJournal(path);
  assert.deepEqual(state?.stale, []);
  assert.equal(state?.pruning, true);
  assert.deepEqual(state?.checkpoint, { written: 34, csv: 30, errors: 0 });
});

test('a resumed run settles the deploys whose ids were lost: after another crash only the new one is unconfirmed', async (t) => {
  const path = join(await tempFolder(t), 'results.journal.ndjson');
  const first = await Journal.open(path, undefined);
  await first.record({ t: 'start', settings: { seed: '1' } });
  await first.record({ t: 'sending', deploy: '0.0', images: [image(0), image(1)], knownMax: '4' });
  await first.close(); // killed: the POST never reached the server
  const state = await readJournal(path);
  assert.deepEqual(state?.unconfirmed.map((u) => names(u.images)), [['0.jpg', '1.jpg']]);

  // The next run finds no job above 4, sends the images again in other chunks, and is killed before the id.
  const second = await Journal.open(path, state);
  await second.record({ t: 'resumed' });
  await second.record({ t: 'sending', deploy: '1.0', images: [image(0)], knownMax: '4' });
  await second.close();
  const after = await readJournal(path);
  assert.deepEqual(after?.unconfirmed.map((u) => [u.deploy, u.knownMax, names(u.images)]), [['1.0', '4', ['0.jpg']]], 'one lost deploy, so its job can be found');
  assert.equal(after?.resumes, 1);
});

test('a finished run keeps a small journal: its settings, address, last checkpoint and the word finished; nothing in flight', async (t) => {
  const path = join(await tempFolder(t), 'results.journal.ndjson');
  const journal = await Journal.open(path);
  await journal.record({ t: 'start', settings: { seed: '1' } });
  await journal.record({ t: 'served', url: 'http://127.0.0.1:40123/' });
  await journal.record({ t: 'sending', deploy: '0.0', images: [image(0), image(1)], knownMax: '6' });
  await journal.record({ t: 'sent', deploy: '0.0', job: '7' });
  await journal.record({ t: 'written', at: { written: 68, csv: 120, errors: 0 } }, keys(0));
  await journal.record({ t: 'finished' });
  await journal.close();
  const records = (await readFile(path, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { t: string });
  assert.deepEqual(records.map((record) => record.t), ['start', 'served', 'written', 'finished']);
  const state = await readJournal(path);
  assert.equal(state?.finished, true);
  assert.deepEqual([state?.jobs, state?.unconfirmed], [[], []]);

  // A run after it goes on from there, and is no longer finished.
  const next = await Journal.open(path, state);
  await next.record({ t: 'continued' });
  await next.close();
  assert.equal((await readJournal(path))?.finished, false);
});
