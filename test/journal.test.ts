import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Journal, readJournal } from '../src/flow/journal.js';
import type { PlannedImage } from '../src/model.js';
import { tempFolder } from './helpers.js';

const image = (seq: number): PlannedImage => ({ name: `${seq}.jpg`, seq, url: `https://example.org/${seq}.jpg`, width: 10, height: 10, points: [{ row: 1, column: 1 }], attempts: 1 });

test('a journal read back: jobs paired with their deploys by image positions, written ones dropped, a cut last line ignored', async (t) => {
  const root = await tempFolder(t);
  const path = join(root, 'results.journal.ndjson');
  const journal = await Journal.open(path, true);
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
  assert.equal(await readJournal(join(root, 'none.ndjson')), undefined);
});
