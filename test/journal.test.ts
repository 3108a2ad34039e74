import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Journal, readJournal } from '../src/flow/journal.js';
import type { PlannedImage } from '../src/model.js';
import { tempFolder } from './helpers.js';

const image = (seq: number): PlannedImage => ({ name: `${seq}.jpg`, seq, url: `https://example.org/${seq}.jpg`, width: 10, height: 10, points: [{ row: 1, column: 1 }], attempts: 1 });

test('a journal read back: jobs paired with their deploys by image positions, written ones dropped, a cut last line ignored', async (t) => {
  const root = await tempFolder(t);
  const path = join(root, 'results.journal.ndjson');
  const journal = await Journal.open(path);
  await journal.record({ t: 'start', settings: { seed: '1' } });
  await journal.record({ t: 'sending', images: [image(0), image(1)], knownMax: '6' });
  await journal.record({ t: 'sending', images: [image(2), image(3)], knownMax: '6' });
  await journal.record({ t: 'sent', job: '8', seqs: [2, 3] });
  await journal.record({ t: 'sent', job: '7', seqs: [0, 1] });
  await journal.record({ t: 'written', at: { images: 2, csv: 120, errors: 0 } });
  await journal.record({ t: 'sending', images: [image(4)], knownMax: '8' });
  await journal.close();
  await writeFile(path, '{"t":"sent","job":"9","se', { flag: 'a' });
  const state = await readJournal(path);
  assert.deepEqual(state?.settings, { seed: '1' });
  assert.deepEqual(state?.checkpoint, { images: 2, csv: 120, errors: 0 });
  assert.deepEqual(state?.jobs.map((j) => [j.job, j.images.map((i) => i.seq)]), [['8', [2, 3]]]);
  assert.deepEqual(state?.unconfirmed.map((u) => [u.knownMax, u.images.map((i) => i.seq)]), [['8', [4]]]);
  assert.equal(state?.sentSinceCheckpoint, 0, 'both sends came before the checkpoint');
  assert.equal(await readJournal(join(root, 'none.ndjson')), undefined);
});

test('a journal past its size is compacted at a checkpoint to what a resume needs, and goes on from there', async (t) => {
  const root = await tempFolder(t);
  const path = join(root, 'results.journal.ndjson');
  const journal = await Journal.open(path, undefined, { compactBytes: 1 });
  await journal.record({ t: 'start', settings: { seed: '1' } });
  await journal.record({ t: 'sending', images: [image(0), image(1)], knownMax: '6' });
  await journal.record({ t: 'sent', job: '7', seqs: [0, 1] });
  await journal.record({ t: 'sending', images: [image(2), image(3)], knownMax: '7' });
  await journal.record({ t: 'sent', job: '8', seqs: [2, 3] });
  await journal.record({ t: 'sending', images: [image(4)], knownMax: '8' });
  const tally = { annotated: 2, failed: 0, points: 2, jobs: 2, seconds: 1.5, failures: {} };
  // A deploy recorded while the checkpoint compacts the journal is not lost.
  await Promise.all([
    journal.record({ t: 'written', at: { images: 2, csv: 120, errors: 0, tally } }),
    journal.record({ t: 'sending', images: [image(5)], knownMax: '8' }),
  ]);
  const compacted = (await readFile(path, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { t: string });
  assert.deepEqual(compacted.map((record) => record.t), ['start', 'sending', 'sent', 'sending', 'written', 'sending']);
  await journal.record({ t: 'sent', job: '9', seqs: [5] });
  await journal.close();
  const state = await readJournal(path);
  assert.deepEqual(state?.settings, { seed: '1' });
  assert.deepEqual(state?.checkpoint, { images: 2, csv: 120, errors: 0, tally });
  assert.deepEqual(state?.jobs.map((j) => [j.job, j.images.map((i) => i.seq)]), [['8', [2, 3]], ['9', [5]]]);
  assert.deepEqual(state?.unconfirmed.map((u) => [u.knownMax, u.images.map((i) => i.seq)]), [['8', [4]]]);
  assert.equal(state?.sentSinceCheckpoint, 1, 'job 9 was sent after the checkpoint');

  // Resumed from that state, a later compaction keeps what the earlier run left open.
  const resumed = await Journal.open(path, state, { compactBytes: 1 });
  // The lost deploy's job, found on the server, is recorded before the run says it resumed.
  await resumed.record({ t: 'sent', job: '10', seqs: [4] });
  await resumed.record({ t: 'resumed' });
  await resumed.record({ t: 'written', at: { images: 4, csv: 240, errors: 0, tally } });
  await resumed.close();
  const after = await readJournal(path);
  assert.deepEqual(after?.jobs.map((j) => [j.job, j.images.map((i) => i.seq)]).sort(), [['10', [4]], ['9', [5]]]);
  assert.deepEqual(after?.unconfirmed, []);
  assert.equal(after?.resumes, 1, 'the resume survives the compaction');
  assert.equal((await readFile(path, 'utf8')).trim().split('\n').length, 7);
});

test('a resumed run settles the deploys whose ids were lost: after another crash only the new one is unconfirmed', async (t) => {
  const path = join(await tempFolder(t), 'results.journal.ndjson');
  const first = await Journal.open(path, undefined);
  await first.record({ t: 'start', settings: { seed: '1' } });
  await first.record({ t: 'sending', images: [image(0), image(1)], knownMax: '4' });
  await first.close(); // killed: the POST never reached the server
  const state = await readJournal(path);
  assert.deepEqual(state?.unconfirmed.map((u) => u.images.map((i) => i.seq)), [[0, 1]]);

  // The next run finds no job above 4, sends the images again in other chunks, and is killed before the id.
  const second = await Journal.open(path, state);
  await second.record({ t: 'resumed' });
  await second.record({ t: 'sending', images: [image(0)], knownMax: '4' });
  await second.close();
  const after = await readJournal(path);
  assert.deepEqual(after?.unconfirmed.map((u) => [u.knownMax, u.images.map((i) => i.seq)]), [['4', [0]]], 'one lost deploy, so its job can be found');
  assert.equal(after?.resumes, 1);
});
