/**
 * How much of the server's request window the client's rate gate uses, and how many 429s it gets.
 * The simulator runs in another process with scaled windows (60 per 0.6 s, 1000 per 36 s); the
 * client is told the same windows and sends 900 status reads, 8 at a time. The bound is the burst
 * window: 900 requests need at least 14 full windows after the first 60 (8.4 s).
 *   npm run bench
 */
import { CoralNetClient } from '../src/coralnet/client.js';
import { parseRate } from '../src/util/duration.js';
import { machine, simulatorProcess } from './lib.js';

const burst = parseRate('60/0.6s');
const sustained = parseRate('1000/36s');
const total = 900;
const concurrency = 8;

const { url, token, stop } = await simulatorProcess(['--burst', '60/0.6s', '--sustained', '1000/36s']);

let throttled = 0;
const client = await CoralNetClient.connect({
  apiUrl: url,
  token,
  username: 'surveyor',
  windows: [burst, sustained],
  onEvent: (e) => void (e.type === 'throttled' && throttled++),
});
const started = Date.now();
let sent = 1; // connect() read the user once
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (sent < total) {
      sent++;
      await client.user();
    }
  }),
);
const seconds = (Date.now() - started) / 1000;
const boundSeconds = (Math.ceil(total / burst.limit) - 1) * (burst.periodMs / 1000);
await client.close();
await stop();
const figures = {
  date: new Date().toISOString().slice(0, 10),
  machine: machine(),
  requests: total,
  seconds: Number(seconds.toFixed(2)),
  serverBoundSeconds: boundSeconds,
  fractionOfBound: Number((boundSeconds / seconds).toFixed(3)),
  throttled429: throttled,
};
process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
