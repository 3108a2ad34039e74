import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { paintSurvey } from '../src/demo/syntheticSurvey.js';
import { startSimulator } from '../src/simulator/server.js';
import { serveFolder } from '../src/sources/folderServer.js';
import { seededRandom } from '../src/util/random.js';
import { readJournal } from '../src/flow/journal.js';
import { tempFolder } from './helpers.js';

const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));

/** Starts the CLI; resolves with its exit code, or kills it with SIGKILL after `killAfterMs`. */
function runOnce(args: string[], env: Record<string, string>, killAfterMs?: number): Promise<{ code: number | null; killed: boolean; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let killed = false;
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => ((killed = true), child.kill('SIGKILL')), killAfterMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, killed, stderr });
    });
  });
}

test('killed with SIGKILL at random moments, again and again, the run ends with the same CSV as an uninterrupted one', async (t) => {
  const root = await tempFolder(t);
  const painted = await paintSurvey(join(root, 'www'), 150, { width: 320, height: 320, blockRows: 2, blockColumns: 2, tow: true });
  const served = await serveFolder(join(root, 'www'));
  t.after(() => served.close());
  const list = join(root, 'urls.csv');
  const lost = served.urlOf('missing.jpg');
  await writeFile(list, `url,name\n${painted.map((p, i) => `${i === 40 ? lost : served.urlOf(p.name)},${p.name}`).join('\n')}\n`);
  const sim = await startSimulator({ imageMs: 50, workers: 2, burst: { limit: 6000, periodMs: 60_000 }, sustained: { limit: 60_000, periodMs: 3_600_000 } });
  t.after(() => sim.close());
  const env = { CORALNET_TOKEN: sim.token };
  const args = (out: string) => ['run', '--api', sim.url, '--user', sim.username, '--classifier', '1', '--source', list, '--points', 'stratified:3x3x1', '--seed', '5', '--max-attempts', '2', '--image-size', '320x320',
    '--out', join(root, `${out}.csv`), '--ndjson', join(root, `${out}.ndjson`), '--burst', '6000/1m', '--sustained', '60000/1h'];

  const reference = await runOnce(args('reference'), env);
  assert.equal(reference.code, 3, reference.stderr);

  const rng = seededRandom('kill -9');
  // What the runs said about deploys whose answer a kill cut off and whose job they could not find.
  const notFound = /a deploy the interruption cut off is not among the account's active or recently finished jobs/;
  let saidNotFound = 0;
  const resumeLines: string[] = [];
  let kills = 0;
  let resumes = 0; // runs that went on from a journal: those the journal counts, and the last one
  for (;;) {
    const state = await readJournal(join(root, 'crashed.journal.ndjson'));
    resumes = state ? state.resumes + 1 : 0;
    const attempt = await runOnce(args('crashed'), env, kills < 12 ? rng.int(250, 1000) : undefined);
    if (notFound.test(attempt.stderr)) saidNotFound++;
    resumeLines.push(...attempt.stderr.split('\n').filter((line) => /resuming|deploy|going on/.test(line)));
    if (!attempt.killed) {
      assert.equal(attempt.code, 3, attempt.stderr);
      break;
    }
    kills++;
    const journal = await readFile(join(root, 'crashed.journal.ndjson'), 'utf8').catch(() => '');
    assert.ok(!journal.includes(sim.token), 'the journal never holds the token');
    // Killed after it had finished (summary written, journal removed): nothing was cut short.
    if (existsSync(join(root, 'crashed.run.json'))) break;
  }
  assert.ok(kills >= 3, `killed ${kills} times`);
  t.diagnostic(`killed ${kills} times before the run finished; ${resumes} runs went on from the journal`);
  const [expected, actual] = await Promise.all([readFile(join(root, 'reference.csv'), 'utf8'), readFile(join(root, 'crashed.csv'), 'utf8')]);
  assert.equal(actual.split('\n').length, 1 + 149 * 9 + 1);
  assert.equal(actual, expected, 'the same rows, in the same order');
  const errors = (await readFile(join(root, 'crashed.errors.ndjson'), 'utf8')).trim().split('\n');
  assert.equal(errors.length, 1);
  // The photo the server cannot download was sent twice (across crashes, maybe) and reported once.
  const failure = JSON.parse(errors[0]!) as { name: string; reason: string; attempts: number };
  assert.equal(failure.name, 'IMG_0041.jpg');
  assert.match(failure.reason, /^spacer\.exceptions\.URLDownloadError: .*missing\.jpg/);
  assert.equal(failure.attempts, 2);
  const names = (await readFile(join(root, 'crashed.ndjson'), 'utf8')).trim().split('\n').map((line) => (JSON.parse(line) as { name: string }).name);
  assert.equal(new Set(names).size, 149);
  assert.equal(names.length, 149);
  assert.equal((await readJournal(join(root, 'crashed.journal.ndjson')))?.finished, true, 'a finished run says so in its journal');
  // The summary counts the whole survey across the kills: every job the server made for it.
  const summary = JSON.parse(await readFile(join(root, 'crashed.run.json'), 'utf8')) as { images: number; annotated: number; failed: number; jobs: number; resumes: number };
  assert.deepEqual([summary.images, summary.annotated, summary.failed, summary.resumes], [150, 149, 1, resumes]);
  const referenceJobs = (JSON.parse(await readFile(join(root, 'reference.run.json'), 'utf8')) as { jobs: number }).jobs;
  // A job made for a deploy whose answer was cut off and that a resume could not find among the
  // account's jobs is not counted; the run says so each time.
  const serverJobs = sim.stats.jobsCreated - referenceJobs;
  assert.ok(summary.jobs <= serverJobs && serverJobs <= summary.jobs + saidNotFound, `jobs of the crashed runs: ${summary.jobs} counted, ${serverJobs} made by the server, ${saidNotFound} said not found\n${resumeLines.join('\n')}`);
});

test('killed after the server made a job but before its id reached the journal, the run finds that job and sends nothing twice', async (t) => {
  const root = await tempFolder(t);
  const painted = await paintSurvey(join(root, 'www'), 250, { width: 96, height: 96, blockRows: 2, blockColumns: 2 });
  const served = await serveFolder(join(root, 'www'));
  t.after(() => served.close());
  const list = join(root, 'urls.csv');
  await writeFile(list, `url,name\n${painted.map((p) => `${served.urlOf(p.name)},${p.name}`).join('\n')}\n`);
  // The first deploy's answer is held back long enough to kill the run while it waits.
  const faults = { deployAnswerDelayMs: 60_000 };
  const sim = await startSimulator({ imageMs: 1, workers: 8, faults, burst: { limit: 6000, periodMs: 60_000 }, sustained: { limit: 60_000, periodMs: 3_600_000 } });
  t.after(() => sim.close());
  const out = join(root, 'results.csv');
  const args = ['run', '--api', sim.url, '--user', sim.username, '--classifier', '1', '--source', list, '--points', 'stratified:3x3x1', '--image-size', '96x96', '--out', out, '--ndjson', join(root, 'results.ndjson'), '--burst', '6000/1m', '--sustained', '60000/1h'];

  const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, CORALNET_TOKEN: sim.token }, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  while (sim.stats.jobsCreated === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  child.kill('SIGKILL');
  await exited;
  const journal = await readFile(join(root, 'results.journal.ndjson'), 'utf8');
  assert.match(journal, /"t":"sending"/);
  assert.doesNotMatch(journal, /"t":"sent"/, 'the job id never reached the journal');

  faults.deployAnswerDelayMs = 0;
  const resumed = await runOnce(args, { CORALNET_TOKEN: sim.token });
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming the run of .*: 0 images already written, 1 job to poll again/);
  assert.equal(sim.stats.jobsCreated, 3, 'the job made before the kill is used, not made again');
  const names = (await readFile(join(root, 'results.ndjson'), 'utf8')).trim().split('\n').map((line) => (JSON.parse(line) as { name: string; jobIds: string[] }));
  assert.deepEqual(names.map((n) => n.name), painted.map((p) => p.name));
  assert.deepEqual(names[0]!.jobIds, ['1']);
  assert.equal((await readFile(out, 'utf8')).trim().split('\n').length, 1 + 250 * 9);
  const summary = JSON.parse(await readFile(join(root, 'results.run.json'), 'utf8')) as { jobs: number; resumes: number; annotated: number };
  assert.deepEqual([summary.jobs, summary.resumes, summary.annotated], [3, 1, 250]);
});
