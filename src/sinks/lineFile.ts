/** Writing to a file at the disk's pace: each write waits for `drain` when the buffer is full. */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';

/** Writes `chunk`, and resolves once the stream can take more. */
export async function writeWithDrain(stream: Writable, chunk: unknown): Promise<void> {
  if (!stream.write(chunk)) await once(stream, 'drain');
}

export async function openFile(path: string): Promise<WriteStream> {
  const stream = createWriteStream(path);
  await once(stream, 'open');
  return stream;
}

export async function closeStream(stream: Writable): Promise<void> {
  stream.end();
  await once(stream, 'finish');
}

/** One JSON document a line. */
export class NdjsonFile {
  private constructor(private readonly stream: WriteStream) {}

  static async open(path: string): Promise<NdjsonFile> {
    return new NdjsonFile(await openFile(path));
  }

  write(record: unknown): Promise<void> {
    return writeWithDrain(this.stream, `${JSON.stringify(record)}\n`);
  }

  close(): Promise<void> {
    return closeStream(this.stream);
  }
}
