/**
 * Output files written at the disk's pace (each write waits for `drain` when the buffer is full),
 * that can say how many bytes are safely on disk (a checkpoint for the journal) and be reopened
 * cut back to such a checkpoint after a crash.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { fsync } from 'node:fs';
import { stat, truncate } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Writable } from 'node:stream';

const fsyncFd = promisify(fsync);

/** Writes `chunk`, and resolves once the stream can take more. */
export async function writeWithDrain(stream: Writable, chunk: unknown): Promise<void> {
  if (!stream.write(chunk)) await once(stream, 'drain');
}

export class OutputFile {
  private constructor(
    private readonly stream: WriteStream,
    private readonly startBytes: number,
  ) {}

  /**
   * Opens `path` anew, or, with `resumeAt`, cuts it back to that many bytes (what a checkpoint
   * recorded: a crash may have left part of a line after it) and appends from there.
   */
  static async open(path: string, resumeAt?: number): Promise<OutputFile> {
    let start = 0;
    if (resumeAt !== undefined) {
      const size = (await stat(path).catch(() => undefined))?.size;
      if (size === undefined || size < resumeAt) throw new Error(`${path} has ${size ?? 0} bytes, fewer than the ${resumeAt} the journal recorded: it was changed since the run stopped. Move the journal away to start over.`);
      await truncate(path, resumeAt);
      start = resumeAt;
    }
    // A 1 MB buffer: the 100 images of a finished job are written in one go rather than every 16 KB
    // waiting for the disk, so their parsed results are collected young instead of being promoted.
    const stream = createWriteStream(path, { flags: resumeAt === undefined ? 'w' : 'a', highWaterMark: 1 << 20 });
    await once(stream, 'open');
    return new OutputFile(stream, start);
  }

  write(chunk: string | Uint8Array): Promise<void> {
    return writeWithDrain(this.stream, chunk);
  }

  /** Waits until everything written is on disk, and returns the file's length. */
  async checkpoint(): Promise<number> {
    await new Promise<void>((resolve, reject) => this.stream.write('', (error) => (error ? reject(error) : resolve())));
    await fsyncFd((this.stream as unknown as { fd: number }).fd);
    return this.startBytes + this.stream.bytesWritten;
  }

  async close(): Promise<void> {
    this.stream.end();
    await once(this.stream, 'finish');
  }
}

/** One JSON document a line. */
export class NdjsonFile {
  private constructor(readonly file: OutputFile) {}

  static async open(path: string, resumeAt?: number): Promise<NdjsonFile> {
    return new NdjsonFile(await OutputFile.open(path, resumeAt));
  }

  write(record: unknown): Promise<void> {
    return this.file.write(`${JSON.stringify(record)}\n`);
  }

  checkpoint(): Promise<number> {
    return this.file.checkpoint();
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
