/**
 * The result reader's own thread: decodes, parses and checks each result body it is handed, and
 * answers with it packed — or hands the body back when the main thread must read it itself (not
 * JSON, or not in today's shape: the schema then reads it or says what is wrong).
 */
import { answerRequests } from '../util/helperThread.js';
import { utf8Text } from '../util/utf8.js';
import { arraysOf, packResults } from './packedResults.js';
import type { ResultAnswer } from './resultReader.js';

function answer(body: Uint8Array): ResultAnswer {
  let json: unknown;
  try {
    json = JSON.parse(utf8Text(body));
  } catch {
    return { body };
  }
  const packed = packResults(json);
  return packed ? { packed } : { body };
}

answerRequests<Uint8Array, ResultAnswer>(answer, (answer) => ('packed' in answer ? arraysOf(answer.packed) : [answer.body.buffer as ArrayBuffer]));
