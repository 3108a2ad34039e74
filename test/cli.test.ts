import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { api, tempFolder } from './helpers.js';

const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('reefstream simulate serves the API, prints the URL and token, and stops cleanly on SIGTERM', async () => {
  const child = spawn(process.execPath, [cli, 'simulate', '--port', '0', '--job-slots', '3', '--burst', '100/1m'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('Stop with Ctrl+C.')) resolve();
    });
    child.on('exit', () => reject(new Error(`simulate exited early: ${out}`)));
  });
  const url = /CoralNet simulator at (http:\/\/127\.0\.0\.1:\d+\/api\/)/.exec(out)![1]!;
  const token = /token:\s+([0-9a-f]{40})/.exec(out)![1]!;
  assert.match(out, /limits:\s+100 requests per 60 s, 1000 per 3600 s, 3 active jobs/);
  assert.match(out, new RegExp(`Try it: CORALNET_TOKEN=${token} reefstream run --api ${url.replace(/[./]/g, '\\$&')} --user surveyor --classifier 1 --source PHOTOS_OR_URLS --points stratified:5x6x1 --out results\\.csv --ndjson results\\.ndjson --burst 100/60s --sustained 1000/3600s`));
  const user = await api(url, 'GET', 'user/surveyor/', { token });
  assert.equal(user.status, 200);
  assert.deepEqual((user.json as { meta: unknown }).meta, { max_active_jobs: 3 });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.match(out, /simulator stopped: 1 requests, 0 jobs, 0 images, 0 throttled/);
});

test('a bad option is one clear line and exit code 2', () => {
  const share = run(['simulate', '--fault-5xx', '2']);
  assert.equal(share.status, 2);
  assert.equal(share.stderr, 'reefstream simulate: --fault-5xx "2": is a share from 0 to 1\n');
  const rate = run(['simulate', '--burst', 'lots']);
  assert.equal(rate.status, 2);
  assert.equal(rate.stderr, 'reefstream simulate: --burst "lots": "lots" is not a rate: write requests/period, such as 60/min, 1000/1h or 60/0.6s\n');
  const unknown = run(['simulate', '--prot', '8123']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /^reefstream simulate: Unknown option '--prot'.* \(see reefstream simulate --help\)\n$/);
  const host = run(['simulate', '--host', '0.0.0.0', '--port', '0']);
  assert.equal(host.status, 2);
  assert.equal(host.stderr, 'reefstream simulate: The simulator listens on this machine only: 0.0.0.0 is not a loopback address (use 127.0.0.1).\n');
  const command = run(['simulat']);
  assert.equal(command.status, 2);
  assert.equal(command.stderr, 'reefstream: no command "simulat" (commands: run, cover, coco, review, accept, report, overlay, demo, simulate; see reefstream --help)\n');
});

test('reefstream demo runs a painted survey end to end and every row has the painted label', async (t) => {
  const out = await tempFolder(t);
  const result = run(['demo', '--out', out, '--images', '130']);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /^130 images: 130 annotated, 0 failed\n3900 points in 2 jobs, /);
  assert.match(result.stdout, /\n3900 of 3900 rows labelled as the colour painted under the point\n/);
  assert.match(result.stdout, /, 0 throttled\n/);
  const ndjson = (await readFile(join(out, 'results.ndjson'), 'utf8')).trim().split('\n');
  assert.equal(ndjson.length, 130);
  assert.equal(await readFile(join(out, 'results.errors.ndjson'), 'utf8'), '');
});

test('each command has its own --help; a missing or malformed option says which and what to write', () => {
  const help = run(['run', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^ {2}reefstream run --classifier ID --source /);
  assert.doesNotMatch(help.stdout, /^ {2}reefstream cover/m, 'the other commands are left out');
  const push = run(['review', 'push', '-h']);
  assert.equal(push.status, 0);
  assert.match(push.stdout, /^ {2}reefstream review push --coco-annotator URL/);
  const base = ['run', '--classifier', '1', '--source', 'urls.txt', '--points', 'random:5'];
  const missing = run(base);
  assert.deepEqual([missing.status, missing.stderr], [2, 'reefstream run: --out is missing (see reefstream run --help).\n']);
  const dash = run([...base, '--out', 'r.csv', '--seed', '-1']);
  assert.deepEqual([dash.status, dash.stderr], [2, 'reefstream run: --seed takes a value that starts with a dash only as --seed=VALUE (for example --seed=-1).\n']);
  for (const seed of ['abc', '1.5']) {
    const bad = run([...base, '--out', 'r.csv', '--seed', seed]);
    assert.deepEqual([bad.status, bad.stderr], [2, `reefstream run: --seed "${seed}": is a whole number, such as 1 or 42\n`], seed);
  }
  const api = run([...base, '--out', 'r.csv', '--api', 'https://coralnet.ucsd.edu/']);
  assert.deepEqual([api.status, api.stderr], [2, 'reefstream run: --api "https://coralnet.ucsd.edu/": is not an API base: it ends in /api/ (CoralNet\'s is https://coralnet.ucsd.edu/api/)\n']);
  const points = run(['run', '--classifier', '1', '--source', 'urls.txt', '--out', 'r.csv', '--points', 'random:-3']);
  assert.equal(points.status, 2);
  assert.match(points.stderr, /^reefstream run: --points "random:-3": "random:-3" is not a point method/);
});
