import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import { serveFolder } from '../src/sources/folderServer.js';
import { tempFolder } from './helpers.js';

/** A request line sent as typed, so that `..` reaches the server unnormalised. */
function rawGet(url: string, path: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('end', () => resolve(text.split('\r\n')[0]!));
    socket.on('error', reject);
  });
}

test('serves the files of the folder and its subfolders, with image content types', async (t) => {
  const root = await tempFolder(t);
  await mkdir(join(root, 'survey', 'site 1'), { recursive: true });
  await writeFile(join(root, 'survey', 'site 1', 'IMG_0001.JPG'), 'jpeg bytes');
  const served = await serveFolder(join(root, 'survey'));
  t.after(() => served.close());
  assert.match(served.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const url = served.urlOf(join('site 1', 'IMG_0001.JPG'));
  assert.equal(url, `${served.url}site%201/IMG_0001.JPG`);
  const res = await request(url);
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'image/jpeg');
  assert.equal(await res.body.text(), 'jpeg bytes');
  const missing = await request(served.urlOf('nope.jpg'));
  assert.equal(missing.statusCode, 404);
  await missing.body.dump();
  const post = await request(url, { method: 'POST', body: 'x' });
  assert.equal(post.statusCode, 405);
  await post.body.dump();
});

test('nothing outside the folder: .., encoded .., and links that lead out to anything but a photo are refused', async (t) => {
  const root = await tempFolder(t);
  await mkdir(join(root, 'survey'));
  await mkdir(join(root, 'elsewhere'));
  await writeFile(join(root, 'secret.txt'), 'not for the server');
  await writeFile(join(root, 'elsewhere', 'b.JPG'), 'b');
  await writeFile(join(root, 'survey', 'a.jpg'), 'a');
  await symlink(join(root, 'secret.txt'), join(root, 'survey', 'link.jpg'));
  // The survey's own links to photos kept elsewhere are followed, as the listing follows them.
  await symlink(join(root, 'elsewhere', 'b.JPG'), join(root, 'survey', 'photo.jpg'));
  await symlink(join(root, 'elsewhere'), join(root, 'survey', 'site2'));
  const served = await serveFolder(join(root, 'survey'));
  t.after(() => served.close());
  assert.equal(await rawGet(served.url, '/a.jpg'), 'HTTP/1.1 200 OK');
  assert.equal(await rawGet(served.url, '/../secret.txt'), 'HTTP/1.1 403 Forbidden');
  assert.equal(await rawGet(served.url, '/%2e%2e/secret.txt'), 'HTTP/1.1 403 Forbidden');
  assert.equal(await rawGet(served.url, '/%2E%2E%2Fsecret.txt'), 'HTTP/1.1 403 Forbidden');
  assert.equal(await rawGet(served.url, '/link.jpg'), 'HTTP/1.1 403 Forbidden');
  assert.equal(await rawGet(served.url, '/photo.jpg'), 'HTTP/1.1 200 OK');
  assert.equal(await rawGet(served.url, '/site2/b.JPG'), 'HTTP/1.1 200 OK');
  assert.equal(await rawGet(served.url, '/site2/../../secret.txt'), 'HTTP/1.1 403 Forbidden');
});

test('listens on loopback only', async (t) => {
  const root = await tempFolder(t);
  await assert.rejects(serveFolder(root, { host: '0.0.0.0' }), /on this machine only: 0\.0\.0\.0 is not a loopback address/);
});
