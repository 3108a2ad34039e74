import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { request } from 'undici';
import { startSimulator, type RunningSimulator } from '../src/simulator/server.js';
import { JobBoard } from '../src/simulator/jobs.js';
import { serveFolder, type ServedFolder } from '../src/sources/folderServer.js';
import { blockCentres, paintedLabel, paintImage, type PaintedImage } from '../src/demo/syntheticSurvey.js';
import { api, firstError, sleep, tempFolder } from './helpers.js';

const point = { row: 10, column: 20 };
const image = (url = 'http://127.0.0.1:9/a.jpg', points: unknown = [point]): unknown => ({ type: 'image', attributes: { url, points } });

async function waitFinished(sim: RunningSimulator, id: string, token = sim.token): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const answer = await api(sim.url, 'GET', `deploy_job/${id}/status/`, { token });
    if (answer.status === 303) return;
    await sleep(20);
  }
  throw new Error(`job ${id} did not finish`);
}

async function deploy(sim: RunningSimulator, images: unknown[], token = sim.token): Promise<string> {
  const answer = await api(sim.url, 'POST', 'classifier/1/deploy/', { token, body: { data: images } });
  assert.equal(answer.status, 202, answer.text);
  return /deploy_job\/(\d+)\/status\/$/.exec(String(answer.headers.location))![1]!;
}

describe('simulator: authentication, routing and content type', () => {
  test('each authentication failure answers 403 with the server message', async (t) => {
    const sim = await startSimulator();
    t.after(() => sim.close());
    const cases: Array<[string | undefined, string]> = [
      [undefined, 'Authentication credentials were not provided.'],
      ['Bearer abc', 'Authentication credentials were not provided.'],
      ['Token', 'Invalid token header. No credentials provided.'],
      ['Token a b', 'Invalid token header. Token string should not contain spaces.'],
      [`Token ${'0'.repeat(40)}`, 'Invalid token.'],
    ];
    for (const [authorization, detail] of cases) {
      const answer = await api(sim.url, 'GET', `user/${sim.username}/`, authorization === undefined ? {} : { authorization });
      assert.equal(answer.status, 403, String(authorization));
      assert.deepEqual(answer.json, { errors: [{ detail }] });
    }
  });

  test('token_auth gives the user token for the right password and 400 otherwise', async (t) => {
    const sim = await startSimulator();
    t.after(() => sim.close());
    assert.match(sim.token, /^[0-9a-f]{40}$/);
    const ok = await api(sim.url, 'POST', 'token_auth/', { body: { username: 'surveyor', password: 'reefstream' } });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json, { token: sim.token });
    const bad = await api(sim.url, 'POST', 'token_auth/', { body: { username: 'surveyor', password: 'wrong' } });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json, { errors: [{ non_field_errors: ['Unable to log in with provided credentials.'] }] });
    const missing = await api(sim.url, 'POST', 'token_auth/', { body: { password: 'reefstream' } });
    assert.deepEqual([missing.status, missing.json], [400, { errors: [{ username: ['This field is required.'] }] }]);
    const none = await api(sim.url, 'POST', 'token_auth/', { body: { username: '' } });
    assert.deepEqual(none.json, { errors: [{ username: ['This field may not be blank.'], password: ['This field is required.'] }] });
    // No credentials needed; but a header that is sent must be a valid one.
    const badHeader = await api(sim.url, 'POST', 'token_auth/', { authorization: 'Token 0000', body: { username: 'surveyor', password: 'reefstream' } });
    assert.deepEqual([badHeader.status, firstError(badHeader).detail], [403, 'Invalid token.']);
    const get = await api(sim.url, 'GET', 'token_auth/');
    assert.equal(get.status, 405);
    assert.equal(firstError(get).detail, 'Method "GET" not allowed.');
  });

  test('415 names the content type sent; 405 for the wrong method; 404 for unknown routes', async (t) => {
    const sim = await startSimulator();
    t.after(() => sim.close());
    const form = await api(sim.url, 'POST', 'classifier/1/deploy/', { token: sim.token, rawBody: 'a=1', contentType: 'multipart/form-data; boundary=x' });
    assert.equal(form.status, 415);
    assert.deepEqual(form.json, { errors: [{ detail: 'Content type should be application/vnd.api+json, not multipart/form-data' }] });
    const plainJson = await api(sim.url, 'POST', 'classifier/1/deploy/', { token: sim.token, rawBody: '{}', contentType: 'application/json' });
    assert.equal(firstError(plainJson).detail, 'Content type should be application/vnd.api+json, not application/json');
    const getDeploy = await api(sim.url, 'GET', 'classifier/1/deploy/', { token: sim.token });
    assert.equal(getDeploy.status, 405);
    assert.equal(firstError(getDeploy).detail, 'Method "GET" not allowed.');
    const postStatus = await api(sim.url, 'POST', 'deploy_job/1/status/', { token: sim.token, body: {} });
    assert.equal(postStatus.status, 405);
    assert.equal(firstError(postStatus).detail, 'Method "POST" not allowed.');
    const unknown = await api(sim.url, 'GET', 'classifiers/', { token: sim.token });
    assert.equal(unknown.status, 404);
    assert.match(String(unknown.headers['content-type']), /^text\/html/, "Django's own page, not a JSON error");
    assert.match(unknown.text, /<h1>Not Found<\/h1>/);
    assert.equal((await api(sim.url, 'GET', 'deploy_job/abc/status/', { token: sim.token })).status, 404);
    const noSlash = await api(sim.url, 'GET', `user/${sim.username}`, { token: sim.token });
    assert.deepEqual([noSlash.status, noSlash.headers.location], [301, `/api/user/${sim.username}/`]);
    // A body sent without a Content-Type is named as an empty type; an empty body is read as {}.
    const untyped = await request(new URL('classifier/1/deploy/', sim.url), { method: 'POST', headers: { authorization: `Token ${sim.token}` }, body: '{"data":[]}' });
    assert.deepEqual([untyped.statusCode, await untyped.body.json()], [415, { errors: [{ detail: 'Content type should be application/vnd.api+json, not ' }] }]);
    const empty = await api(sim.url, 'POST', 'classifier/1/deploy/', { token: sim.token, rawBody: '', contentType: 'text/plain' });
    assert.deepEqual([empty.status, firstError(empty)], [400, { detail: "Ensure this hash has a 'data' key.", pointer: '/' }]);
  });

  test('the Accept header is checked before anything else: JSON alone is 406, a browser gets the page', async (t) => {
    const sim = await startSimulator();
    t.after(() => sim.close());
    for (const accept of ['application/json', 'text/plain']) {
      const refused = await api(sim.url, 'GET', `user/${sim.username}/`, { headers: { accept } });
      assert.deepEqual([refused.status, firstError(refused).detail], [406, 'Could not satisfy the request Accept header.'], accept);
    }
    for (const accept of ['application/vnd.api+json', '*/*', 'application/*', 'application/json, application/vnd.api+json; q=0.9']) {
      assert.equal((await api(sim.url, 'GET', `user/${sim.username}/`, { token: sim.token, headers: { accept } })).status, 200, accept);
    }
    const browser = await api(sim.url, 'GET', `user/${sim.username}/`, { token: sim.token, headers: { accept: 'text/html,application/xhtml+xml' } });
    assert.equal(browser.status, 200);
    assert.match(String(browser.headers['content-type']), /^text\/html/);
    assert.equal(sim.stats.throttled, 0);
  });

  test('token_auth is throttled per client address, with the same rates', async (t) => {
    const sim = await startSimulator({ burst: { limit: 2, periodMs: 60_000 } });
    t.after(() => sim.close());
    for (let i = 0; i < 2; i++) assert.equal((await api(sim.url, 'POST', 'token_auth/', { body: { username: 'surveyor', password: 'wrong' } })).status, 400);
    const third = await api(sim.url, 'POST', 'token_auth/', { body: { username: 'surveyor', password: 'reefstream' } });
    assert.equal(third.status, 429);
    assert.match(firstError(third).detail ?? '', /^Request was throttled\. Expected available in \d+ seconds\.$/);
    // The user's own window is another: a token still works.
    assert.equal((await api(sim.url, 'GET', `user/${sim.username}/`, { token: sim.token })).status, 200);
  });

  test('the user route answers only for the user itself', async (t) => {
    const sim = await startSimulator({ jobSlots: 3 });
    t.after(() => sim.close());
    const own = await api(sim.url, 'GET', `user/${sim.username}/`, { token: sim.token });
    assert.equal(own.status, 200);
    assert.deepEqual(own.json, { data: { active_jobs: [], recently_completed_jobs: [] }, meta: { max_active_jobs: 3 } });
    for (const name of ['other-lab', 'nobody-at-all']) {
      const other = await api(sim.url, 'GET', `user/${name}/`, { token: sim.token });
      assert.deepEqual([other.status, firstError(other).detail], [404, "You can only see details for the user you're logged in as"], name);
    }
  });
});

describe('simulator: deploy request checks, in the server order', () => {
  const cases: Array<[string, unknown, string, string | undefined]> = [
    ['body not a hash', [], 'Ensure this element is a hash.', '/'],
    ['no data key', { images: [] }, "Ensure this hash has a 'data' key.", '/'],
    ['data not an array', { data: {} }, 'Ensure this element is an array.', '/data'],
    ['data empty', { data: [] }, 'Ensure this array is non-empty.', '/data'],
    ['type not a string', { data: [{ type: 5, attributes: {} }] }, 'Ensure this element is a string.', '/data/0/type'],
    ['101 images, checked before any image', { data: [...Array.from({ length: 100 }, () => image()), 'x'] }, 'This array exceeds the max length of 100.', '/data'],
    ['image not a hash', { data: [image(), 5] }, 'Ensure this element is a hash.', '/data/1'],
    ['image without type', { data: [{ attributes: {} }] }, "Ensure this hash has a 'type' key.", '/data/0'],
    ['image without attributes', { data: [{ type: 'image' }] }, "Ensure this hash has a 'attributes' key.", '/data/0'],
    ['type not image', { data: [{ type: 'images', attributes: {} }] }, "This element should be equal to 'image'.", '/data/0/type'],
    ['attributes without url', { data: [{ type: 'image', attributes: { points: [point] } }] }, "Ensure this hash has a 'url' key.", '/data/0/attributes'],
    ['attributes without points', { data: [{ type: 'image', attributes: { url: 'u' } }] }, "Ensure this hash has a 'points' key.", '/data/0/attributes'],
    ['url not a string', { data: [image(7 as unknown as string)] }, 'Ensure this element is a string.', '/data/0/attributes/url'],
    ['points not an array', { data: [image(undefined, 'all')] }, 'Ensure this element is an array.', '/data/0/attributes/points'],
    ['points empty', { data: [image(undefined, [])] }, 'Ensure this array is non-empty.', '/data/0/attributes/points'],
    ['201 points', { data: [image(undefined, Array.from({ length: 201 }, () => point))] }, 'This array exceeds the max length of 200.', '/data/0/attributes/points'],
    ['point not a hash', { data: [image(undefined, [point, 3])] }, 'Ensure this element is a hash.', '/data/0/attributes/points/1'],
    ['point without row', { data: [image(undefined, [{ column: 1 }])] }, "Ensure this hash has a 'row' key.", '/data/0/attributes/points/0'],
    ['point without column', { data: [image(undefined, [{ row: 1 }])] }, "Ensure this hash has a 'column' key.", '/data/0/attributes/points/0'],
    ['row a string', { data: [image(undefined, [{ row: '1', column: 1 }])] }, 'Ensure this element is an integer.', '/data/0/attributes/points/0/row'],
    ['column below 0', { data: [image(), image(undefined, [point, { row: 1, column: -1 }])] }, "This element's value is below the minimum of 0.", '/data/1/attributes/points/1/column'],
  ];
  for (const [name, body, detail, pointer] of cases) {
    test(name, async (t) => {
      const sim = await startSimulator();
      t.after(() => sim.close());
      const answer = await api(sim.url, 'POST', 'classifier/1/deploy/', { token: sim.token, body });
      assert.equal(answer.status, 400);
      assert.deepEqual(answer.json, { errors: [{ detail, source: { pointer } }] });
    });
  }

  test('10.0 is not an integer to the server', async (t) => {
    const sim = await startSimulator();
    t.after(() => sim.close());
    const rawBody = '{"data":[{"type":"image","attributes":{"url":"u","points":[{"row":10.0,"column":2}]}}]}';
    const answer = await api(sim.url, 'POST', 'classifier/1/deploy/', { token: sim.token, rawBody });
    assert.deepEqual(answer.json, { errors: [{ detail: 'Ensure this element is an integer.', source: { pointer: '/data/0/attributes/points/0/row' } }] });
    // Digits and dots inside strings are not floats; exponents outside them are.
    const inUrl = '{"data":[{"type":"image","attributes":{"url":"http://h/IMG_10.0.jpg","points":[{"row":1e1,"column":2}]}}]}';
    const exponent = await api(sim.url, 'POST', 'classifier/1/deploy/', { token: sim.token, rawBody: inUrl });
    assert.deepEqual(exponent.json, { errors: [{ detail: 'Ensure this element is an integer.', source: { pointer: '/data/0/attributes/points/0/row' } }] });
    // JSON's whitespace around a float leaves it a float.
    const spaced = '{"data": [{"type": "image", "attributes": {"url": "u", "points": [{"row": 2, "column":\n 10.0 }]}}]}';
    const spacedAnswer = await api(sim.url, 'POST', 'classifier/1/deploy/', { token: sim.token, rawBody: spaced });
    assert.deepEqual(spacedAnswer.json, { errors: [{ detail: 'Ensure this element is an integer.', source: { pointer: '/data/0/attributes/points/0/column' } }] });
    // A URL that reads like a float after a comma holds none: the body is taken.
    const lookalike = '{"data":[{"type":"image","attributes":{"url":"http://h/a,1.5]/b.jpg","points":[{"row":1,"column":2}]}}]}';
    const taken = await api(sim.url, 'POST', 'classifier/1/deploy/', { token: sim.token, rawBody: lookalike });
    assert.equal(taken.status, 202, taken.text);
  });

  test('JSON true and false pass as rows and columns (Python\'s bool is an int), as 1 and 0', async (t) => {
    const folder = await tempFolder(t);
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#228B22' } }).jpeg().toFile(join(folder, 'a.jpg'));
    const files = await serveFolder(folder);
    t.after(() => files.close());
    const sim = await startSimulator();
    t.after(() => sim.close());
    const id = await deploy(sim, [image(files.urlOf('a.jpg'), [{ row: true, column: false }])]);
    await waitFinished(sim, id);
    const result = await api(sim.url, 'GET', `deploy_job/${id}/result/`, { token: sim.token });
    const point = (result.json as { data: Array<{ attributes: { points: Array<{ row: number; column: number }> } }> }).data[0]!.attributes.points[0]!;
    assert.deepEqual([point.row, point.column], [1, 0]);
  });

  test('a JSON parse error is a 400 without pointer', async (t) => {
    const sim = await startSimulator();
    t.after(() => sim.close());
    const answer = await api(sim.url, 'POST', 'classifier/1/deploy/', { token: sim.token, rawBody: '{"data": [' });
    assert.equal(answer.status, 400);
    assert.match(firstError(answer).detail!, /^JSON parse error - /);
    assert.equal(firstError(answer).pointer, undefined);
  });

  test('a private or missing classifier is 404 and is checked before validation, after the parse', async (t) => {
    const sim = await startSimulator();
    t.after(() => sim.close());
    for (const id of ['2', '999']) {
      const answer = await api(sim.url, 'POST', `classifier/${id}/deploy/`, { token: sim.token, body: { data: [] } });
      assert.equal(answer.status, 404, id);
      assert.deepEqual(answer.json, { errors: [{ detail: "This classifier doesn't exist or is not accessible" }] });
    }
    // An id that is not a number matches no route: Django's page.
    const word = await api(sim.url, 'POST', 'classifier/abc/deploy/', { token: sim.token, body: { data: [] } });
    assert.deepEqual([word.status, word.json], [404, undefined]);
    const other = sim.users.find((u) => u.username === 'other-lab')!;
    const owner = await api(sim.url, 'POST', 'classifier/2/deploy/', { token: other.token, body: { data: [] } });
    assert.equal(owner.status, 400, 'the owner of the private source reaches validation');
    const parseFirst = await api(sim.url, 'POST', 'classifier/999/deploy/', { token: sim.token, rawBody: 'nope' });
    assert.equal(parseFirst.status, 400);
  });

  test('202 with a relative Location, and increasing job ids', async (t) => {
    const sim = await startSimulator();
    t.after(() => sim.close());
    const first = await api(sim.url, 'POST', 'classifier/1/deploy/', { token: sim.token, body: { data: [image()] } });
    assert.equal(first.status, 202);
    assert.equal(first.text, '');
    assert.equal(first.headers.location, '/api/deploy_job/1/status/');
    const second = await api(sim.url, 'POST', 'classifier/1/deploy/', { token: sim.token, body: { data: [image()], extra: true } });
    assert.equal(second.headers.location, '/api/deploy_job/2/status/');
  });
});

describe('simulator: limits', () => {
  test('a full request window answers 429 with Retry-After, and the refused request is not counted', async (t) => {
    const sim = await startSimulator({ burst: { limit: 3, periodMs: 1500 } });
    t.after(() => sim.close());
    for (let i = 0; i < 3; i++) assert.equal((await api(sim.url, 'GET', `user/${sim.username}/`, { token: sim.token })).status, 200);
    const refused = await api(sim.url, 'GET', `user/${sim.username}/`, { token: sim.token });
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['retry-after'], '2');
    assert.deepEqual(refused.json, { errors: [{ detail: 'Request was throttled. Expected available in 2 seconds.' }] });
    await sleep(1600);
    // Three requests counted, one refused: after the period the window is empty again.
    for (let i = 0; i < 3; i++) assert.equal((await api(sim.url, 'GET', `user/${sim.username}/`, { token: sim.token })).status, 200);
    assert.equal(sim.stats.throttled, 1);
  });

  test('a window with room counts a request that the other window refuses; one second is "1 second."', async (t) => {
    const sim = await startSimulator({ burst: { limit: 1, periodMs: 1000 }, sustained: { limit: 3, periodMs: 3_600_000 } });
    t.after(() => sim.close());
    const ask = (): ReturnType<typeof api> => api(sim.url, 'GET', `user/${sim.username}/`, { token: sim.token });
    assert.equal((await ask()).status, 200);
    const burst = await ask();
    assert.deepEqual([burst.status, burst.headers['retry-after'], firstError(burst).detail], [429, '1', 'Request was throttled. Expected available in 1 second.']);
    await sleep(1100);
    assert.equal((await ask()).status, 200);
    await sleep(1100);
    // Two answered and one refused by the burst window: the hourly window holds three.
    const hourly = await ask();
    assert.equal(hourly.status, 429);
    assert.ok(Number(hourly.headers['retry-after']) > 3500, String(hourly.headers['retry-after']));
  });

  test('windows are per user', async (t) => {
    const sim = await startSimulator({ burst: { limit: 1, periodMs: 60_000 } });
    t.after(() => sim.close());
    const other = sim.users.find((u) => u.username === 'other-lab')!;
    assert.equal((await api(sim.url, 'GET', `user/${sim.username}/`, { token: sim.token })).status, 200);
    assert.equal((await api(sim.url, 'GET', 'user/other-lab/', { token: other.token })).status, 200);
    const refused = await api(sim.url, 'GET', `user/${sim.username}/`, { token: sim.token });
    assert.equal(refused.status, 429);
    assert.equal(firstError(refused).detail, 'Request was throttled. Expected available in 60 seconds.');
  });

  test('the active-job limit answers 429 without Retry-After, naming the jobs, before parsing the body', async (t) => {
    const sim = await startSimulator({ jobSlots: 2, imageMs: 60_000, workers: 1 });
    t.after(() => sim.close());
    await deploy(sim, [image()]);
    await deploy(sim, [image()]);
    const refused = await api(sim.url, 'POST', 'classifier/1/deploy/', { token: sim.token, rawBody: 'not even json' });
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['retry-after'], undefined);
    assert.deepEqual(refused.json, {
      errors: [{ detail: 'You already have 2 jobs active (IDs: 1, 2). You must wait until one of them finishes before requesting another job.' }],
    });
    const user = await api(sim.url, 'GET', `user/${sim.username}/`, { token: sim.token });
    assert.deepEqual(user.json, {
      data: { active_jobs: [{ type: 'jobs', id: '1' }, { type: 'jobs', id: '2' }], recently_completed_jobs: [] },
      meta: { max_active_jobs: 2 },
    });
  });
});

describe('simulator: jobs, results and per-image failures', () => {
  let folder: string;
  let served: ServedFolder;
  let painted: PaintedImage;

  async function survey(t: { after: (fn: () => Promise<void>) => void }): Promise<void> {
    folder = await tempFolder(t);
    painted = await paintImage(join(folder, 'plate.jpg'), { width: 400, height: 300, seed: 7 });
    served = await serveFolder(folder);
    t.after(() => served.close());
  }

  test('status goes Pending → In Progress → 303; result is 409 until then, then every image in request order', async (t) => {
    await survey(t);
    const sim = await startSimulator({ imageMs: 150, workers: 1 });
    t.after(() => sim.close());
    const url = served.urlOf('plate.jpg');
    const points = blockCentres(painted);
    const id = await deploy(sim, [image(url, points), image(url, points.slice(0, 3))]);
    const early = await api(sim.url, 'GET', `deploy_job/${id}/status/`, { token: sim.token });
    assert.equal(early.status, 200);
    assert.deepEqual(early.json, { data: [{ type: 'job', id, attributes: { status: 'In Progress', successes: 0, failures: 0, total: 2 } }] });
    const notYet = await api(sim.url, 'GET', `deploy_job/${id}/result/`, { token: sim.token });
    assert.equal(notYet.status, 409);
    assert.deepEqual(notYet.json, { errors: [{ detail: "This job isn't finished yet" }] });
    await waitFinished(sim, id);
    const done = await api(sim.url, 'GET', `deploy_job/${id}/status/`, { token: sim.token });
    assert.equal(done.status, 303);
    assert.equal(done.headers.location, `/api/deploy_job/${id}/result/`);
    const result = await api(sim.url, 'GET', `deploy_job/${id}/result/`, { token: sim.token });
    assert.equal(result.status, 200);
    assert.equal(result.text, JSON.stringify(result.json), 'the body is written as JSON.stringify writes it');
    assert.deepEqual(Object.keys((result.json as { data: Array<{ attributes: object }> }).data[0]!.attributes), ['url', 'points']);
    const data = (result.json as { data: Array<{ type: string; id: string; attributes: { url: string; points: Array<{ row: number; column: number; classifications: Array<{ label_code: string; score: number }> }> } }> }).data;
    assert.equal(data.length, 2);
    assert.deepEqual(data.map((entry) => entry.id), [url, url], 'the same URL twice gives two entries with the same id');
    assert.equal(data[1]!.attributes.points.length, 3);
    for (const entry of data) {
      for (const p of entry.attributes.points) {
        assert.equal(p.classifications.length, 5);
        assert.equal(p.classifications[0]!.label_code, paintedLabel(painted, p.row, p.column));
        const scores = p.classifications.map((c) => c.score);
        assert.deepEqual([...scores].sort((a, b) => b - a), scores, 'best first');
        assert.ok(Math.abs(scores.reduce((a, b) => a + b, 0) - 1) < 1e-9);
      }
    }
    assert.deepEqual(data[0]!.attributes.points.map(({ row, column }) => ({ row, column })), points, 'points in request order');
  });

  test('a job waiting behind busy workers is Pending', async (t) => {
    await survey(t);
    const sim = await startSimulator({ imageMs: 300, workers: 1 });
    t.after(() => sim.close());
    const url = served.urlOf('plate.jpg');
    await deploy(sim, [image(url, [point])]);
    const second = await deploy(sim, [image(url, [point])]);
    const status = await api(sim.url, 'GET', `deploy_job/${second}/status/`, { token: sim.token });
    assert.equal((status.json as { data: Array<{ attributes: { status: string } }> }).data[0]!.attributes.status, 'Pending');
  });

  test('per-image failures carry the server messages; other images of the job succeed', async (t) => {
    await survey(t);
    await writeFile(join(folder, 'notes.jpg'), 'field notes, not a picture');
    await sharp({ create: { width: 8001, height: 8000, channels: 3, background: '#F5DEB3' } }).png({ compressionLevel: 1 }).toFile(join(folder, 'huge.png'));
    const sim = await startSimulator();
    t.after(() => sim.close());
    const missing = served.urlOf('missing.jpg');
    const notes = served.urlOf('notes.jpg');
    const plate = served.urlOf('plate.jpg');
    const huge = served.urlOf('huge.png');
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const refused = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/closed-port.jpg`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const id = await deploy(sim, [
      image(refused),
      image(missing),
      image(notes),
      image(plate, [point, { row: 300, column: 5 }]),
      image(plate, [{ row: 5, column: 400 }]),
      image(huge),
      image(plate, [{ row: 299, column: 399 }]),
    ]);
    await waitFinished(sim, id);
    const result = await api(sim.url, 'GET', `deploy_job/${id}/result/`, { token: sim.token });
    const data = (result.json as { data: Array<{ attributes: { errors?: string[]; points?: unknown[] } }> }).data;
    const errors = data.map((entry) => entry.attributes.errors?.[0]);
    assert.equal(errors.shift(), `spacer.exceptions.URLDownloadError: Failed to download from the URL '${refused}'. / Details - URLError: <urlopen error [Errno 111] Connection refused>`);
    data.shift();
    assert.equal(errors[0], `spacer.exceptions.URLDownloadError: Failed to download from the URL '${missing}'. / Details - HTTPError: HTTP Error 404: Not Found`);
    assert.match(errors[1]!, /^PIL\.UnidentifiedImageError: cannot identify image file <_io\.BytesIO object at 0x[0-9a-f]+>$/);
    assert.equal(errors[2], `spacer.exceptions.RowColumnInvalidError: ${plate}: Row value 300 falls outside this image's valid range of 0-299.`);
    assert.equal(errors[3], `spacer.exceptions.RowColumnInvalidError: ${plate}: Column value 400 falls outside this image's valid range of 0-399.`);
    assert.equal(errors[4], `spacer.exceptions.DataLimitError: Image ${huge} has 8001 x 8000 = 64008000 total pixels, which is larger than the max allowed of 64000000.`);
    assert.equal(errors[5], undefined);
    assert.equal(data[5]!.attributes.points!.length, 1);
    const status = await api(sim.url, 'GET', `user/${sim.username}/`, { token: sim.token });
    assert.deepEqual((status.json as { data: { recently_completed_jobs: unknown } }).data.recently_completed_jobs, [{ type: 'jobs', id }]);
  });

  test('points are checked against the stored size, as CoralNet reads it: EXIF orientation 6 changes nothing', async (t) => {
    folder = await tempFolder(t);
    await sharp({ create: { width: 300, height: 200, channels: 3, background: '#228B22' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toFile(join(folder, 'turned.jpg'));
    served = await serveFolder(folder);
    t.after(() => served.close());
    const sim = await startSimulator();
    t.after(() => sim.close());
    const url = served.urlOf('turned.jpg');
    const id = await deploy(sim, [image(url, [{ row: 199, column: 299 }]), image(url, [{ row: 200, column: 0 }])]);
    await waitFinished(sim, id);
    const result = await api(sim.url, 'GET', `deploy_job/${id}/result/`, { token: sim.token });
    const data = (result.json as { data: Array<{ attributes: { errors?: string[]; points?: Array<{ classifications: Array<{ label_code: string }> }> } }> }).data;
    assert.equal(data[0]!.attributes.points![0]!.classifications[0]!.label_code, 'MA');
    assert.equal(data[1]!.attributes.errors![0], `spacer.exceptions.RowColumnInvalidError: ${url}: Row value 200 falls outside this image's valid range of 0-199.`);
  });

  test('a classifier deleted after the request fails its images with the server message', async (t) => {
    await survey(t);
    const sim = await startSimulator({ imageMs: 200, workers: 1 });
    t.after(() => sim.close());
    const id = await deploy(sim, [image(served.urlOf('plate.jpg')), image(served.urlOf('plate.jpg'))]);
    sim.deleteClassifier(1);
    await waitFinished(sim, id);
    const result = await api(sim.url, 'GET', `deploy_job/${id}/result/`, { token: sim.token });
    const data = (result.json as { data: Array<{ attributes: { errors?: string[] } }> }).data;
    assert.deepEqual(data[1]!.attributes.errors, ['Classifier of id 1 does not exist. Maybe it was deleted.']);
    // The first image was under way when the classifier went: the message of a deletion mid-way.
    assert.deepEqual(data[0]!.attributes.errors, ['Classifier of id 1 does not exist.']);
  });

  test("another user's job, an unknown job and an expired job are 404 on every route", async (t) => {
    const sim = await startSimulator({ expireAfterMs: 400 });
    t.after(() => sim.close());
    const other = sim.users.find((u) => u.username === 'other-lab')!;
    const id = await deploy(sim, [image()]);
    const notFound = { errors: [{ detail: "This deploy job doesn't exist or is not accessible" }] };
    for (const route of ['status', 'result']) {
      assert.deepEqual((await api(sim.url, 'GET', `deploy_job/${id}/${route}/`, { token: other.token })).json, notFound);
      assert.deepEqual((await api(sim.url, 'GET', `deploy_job/77/${route}/`, { token: sim.token })).json, notFound);
    }
    assert.notEqual((await api(sim.url, 'GET', `deploy_job/${id}/status/`, { token: sim.token })).status, 404);
    await sleep(450);
    for (const route of ['status', 'result']) {
      const gone = await api(sim.url, 'GET', `deploy_job/${id}/${route}/`, { token: sim.token });
      assert.equal(gone.status, 404);
      assert.deepEqual(gone.json, notFound);
    }
  });
});

describe('simulator: fault injection', () => {
  test('5xx pages and dropped connections happen at the asked rates', async (t) => {
    const sim = await startSimulator({ burst: { limit: 1000, periodMs: 60_000 }, faults: { seed: 3, serverErrors: 0.3, drops: 0.2 } });
    t.after(() => sim.close());
    const statuses = new Map<string, number>();
    for (let i = 0; i < 100; i++) {
      let key: string;
      try {
        key = String((await api(sim.url, 'GET', `user/${sim.username}/`, { token: sim.token })).status);
      } catch {
        key = 'dropped';
      }
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
    }
    const fivexx = (statuses.get('500') ?? 0) + (statuses.get('502') ?? 0) + (statuses.get('503') ?? 0);
    assert.equal(fivexx, sim.stats.injectedServerErrors);
    // undici sends an idempotent request again on its own when a kept-alive socket closes unanswered.
    assert.ok((statuses.get('dropped') ?? 0) <= sim.stats.injectedDrops);
    assert.ok(fivexx >= 15 && fivexx <= 45, `5xx: ${fivexx}`);
    assert.ok(sim.stats.injectedDrops >= 5 && sim.stats.injectedDrops <= 30, `drops: ${sim.stats.injectedDrops}`);
    assert.equal(statuses.get('200'), 100 - fivexx - (statuses.get('dropped') ?? 0));
    assert.equal(sim.stats.requests, 100 + sim.stats.injectedDrops - (statuses.get('dropped') ?? 0));
  });
});

describe('simulator: fake images', () => {
  test('nothing is downloaded; labels follow the documented function of URL, row and column', async (t) => {
    const sim = await startSimulator({ fakeImages: { width: 400, height: 300 }, burst: { limit: 1000, periodMs: 60_000 } });
    t.after(() => sim.close());
    const url = 'https://nowhere.invalid/survey/IMG_0001.JPG';
    const points = [{ row: 0, column: 0 }, { row: 49, column: 49 }, { row: 50, column: 0 }, { row: 299, column: 399 }, { row: 120, column: 260 }];
    const id = await deploy(sim, [image(url, points), image(url, [{ row: 300, column: 0 }])]);
    await waitFinished(sim, id);
    const result = await api(sim.url, 'GET', `deploy_job/${id}/result/`, { token: sim.token });
    const data = (result.json as { data: Array<{ attributes: { errors?: string[]; points?: Array<{ classifications: Array<{ label_code: string }> }> } }> }).data;
    let h = 0x811c9dc5;
    for (const ch of url) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
    const codes = ['CORAL', 'CCA', 'MA', 'TURF', 'SAND'];
    const expected = points.map(({ row, column }) => codes[((h >>> 0) + 7919 * Math.floor(row / 50) + 104729 * Math.floor(column / 50)) % 5]);
    assert.deepEqual(data[0]!.attributes.points!.map((p) => p.classifications[0]!.label_code), expected);
    assert.equal(data[1]!.attributes.errors![0], `spacer.exceptions.RowColumnInvalidError: ${url}: Row value 300 falls outside this image's valid range of 0-299.`);
  });
});

test('workers: a shared pool takes units across jobs in request order; with workers per job, jobs go side by side', async () => {
  const units = (n: number) => Array.from({ length: n }, (_, i) => ({ url: `https://example.org/${i}.jpg`, points: [{ row: 0, column: 0 }] }));
  const boards = [
    new JobBoard({ workers: 2, imageMs: 20, expireAfterMs: 60_000, process: () => Promise.resolve({ ok: true as const, pixels: [0x000000] }) }),
    new JobBoard({ workers: 2, jobWorkers: 1, imageMs: 20, expireAfterMs: 60_000, process: () => Promise.resolve({ ok: true as const, pixels: [0x000000] }) }),
  ];
  const started = boards.map((board) => {
    const jobs = [board.create('u', 1, units(3)), board.create('u', 1, units(3)), board.create('u', 1, units(3))];
    return jobs.map((job) => job.started);
  });
  // Two shared workers both take the first job's units; one worker per job starts each job at once.
  assert.deepEqual(started, [[2, 0, 0], [1, 1, 1]]);
  for (const board of boards) {
    for (let waited = 0; board.counts.unitsDone < 9 && waited < 5000; waited += 10) await sleep(10);
    assert.equal(board.counts.unitsDone, 9);
    board.close();
  }
});

test('a job whose finish time is never set: status 303, result 409 each time, and it stays among the active jobs', async (t) => {
  const folder = await tempFolder(t);
  await sharp({ create: { width: 64, height: 64, channels: 3, background: '#228B22' } }).jpeg().toFile(join(folder, 'a.jpg'));
  const served = await serveFolder(folder);
  t.after(() => served.close());
  const sim = await startSimulator({ faults: { stuckJobs: [1] } });
  t.after(() => sim.close());
  const id = await deploy(sim, [image(served.urlOf('a.jpg'), [{ row: 1, column: 1 }])]);
  await waitFinished(sim, id);
  for (let i = 0; i < 3; i++) {
    const result = await api(sim.url, 'GET', `deploy_job/${id}/result/`, { token: sim.token });
    assert.equal(result.status, 409);
    assert.equal(firstError(result).detail, "This job isn't finished yet");
  }
  const user = await api(sim.url, 'GET', `user/${sim.username}/`, { token: sim.token });
  assert.deepEqual((user.json as { data: { active_jobs: unknown } }).data.active_jobs, [{ type: 'jobs', id }]);
});

test('the pixel limit is on width × height and can be set; past twice (limit + 20,000) the image is refused as a decompression bomb', async (t) => {
  const folder = await tempFolder(t);
  for (const [name, side] of [['small.png', 30], ['over.png', 40], ['bomb.png', 210]] as const) {
    await sharp({ create: { width: side, height: side, channels: 3, background: '#228B22' } }).png().toFile(join(folder, name));
  }
  const files = await serveFolder(folder);
  t.after(() => files.close());
  // A limit of 1,000 pixels: 40 × 40 is over it; 210 × 210 = 44,100 is over 2 × (1,000 + 20,000).
  const sim = await startSimulator({ maxImagePixels: 1000, jobSlots: 1 });
  t.after(() => sim.close());
  const id = await deploy(sim, ['small.png', 'over.png', 'bomb.png'].map((name) => image(files.urlOf(name), [{ row: 1, column: 1 }])));
  await waitFinished(sim, id);
  const result = await api(sim.url, 'GET', `deploy_job/${id}/result/`, { token: sim.token });
  const errors = (result.json as { data: Array<{ attributes: { errors?: string[] } }> }).data.map((entry) => entry.attributes.errors?.[0]);
  assert.deepEqual(errors, [
    undefined,
    `spacer.exceptions.DataLimitError: Image ${files.urlOf('over.png')} has 40 x 40 = 1600 total pixels, which is larger than the max allowed of 1000.`,
    'PIL.Image.DecompressionBombError: Image size (44100 pixels) exceeds limit of 42000 pixels, could be decompression bomb DOS attack.',
  ]);
  // recently_completed_jobs holds at most 2 × max_active_jobs, newest first.
  const more = [];
  for (let i = 0; i < 2; i++) {
    more.push(await deploy(sim, [image(files.urlOf('small.png'), [{ row: 1, column: 1 }])]));
    await waitFinished(sim, more.at(-1)!);
  }
  const user = await api(sim.url, 'GET', `user/${sim.username}/`, { token: sim.token });
  assert.deepEqual((user.json as { data: { recently_completed_jobs: unknown } }).data.recently_completed_jobs, [{ type: 'jobs', id: more[1] }, { type: 'jobs', id: more[0] }]);
});

test('download failures in spacer\'s words: a string that is no URL, and an answer cut short', async (t) => {
  const cut = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': '1000' });
    res.write(Buffer.alloc(10));
    setTimeout(() => res.destroy(), 20);
  });
  await new Promise<void>((resolve) => cut.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => cut.close(() => resolve())));
  const cutUrl = `http://127.0.0.1:${(cut.address() as AddressInfo).port}/cut.jpg`;
  const sim = await startSimulator();
  t.after(() => sim.close());
  const id = await deploy(sim, [image('IMG_0001.JPG'), image(cutUrl)]);
  await waitFinished(sim, id);
  const result = await api(sim.url, 'GET', `deploy_job/${id}/result/`, { token: sim.token });
  const errors = (result.json as { data: Array<{ attributes: { errors?: string[] } }> }).data.map((entry) => entry.attributes.errors?.[0]);
  assert.equal(errors[0], "spacer.exceptions.URLDownloadError: Failed to download from the URL 'IMG_0001.JPG'. / Details - ValueError: unknown url type: 'IMG_0001.JPG'");
  assert.match(errors[1]!, new RegExp(`^spacer\\.exceptions\\.URLDownloadError: Couldn't read the full response from the URL '${cutUrl.replace(/[.]/g, '\\.')}'\\. / Details - `));
});

test('the download time-out is for connecting and each wait for bytes, not for the whole download', async (t) => {
  const photo = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#228B22' } }).jpeg().toBuffer();
  // One host sends a photo slowly (a piece every 100 ms, 600 ms in all); another never answers.
  const slow = createServer((req, res) => {
    if (req.url === '/silent.jpg') return;
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': String(photo.length) });
    const pieces = 6;
    const size = Math.ceil(photo.length / pieces);
    for (let i = 0; i < pieces; i++) setTimeout(() => (i === pieces - 1 ? res.end(photo.subarray(i * size)) : res.write(photo.subarray(i * size, (i + 1) * size))), i * 100);
  });
  await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => (slow.closeAllConnections(), slow.close(() => resolve()))));
  const base = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
  const sim = await startSimulator({ downloadTimeoutMs: 300 });
  t.after(() => sim.close());
  const id = await deploy(sim, [image(`${base}/slow.jpg`, [{ row: 1, column: 1 }]), image(`${base}/silent.jpg`, [{ row: 1, column: 1 }])]);
  await waitFinished(sim, id);
  const result = await api(sim.url, 'GET', `deploy_job/${id}/result/`, { token: sim.token });
  const data = (result.json as { data: Array<{ attributes: { errors?: string[]; points?: unknown[] } }> }).data;
  assert.equal(data[0]!.attributes.errors, undefined, 'slow but never idle for 300 ms: downloaded');
  assert.equal(data[1]!.attributes.errors![0], `spacer.exceptions.URLDownloadError: Failed to download from the URL '${base}/silent.jpg'. / Details - URLError: <urlopen error timed out>`);
});
