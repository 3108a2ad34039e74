/**
 * Result bodies read on a thread of their own. Parsing a job's ~1.5 MB of JSON was the main
 * thread's largest cost in a run; the thread parses and checks it and hands over a few flat arrays
 * (see packedResults.ts), from which the main thread builds the images' records.
 */
import { HelperThread } from '../util/helperThread.js';
import { unpackResults, type PackedResults } from './packedResults.js';
import type { ImageResult } from './schemas.js';

/** The thread's answer: the body packed, or handed back for the main thread to read. */
export type ResultAnswer = { packed: PackedResults } | { body: Uint8Array };

export class ResultReader {
  readonly thread: HelperThread<Uint8Array, ResultAnswer>;

  /** @param script the thread's module (another only in tests). */
  constructor(script = new URL('./resultThread.js', import.meta.url)) {
    // A small young generation: a body's objects are garbage once packed, and each megabyte of
    // room for them is a megabyte of the process's memory (a default thread held ~10 MB more).
    this.thread = new HelperThread(script, { resourceLimits: { maxYoungGenerationSizeMb: 8 } });
  }

  /**
   * The images of a result body, read on the thread; or the body itself, for the caller to read,
   * when the thread is not available (yet) or the body is not in the shape the server writes today.
   * The body is handed to the thread, not copied: `undefined` means the thread stopped holding it,
   * and the result must be asked for again.
   * @example const read = await resultReader.read(res.bytes); if (Array.isArray(read)) return read
   */
  async read(body: Uint8Array): Promise<ImageResult[] | Uint8Array | undefined> {
    if (!this.thread.ready) {
      this.thread.start();
      return body;
    }
    // Only a buffer of its own can be handed over (a view's neighbours would go with it).
    const own = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength ? body : body.slice();
    const answer = await this.thread.ask(own, [own.buffer as ArrayBuffer]);
    if (answer === undefined) return undefined;
    return 'packed' in answer ? unpackResults(answer.packed) : answer.body;
  }
}

/** The process's one result reader; its thread starts with the first job sent. */
export const resultReader = new ResultReader();
