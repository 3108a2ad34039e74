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

/** What a failed write means for the person running the survey. */
export function describe(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOSPC':
      return 'the disk is full (ENOSPC)';
    case 'EDQUOT':
      return 'the disk quota is used up (EDQUOT)';
    case 'EACCES':
    case 'EPERM':
      return `permission to write it was lost (${error.code})`;
    case 'EROFS':
      return 'the file system became read-only (EROFS)';
    case 'EIO':
      return 'the disk reported an input/output error (EIO)';
    default:
      return error.code ?? error.message;
  }
}

/** An output file that could not be written: the run stops, its journal as it was at the last checkpoint. */
export class OutputError extends Error {
  readonly code = 'OUTPUT_NOT_WRITTEN';
  constructor(
    readonly path: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Cannot write ${path}: ${reason}. What was written before it is kept: make room (or fix the file) and run the same command again to go on.`, options);
    this.name = 'OutputError';
  }
}

export class OutputFile {
  private failure?: OutputError;

  private constructor(
    readonly path: string,
    private readonly stream: WriteStream,
    private readonly startBytes: number,
    private readonly identity: { dev: number; ino: number },
  ) {
    stream.on('error', (error: NodeJS.ErrnoException) => (this.failure ??= new OutputError(path, describe(error), { cause: error })));
  }

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
    // waiting for the disk.
    const stream = createWriteStream(path, { flags: resumeAt === undefined ? 'w' : 'a', highWaterMark: 1 << 20 });
    try {
      await once(stream, 'open');
    } catch (error) {
      throw new OutputError(path, describe(error as NodeJS.ErrnoException), { cause: error });
    }
    const info = await stat(path);
    return new OutputFile(path, stream, start, { dev: info.dev, ino: info.ino });
  }

  async write(chunk: string | Uint8Array): Promise<void> {
    this.throwIfFailed();
    try {
      await writeWithDrain(this.stream, chunk);
    } catch {
      // The stream's error listener has made the failure.
    }
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /** Waits until everything written is on disk, and returns the file's length. */
  async checkpoint(): Promise<number> {
    this.throwIfFailed();
    try {
      await new Promise<void>((resolve, reject) => this.stream.write('', (error) => (error ? reject(error) : resolve())));
      await fsyncFd((this.stream as unknown as { fd: number }).fd);
    } catch (error) {
      throw this.failure ?? new OutputError(this.path, describe(error as NodeJS.ErrnoException), { cause: error });
    }
    // Written to a file that is no longer at its path, the rows would be lost without a word.
    const now = await stat(this.path).catch(() => undefined);
    if (now === undefined || now.dev !== this.identity.dev || now.ino !== this.identity.ino) {
      throw (this.failure = new OutputError(this.path, 'the file was removed or replaced while the run wrote it'));
    }
    return this.startBytes + this.stream.bytesWritten;
  }

  async close(): Promise<void> {
    if (this.stream.destroyed) return;
    this.stream.end();
    try {
      await once(this.stream, 'finish');
    } catch {
      // Reported by the write or checkpoint that met it.
    }
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
