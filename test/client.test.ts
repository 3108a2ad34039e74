import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { describe, test } from 'node:test';
import { CoralNetClient, type ClientEvent } from '../src/coralnet/client.js';
import {
  AmbiguousDeployError,
  AuthenticationError,
  InsecureConnectionError,
  InvalidDeployRequestError,
  NetworkError,
  NotFoundError,
  RequestInvalidError,
  ServerError,
  UnexpectedResponseError,
} from '../src/coralnet/errors.js';
import { resultBodySchema, toImageResults } from '../src/coralnet/schemas.js';
import { startSimulator, type SimulatorOptions } from '../src/simulator/server.js';
import { serveFolder } from '../src/sources/folderServer.js';
import { blockCentres, paintedLabel, paintSurvey, type PaintedImage } from '../src/demo/syntheticSurvey.js';
import type { ImageRequest } from '../src/coralnet/deployRequest.js';
import { sleep, tempFolder } from './helpers.js';

const fastRetry = { attempts: 8, baseDelayMs: 5, maxDelayMs: 40 };
/** The simulators of these tests allow 1000 requests a minute unless a test says otherwise. */
const roomy = [{ limit: 1000, periodMs: 60_000 }];

async function setUp(t: { after: (fn: () => Promise<void>) => void }, simOptions: SimulatorOptions = {}, images = 6) {
  const folder = await tempFolder(t);
  const painted = await paintSurvey(folder, images, { width: 200, height: 150, blockRows: 2, blockColumns: 3 });
  const served = await serveFolder(folder);
  const sim = await startSimulator({ burst: { limit: 1000, periodMs: 60_000 }, ...simOptions });
  t.after(async () => {
    await sim.close();
    await served.close();
  });
  const requests = (list: PaintedImage[]): ImageRequest[] => list.map((image) => ({ url: served.urlOf(image.name), points: blockCentres(image) }));
  return { painted, served, sim, requests };
}

function assertLabelsMatch(painted: PaintedImage[], images: Awaited<ReturnType<CoralNetClient['waitForResult']>>): void {
  assert.equal(images.length, painted.length);
  images.forEach((image, i) => {
    assert.ok(image.ok, JSON.stringify(image));
    assert.deepEqual(
      image.points.map((p) => p.classifications[0]!.label_code),
      blockCentres(painted[i]!).map((p) => paintedLabel(painted[i]!, p.row, p.column)),
    );
  });
}

describe('client: the protocol', () => {
  test('deploys, follows the relative 303 Location itself, and reads results in request order', async (t) => {
    const { painted, sim, requests } = await setUp(t, { imageMs: 50 });
    const client = await CoralNetClient.connect({ apiUrl: sim.url, token: sim.token, username: sim.username, retry: fastRetry });
    t.after(() => client.close());
    const job = await client.deploy(1, requests(painted));
    assert.equal(job.id, '1');
    assert.equal(job.statusUrl, `${sim.url}deploy_job/1/status/`);
    assert.deepEqual(client.activeJobIds, ['1']);
    assert.equal(client.gate.jobs.active, 1);
    const early = await client.result(job);
    assert.deepEqual(early, { ready: false });
    let status = await client.status(job);
    while (!status.finished) {
      assert.equal(status.total, 6);
      await sleep(20);
      status = await client.status(job);
    }
    assert.equal(status.resultUrl, `${sim.url}deploy_job/1/result/`);
    assert.equal(client.gate.jobs.active, 0, 'the slot is free once the job is seen finished');
    const result = await client.result(job);
    assert.ok(result.ready);
    assertLabelsMatch(painted, result.images);
  });

  test('logs in with username and password, and learns the job limit', async (t) => {
    const { sim } = await setUp(t, { jobSlots: 3 }, 1);
    const client = await CoralNetClient.connect({ apiUrl: sim.url, username: 'surveyor', password: 'reefstream' });
    t.after(() => client.close());
    assert.ok(client.hasToken);
    assert.equal(client.gate.jobs.limit, 3);
    const wrong = CoralNetClient.connect({ apiUrl: sim.url, username: 'surveyor', password: 'nope' });
    await assert.rejects(wrong, (error: unknown) => error instanceof AuthenticationError && /rejected the username or password for "surveyor" \(POST \/api\/token_auth\/: Unable to log in with provided credentials\.\)/.test(error.message));
  });

  test('a wrong token stops at once with an AuthenticationError, without retries', async (t) => {
    const { sim } = await setUp(t, {}, 1);
    const badToken = 'f'.repeat(40);
    const client = new CoralNetClient({ apiUrl: sim.url, token: badToken, username: sim.username, retry: fastRetry });
    t.after(() => client.close());
    await assert.rejects(client.user(), (error: unknown) => {
      assert.ok(error instanceof AuthenticationError);
      assert.equal(error.status, 403);
      assert.equal(error.endpoint, 'GET /api/user/surveyor/');
      assert.match(error.message, /Invalid token\./);
      assert.ok(!error.message.includes(badToken));
      return true;
    });
    assert.equal(sim.stats.requests, 1);
  });

  test('a missing or private classifier is a NotFoundError, and the job slot is given back', async (t) => {
    const { painted, sim, requests } = await setUp(t, {}, 1);
    const client = await CoralNetClient.connect({ apiUrl: sim.url, token: sim.token, username: sim.username });
    t.after(() => client.close());
    for (const id of [2, 999]) {
      await assert.rejects(client.deploy(id, requests(painted)), (error: unknown) => {
        assert.ok(error instanceof NotFoundError);
        assert.equal(error.endpoint, `POST /api/classifier/${id}/deploy/`);
        assert.match(error.message, /This classifier doesn't exist or is not accessible/);
        return true;
      });
    }
    assert.equal(client.gate.jobs.active, 0);
  });

  test('refuses a request the server would refuse, naming the image and point, without sending it', async (t) => {
    const { sim } = await setUp(t, {}, 1);
    const client = new CoralNetClient({ apiUrl: sim.url, token: sim.token });
    t.after(() => client.close());
    const before = sim.stats.requests;
    const url = 'http://127.0.0.1:9/x.jpg';
    await assert.rejects(
      client.deploy(1, [{ url, points: [{ row: 1, column: 1 }] }, { url, points: [{ row: 1, column: 1 }, { row: 2.5, column: 1 }] }]),
      (error: unknown) =>
        error instanceof InvalidDeployRequestError &&
        error.pointer === '/data/1/attributes/points/1/row' &&
        error.message === `image 1 (${url}), point 1: row 2.5 is not a whole number ≥ 0.`,
    );
    await assert.rejects(client.deploy(1, Array.from({ length: 101 }, () => ({ url, points: [{ row: 0, column: 0 }] }))), /at most 100 per job/);
    await assert.rejects(client.deploy(1, [{ url, points: Array.from({ length: 201 }, () => ({ row: 0, column: 0 })) }]), /at most 200 per image/);
    await assert.rejects(client.deploy(1, [{ url, points: [] }]), /has no points/);
    assert.equal(sim.stats.requests, before);
    assert.equal(client.gate.jobs.active, 0);
  });

  test('a job gone from the server (expired) is a NotFoundError and frees its slot', async (t) => {
    const { painted, sim, requests } = await setUp(t, { expireAfterMs: 300, imageMs: 5000, workers: 1 }, 1);
    const client = await CoralNetClient.connect({ apiUrl: sim.url, token: sim.token, username: sim.username });
    t.after(() => client.close());
    const job = await client.deploy(1, requests(painted));
    assert.equal(client.gate.jobs.active, 1);
    await sleep(350);
    await assert.rejects(client.status(job), NotFoundError);
    assert.equal(client.gate.jobs.active, 0);
    await assert.rejects(client.result(client.jobFromId(job.id)), NotFoundError);
  });

  test('the real 2020 result body parses through the result endpoint', async (t) => {
    const { readFile } = await import('node:fs/promises');
    const fixture = await readFile(new URL('../../test/fixtures/coralnet-result-arms-2020.json', import.meta.url), 'utf8');
    const server = createServer((_req, res) => void res.writeHead(200, { 'content-type': 'application/vnd.api+json' }).end(fixture));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const client = new CoralNetClient({ apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`, token: 'a'.repeat(40) });
    t.after(() => client.close());
    const result = await client.result(client.jobFromId('1'));
    assert.ok(result.ready);
    assert.equal(result.images.length, 3);
    assert.equal(result.images[0]!.url, 'https://www.dropbox.com/s/66d445fhvmwzgmw/HKARMS01_1T.jpg?dl=1');
  });

  test('results read through the schema: today\'s body, a legacy failure, a byte-order mark; a body that is not JSON is one clear error', async (t) => {
    const { readFile } = await import('node:fs/promises');
    const fixture = await readFile(new URL('../../test/fixtures/coralnet-result-arms-2020.json', import.meta.url), 'utf8');
    const legacy = JSON.stringify({ data: [{ type: 'image', id: 'u', attributes: { url: 'u', error: 'Failed to download' } }] });
    const bodies: Record<string, string> = { '/api/deploy_job/1/result/': fixture, '/api/deploy_job/2/result/': legacy, '/api/deploy_job/3/result/': '<html>Bad Gateway</html>', '/api/deploy_job/4/result/': `\ufeff${legacy}` };
    const server = createServer((req, res) => void res.writeHead(200, { 'content-type': 'application/vnd.api+json' }).end(bodies[req.url ?? '']));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const client = new CoralNetClient({ apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`, token: 'a'.repeat(40) });
    t.after(() => client.close());
    const read = await client.result(client.jobFromId('1'));
    assert.deepEqual(read, { ready: true, images: toImageResults(resultBodySchema.parse(JSON.parse(fixture))) });
    assert.ok(read.ready && read.images.length > 0 && read.images.every((image) => image.ok && image.points.length > 0));
    assert.deepEqual(await client.result(client.jobFromId('2')), { ready: true, images: [{ url: 'u', ok: false, errors: ['Failed to download'] }] });
    assert.deepEqual(await client.result(client.jobFromId('4')), { ready: true, images: [{ url: 'u', ok: false, errors: ['Failed to download'] }] });
    await assert.rejects(client.result(client.jobFromId('3')), /GET \/api\/deploy_job\/3\/result\/ answered 200 with a body that is not JSON/);
  });
});

/** A stand-in for what CoralNet cannot be made to send: proxy pages, changed shapes. */
async function oddServer(t: { after: (fn: () => Promise<void>) => void }, status: number, body: string, headers: Record<string, string> = {}): Promise<string> {
  const server = createServer((_req, res) => void res.writeHead(status, headers).end(body));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
}

describe('client: answers the protocol does not have', () => {
  test('a status body of an unexpected shape names the endpoint and the place', async (t) => {
    const url = await oddServer(t, 200, JSON.stringify({ data: [{ type: 'job', id: '7', attributes: { status: 'In Progress' } }] }));
    const client = new CoralNetClient({ apiUrl: url, token: 'a'.repeat(40) });
    t.after(() => client.close());
    await assert.rejects(client.status(client.jobFromId('7')), (error: unknown) => {
      assert.ok(error instanceof UnexpectedResponseError);
      assert.match(error.message, /^GET \/api\/deploy_job\/7\/status\/ answered 200 with a shape reefstream does not expect \(at \/data\/0\/attributes\/successes: /);
      return true;
    });
  });

  test('an HTML page instead of JSON is a clear error', async (t) => {
    const url = await oddServer(t, 200, '<html>maintenance</html>', { 'content-type': 'text/html' });
    const client = new CoralNetClient({ apiUrl: url, token: 'a'.repeat(40), username: 'u' });
    t.after(() => client.close());
    await assert.rejects(client.user(), /GET \/api\/user\/u\/ answered 200 with a body that is not JSON/);
  });

  test('a 400 carries the detail and the JSON pointer', async (t) => {
    const url = await oddServer(t, 400, JSON.stringify({ errors: [{ detail: 'This array exceeds the max length of 200.', source: { pointer: '/data/0/attributes/points' } }] }));
    const client = new CoralNetClient({ apiUrl: url, token: 'a'.repeat(40) });
    t.after(() => client.close());
    await assert.rejects(client.deploy(1, [{ url: 'https://x/a.jpg', points: [{ row: 0, column: 0 }] }]), (error: unknown) => {
      assert.ok(error instanceof RequestInvalidError);
      assert.equal(error.pointer, '/data/0/attributes/points');
      assert.equal(error.detail, 'This array exceeds the max length of 200.');
      return true;
    });
  });

  test('415 and 405, which a correct client never causes, are UnexpectedResponseErrors with the detail', async (t) => {
    for (const [status, detail] of [
      [415, 'Content type should be application/vnd.api+json, not application/json'],
      [405, 'Method "GET" not allowed.'],
    ] as const) {
      const url = await oddServer(t, status, JSON.stringify({ errors: [{ detail }] }));
      const client = new CoralNetClient({ apiUrl: url, token: 'a'.repeat(40), username: 'u' });
      await assert.rejects(client.user(), (error: unknown) => {
        assert.ok(error instanceof UnexpectedResponseError);
        assert.equal(error.status, status);
        assert.equal(error.message, `GET /api/user/u/ answered ${status}: ${detail}`);
        return true;
      });
      await client.close();
    }
  });

  test('a Location to another host is not followed', async (t) => {
    const url = await oddServer(t, 303, '', { location: 'https://elsewhere.example/api/deploy_job/1/result/' });
    const client = new CoralNetClient({ apiUrl: url, token: 'a'.repeat(40) });
    t.after(() => client.close());
    await assert.rejects(client.status(client.jobFromId('1')), /it follows only http:\/\/127\.0\.0\.1/);
  });

  test('a server that keeps failing is a ServerError after the retries', async (t) => {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>502 Bad Gateway</h1>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const events: ClientEvent[] = [];
    const client = new CoralNetClient({
      apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`,
      token: 'a'.repeat(40),
      retry: { attempts: 4, baseDelayMs: 5, maxDelayMs: 20 },
      onEvent: (e) => events.push(e),
    });
    t.after(() => client.close());
    await assert.rejects(client.status(client.jobFromId('3')), (error: unknown) => {
      assert.ok(error instanceof ServerError);
      assert.equal(error.message, 'GET /api/deploy_job/3/status/ answered 502: (a text/html body, not a CoralNet error)');
      return true;
    });
    assert.equal(hits, 4);
    assert.deepEqual(events.map((e) => e.type), ['retry', 'retry', 'retry']);
  });
});

describe('client: the token', () => {
  test('is sent over https or to loopback only', () => {
    assert.throws(() => new CoralNetClient({ apiUrl: 'http://coralnet.example.org/api/', token: 'a'.repeat(40) }), InsecureConnectionError);
    assert.throws(() => new CoralNetClient({ apiUrl: 'http://10.0.0.5:8123/api/', token: 'a'.repeat(40) }), /not https/);
    for (const apiUrl of ['https://coralnet.ucsd.edu/api/', 'http://127.0.0.1:8123/api/', 'http://localhost:8123/api/', 'http://[::1]:8123/api/']) {
      const client = new CoralNetClient({ apiUrl, token: 'a'.repeat(40) });
      void client.close();
    }
  });

  test('never appears in errors, events or an inspected client', async (t) => {
    const { painted, sim, requests } = await setUp(t, { faults: { seed: 5, serverErrors: 0.3 } }, 2);
    const seen: string[] = [];
    const client = await CoralNetClient.connect({
      apiUrl: sim.url,
      token: sim.token,
      username: sim.username,
      retry: fastRetry,
      windows: roomy,
      onEvent: (e) => seen.push(JSON.stringify(e)),
    });
    t.after(() => client.close());
    seen.push(inspect(client, { depth: 5, showHidden: true }));
    const images = await client.waitForResult(await client.deploy(1, requests(painted)), 20);
    seen.push(JSON.stringify(images));
    await client.deploy(999, requests(painted)).catch((error: Error) => seen.push(error.message, String(error.stack)));
    await new CoralNetClient({ apiUrl: sim.url, token: sim.token.toUpperCase() }).status(client.jobFromId('1')).catch((error: Error) => seen.push(error.message));
    assert.ok(seen.length > 4);
    for (const text of seen) assert.ok(!text.toLowerCase().includes(sim.token), text.slice(0, 200));
    assert.throws(() => new CoralNetClient({ apiUrl: sim.url, token: `${sim.token}\n` }), (error: Error) => !error.message.includes(sim.token));
  });
});

describe('client: the rate gate against the server limits', () => {
  test('a run within the limits receives no 429 at all', async (t) => {
    const burst = { limit: 8, periodMs: 400 };
    const sustained = { limit: 60, periodMs: 2000 };
    const { painted, sim, requests } = await setUp(t, { burst, sustained, imageMs: 200, workers: 1 }, 10);
    const client = await CoralNetClient.connect({
      apiUrl: sim.url,
      token: sim.token,
      username: sim.username,
      windows: [burst, sustained],
    });
    t.after(() => client.close());
    const jobs = await Promise.all([0, 2, 4, 6, 8].map((i) => client.deploy(1, requests(painted.slice(i, i + 2)))));
    const results = await Promise.all(jobs.map((job) => client.waitForResult(job, 0)));
    assertLabelsMatch(painted, results.flat());
    assert.ok(sim.stats.requests >= 30, `the windows were filled: ${sim.stats.requests} requests`);
    assert.equal(sim.stats.throttled, 0);
  });

  test('a 429 pauses every request for its Retry-After, then the run recovers', async (t) => {
    const { sim } = await setUp(t, { burst: { limit: 4, periodMs: 1000 } }, 1);
    const events: Array<ClientEvent & { at: number }> = [];
    // The client is told a far larger window than the server's: it will run into the server's.
    const client = await CoralNetClient.connect({
      apiUrl: sim.url,
      token: sim.token,
      username: sim.username,
      windows: [{ limit: 1000, periodMs: 1000 }],
      onEvent: (e) => events.push({ ...e, at: Date.now() }),
    });
    t.after(() => client.close());
    const answeredAt: number[] = [];
    for (let i = 0; i < 10; i++) {
      await client.user();
      answeredAt.push(Date.now());
    }
    const throttled = events.filter((e) => e.type === 'throttled');
    assert.ok(throttled.length >= 2, `429s: ${throttled.length}`);
    assert.equal(sim.stats.throttled, throttled.length);
    for (const e of throttled) {
      assert.equal(e.type === 'throttled' && e.retryAfterSeconds, 1);
      // Nothing was answered during the pause: the next answer came at least Retry-After later.
      const next = answeredAt.find((at) => at > e.at)!;
      assert.ok(next - e.at >= 990, `answered ${next - e.at} ms after a 429`);
    }
    assert.equal(throttled.length, sim.stats.throttled);
  });

  test('with the job limit learned from the server, deploys wait for a slot and never get the job-limit 429', async (t) => {
    const { painted, sim, requests } = await setUp(t, { jobSlots: 2, imageMs: 60 }, 6);
    const client = await CoralNetClient.connect({ apiUrl: sim.url, token: sim.token, username: sim.username });
    t.after(() => client.close());
    assert.equal(client.gate.jobs.limit, 2);
    const results = await Promise.all(
      [0, 1, 2, 3, 4, 5].map(async (i) => client.waitForResult(await client.deploy(1, requests(painted.slice(i, i + 1))), 10)),
    );
    assertLabelsMatch(painted, results.flat());
    assert.equal(sim.stats.jobLimitRefusals, 0);
    assert.equal(sim.stats.jobsCreated, 6);
  });

  test('jobs of another run fill the server: deploys wait until a job finishes instead of failing', async (t) => {
    const { painted, sim, requests } = await setUp(t, { jobSlots: 2, imageMs: 150, workers: 2 }, 4);
    const other = await CoralNetClient.connect({ apiUrl: sim.url, token: sim.token, username: sim.username });
    t.after(() => other.close());
    const theirs = [await other.deploy(1, requests(painted.slice(0, 1))), await other.deploy(1, requests(painted.slice(1, 2)))];
    const events: ClientEvent[] = [];
    // This client does not know the username: it cannot ask, and only the 429 tells it.
    const client = new CoralNetClient({ apiUrl: sim.url, token: sim.token, activeJobsRecheckMs: 100, onEvent: (e) => events.push(e) });
    t.after(() => client.close());
    const mine = await client.deploy(1, requests(painted.slice(2, 4)));
    assert.ok(events.some((e) => e.type === 'job-limit-full' && e.activeJobIds.join() === theirs.map((j) => j.id).join()));
    assertLabelsMatch(painted.slice(2, 4), await client.waitForResult(mine, 10));
    assert.equal(sim.stats.jobsCreated, 3);
  });
});

describe('client: faults', () => {
  test('5xx, drops, slow answers and 409 after 303: every job finishes, none is created twice', async (t) => {
    const { painted, sim, requests } = await setUp(
      t,
      { imageMs: 10, faults: { seed: 11, serverErrors: 0.2, drops: 0.4, slow: 0.1, slowMs: 50, conflictAfterSeeOther: 1 } },
      8,
    );
    const events: ClientEvent[] = [];
    const client = await CoralNetClient.connect({
      apiUrl: sim.url,
      token: sim.token,
      username: sim.username,
      retry: { attempts: 40, baseDelayMs: 5, maxDelayMs: 40 },
      windows: roomy,
      onEvent: (e) => events.push(e),
    });
    t.after(() => client.close());
    // Deploy until a lost answer has been reconciled (each deploy has about a 1 in 5 chance of it).
    let deploys = 0;
    while (deploys < 8 || (!events.some((e) => e.type === 'adopted-lost-deploy') && deploys < 60)) {
      const image = painted.slice(deploys % 8, (deploys % 8) + 1);
      const job = await client.deploy(1, requests(image));
      assertLabelsMatch(image, await client.waitForResult(job, 5));
      deploys++;
    }
    assert.ok(events.some((e) => e.type === 'adopted-lost-deploy'), 'a deploy whose answer was dropped was found, not sent again');
    assert.equal(sim.stats.jobsCreated, deploys, 'one job per deploy');
    assert.ok(sim.stats.injectedServerErrors > 0 && sim.stats.injectedDrops > 0 && sim.stats.injectedSlow > 0);
    assert.equal(sim.stats.injectedConflicts, deploys, 'every job answered 409 once after its 303');
    assert.equal(client.gate.jobs.active, 0);
  });

  test('without the username a lost deploy answer is an AmbiguousDeployError, not a second job', async (t) => {
    const { painted, sim, requests } = await setUp(t, { faults: { seed: 2, drops: 1 } }, 1);
    const client = new CoralNetClient({ apiUrl: sim.url, token: sim.token, retry: fastRetry });
    t.after(() => client.close());
    await assert.rejects(client.deploy(1, requests(painted)), (error: unknown) => {
      assert.ok(error instanceof AmbiguousDeployError);
      assert.match(error.message, /give --user/);
      return true;
    });
    assert.ok(sim.stats.jobsCreated <= 1);
    assert.equal(client.gate.jobs.active, 0);
  });

  test('a deploy to an address where nothing listens was never sent: tried again, then one message that says so, not an ambiguous deploy', async (t) => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const events: ClientEvent[] = [];
    const client = new CoralNetClient({ apiUrl: `http://127.0.0.1:${port}/api/`, token: '0123456789abcdef0123456789abcdef01234567', retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 10 }, onEvent: (event) => events.push(event) });
    t.after(() => client.close());
    await assert.rejects(client.deploy(1, [{ url: 'https://example.org/a.jpg', points: [{ row: 1, column: 1 }] }]), (error: unknown) => {
      assert.ok(error instanceof NetworkError && error.neverSent, String(error));
      assert.match(error.message, /no answer from 127\.0\.0\.1:\d+ \(ECONNREFUSED.*\): nothing was sent\. Check the API address \(--api; CoralNet's is https:\/\/coralnet\.ucsd\.edu\/api\/\)/);
      return true;
    });
    assert.equal(events.filter((e) => e.type === 'retry').length, 2, 'tried three times');
  });

  test('the images a running job has done, as its status answers say, until it is finished', async (t) => {
    const { painted, sim, requests } = await setUp(t, { imageMs: 300, workers: 1 }, 4);
    const client = new CoralNetClient({ apiUrl: sim.url, token: sim.token, retry: fastRetry, windows: roomy });
    t.after(() => client.close());
    const job = await client.deploy(1, requests(painted));
    let status = await client.status(job);
    while (!status.finished && status.successes + status.failures === 0) {
      await sleep(50);
      status = await client.status(job);
    }
    assert.ok(!status.finished);
    assert.equal(client.imagesDoneInRunningJobs, status.successes + status.failures);
    while (!status.finished) {
      await sleep(50);
      status = await client.status(job);
    }
    assert.equal(client.imagesDoneInRunningJobs, 0, 'a finished job is counted by its written images, not here');
  });
});
