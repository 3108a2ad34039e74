/** Whole runs with input CoralNet would refuse: a clear word for each, and nothing sent in vain. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { paintSurvey } from '../src/demo/syntheticSurvey.js';
import { startSimulator } from '../src/simulator/server.js';
import { reefstreamCli, tempFolder } from './helpers.js';

const limits = ['--burst', '600/60s', '--sustained', '6000/1h'];

test('a photo over 64 MP is refused before sending, named in the errors file; the rest of the folder is annotated', async (t) => {
  const root = await tempFolder(t);
  const folder = join(root, 'survey');
  await paintSurvey(folder, 2, { width: 320, height: 240 });
  await sharp({ create: { width: 8001, height: 8000, channels: 3, background: '#F5DEB3' } }).png({ compressionLevel: 1 }).toFile(join(folder, 'IMG_0003.png'));
  const sim = await startSimulator({ burst: { limit: 600, periodMs: 60_000 }, sustained: { limit: 6000, periodMs: 3_600_000 } });
  t.after(() => sim.close());
  const out = join(root, 'results.csv');
  const run = await reefstreamCli(['run', '--api', sim.url, '--user', sim.username, '--classifier', '1', '--source', folder, '--points', 'random:10', '--out', out, ...limits], { CORALNET_TOKEN: sim.token });
  assert.equal(run.status, 3, run.stderr);
  assert.match(run.stdout, /^3 images: 2 annotated, 1 failed/);
  const [error] = (await readFile(join(root, 'results.errors.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { name: string; reason: string; attempts: number });
  assert.equal(error?.name, 'IMG_0003.png');
  assert.equal(error?.reason, "8001 x 8000 = 64008000 pixels is over CoralNet's limit of 64000000 (8000 x 8000): downscale it.");
  assert.equal(error?.attempts, 0);
  assert.equal(sim.stats.imagesDone, 2, 'the server never saw the big photo');
});

test('a classifier that does not exist: one line naming it, exit 1, and no journal to block the corrected command', async (t) => {
  const root = await tempFolder(t);
  await paintSurvey(root, 2, { width: 64, height: 64 });
  const sim = await startSimulator({ burst: { limit: 600, periodMs: 60_000 }, sustained: { limit: 6000, periodMs: 3_600_000 } });
  t.after(() => sim.close());
  const out = join(root, 'out', 'results.csv');
  const args = (classifier: string) => ['run', '--api', sim.url, '--user', sim.username, '--classifier', classifier, '--source', root, '--points', 'random:5', '--out', out, ...limits];
  const wrong = await reefstreamCli(args('999'), { CORALNET_TOKEN: sim.token });
  assert.equal(wrong.status, 1);
  assert.equal(wrong.stderr.trim().split('\n').length, 1, wrong.stderr);
  assert.match(wrong.stderr, /^POST \/api\/classifier\/999\/deploy\/ answered 404: This classifier doesn't exist or is not accessible/);
  assert.equal(sim.stats.jobsCreated, 0);
  assert.ok(!existsSync(join(root, 'out', 'results.journal.ndjson')));
  const right = await reefstreamCli(args('1'), { CORALNET_TOKEN: sim.token });
  assert.equal(right.status, 0, right.stderr);
  assert.match(right.stdout, /^2 images: 2 annotated, 0 failed/);
});

test('every error a caller can act on has a stable code of its own, and keeps what caused it', async () => {
  const errors = await import('../src/coralnet/errors.js');
  const { ImageProbeError } = await import('../src/images/probe.js');
  const { OutputError } = await import('../src/sinks/outputFile.js');
  const { OutputsLockedError } = await import('../src/flow/outputLock.js');
  const { RunStoppedError } = await import('../src/flow/runSurvey.js');
  const { CocoAnnotatorError } = await import('../src/review/cocoAnnotator.js');
  const { DropboxError } = await import('../src/sources/dropbox.js');
  const { UsageError } = await import('../src/cli/shared.js');
  const cause = new Error('connect ECONNREFUSED 127.0.0.1:9');
  const made = [
    new errors.CoralNetError('m', 'GET /api/'),
    new errors.AuthenticationError('m', 'GET /api/'),
    new errors.NotFoundError('m', 'GET /api/'),
    new errors.ThrottledError('m', 'GET /api/', 5),
    new errors.TooManyActiveJobsError('m', 'GET /api/', []),
    new errors.StuckJobsError('m', 'GET /api/', []),
    new errors.RequestInvalidError('m', 'GET /api/', 'd', undefined),
    new errors.InvalidDeployRequestError('m', '/data/0'),
    new errors.ServerError('m', 'GET /api/'),
    new errors.NetworkError('m', 'GET /api/', true, { cause }),
    new errors.UnexpectedResponseError('m', 'GET /api/'),
    new errors.AmbiguousDeployError('m', 'GET /api/'),
    new errors.InsecureConnectionError('m'),
    new ImageProbeError('m'),
    new OutputError('results.csv', 'the disk is full (ENOSPC)'),
    new OutputsLockedError('m'),
    new RunStoppedError(),
    new CocoAnnotatorError('m'),
    new DropboxError('m', 'files/list_folder', 409),
    new UsageError('m'),
  ];
  const codes = made.map((error) => error.code);
  assert.ok(codes.every((code) => typeof code === 'string' && /^[A-Z_]+$/.test(code)), codes.join());
  assert.equal(new Set(codes).size, made.length, codes.join());
  assert.equal(made[9]!.cause, cause);
});
