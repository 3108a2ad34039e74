/**
 * The header reader's own thread: reads the first bytes of each photo it is sent, synchronously —
 * here that blocks nobody, and a synchronous read costs a fraction of the three thread-pool round
 * trips (open, read, close) an asynchronous one needs — and answers with what they tell.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { answerRequests } from '../util/helperThread.js';
import type { HeaderAnswers, HeaderBatch } from './headerReader.js';
import { HEAD_BYTES, jpegFields, type PhotoFields } from './photoFields.js';

/** One buffer for every head: each is done with before the next is read. */
const buffer = Buffer.allocUnsafe(HEAD_BYTES);

async function fieldsOf(path: string): Promise<PhotoFields | null> {
  let length: number;
  try {
    const fd = openSync(path, 'r');
    try {
      length = readSync(fd, buffer, 0, HEAD_BYTES, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Missing, unreadable, a folder: the main thread reads it again and says why.
    return null;
  }
  return (await jpegFields(buffer.subarray(0, length))) ?? null;
}

answerRequests<HeaderBatch, HeaderAnswers>(async (paths) => {
  const fields: HeaderAnswers = [];
  for (const path of paths) fields.push(await fieldsOf(path));
  return fields;
});
