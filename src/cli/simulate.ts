/** `reefstream simulate`: the CoralNet simulator as a server on this machine. */
import { z } from 'zod';
import { startSimulator, type SimulatorOptions } from '../simulator/server.js';
import { count, duration, imageSize, parse, rate, share, UsageError } from './shared.js';

export const help = `  reefstream simulate [--port 8123] [options]
      Serves a simulated CoralNet deploy API at http://127.0.0.1:PORT/api/ until stopped,
      and prints the username, password and token to use.
      --host ADDR             a loopback address (default 127.0.0.1)
      --token HEX             the token of user "surveyor" (40 hex; random by default)
      --image-ms MS           least time per image (default 0)
      --workers N             images worked on at once (default 4)
      --job-workers N         instead: N workers for each job, so that jobs do not slow each other
      --job-slots N           active jobs per user (default 5)
      --burst N/PERIOD        request window (default 60/60s)
      --sustained N/PERIOD    request window (default 1000/1h)
      --expire-after DURATION jobs are deleted this long after creation (default 30d)
      --download-timeout DURATION  image download time-out (default 20s)
      --max-pixels N          width x height above which an image fails with DataLimitError (default
                              64000000, CoralNet's setting; production may use its classifier's 100000000)
      --seed S                seed of the fault draws (default 1)
      --fault-5xx P           share of requests answered 500/502/503 (default 0)
      --fault-drop P          share of requests whose connection is dropped (default 0)
      --fault-slow P          share of requests answered late (default 0), by --slow-ms (default 2000)
      --fault-409 P           share of finished jobs whose first result request gets 409 (default 0)
      --fake-images WxH       download nothing: every URL is a WxH image of 50-pixel patches of label
                              colours, label (fnv1a(url) + 7919*(row div 50) + 104729*(column div 50)) mod 5
`;

const simulateSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(8123),
  host: z.string().default('127.0.0.1'),
  token: z.string().regex(/^[0-9a-f]{40}$/, 'must be 40 lowercase hex characters').optional(),
  'image-ms': z.coerce.number().min(0).default(0),
  workers: count.default(4),
  'job-workers': count.optional(),
  'job-slots': count.default(5),
  burst: rate.optional(),
  sustained: rate.optional(),
  'expire-after': duration.optional(),
  'download-timeout': duration.optional(),
  seed: z.string().default('1'),
  'fault-5xx': share.default(0),
  'fault-drop': share.default(0),
  'fault-slow': share.default(0),
  'slow-ms': z.coerce.number().min(0).default(2000),
  'fault-409': share.default(0),
  'fake-images': imageSize.optional(),
  'max-pixels': count.default(64_000_000),
});

export async function simulate(args: string[]): Promise<void> {
  const o = parse('simulate', args, simulateSchema, help);
  const options: SimulatorOptions = {
    host: o.host,
    port: o.port,
    token: o.token,
    imageMs: o['image-ms'],
    workers: o.workers,
    jobWorkers: o['job-workers'],
    jobSlots: o['job-slots'],
    burst: o.burst,
    sustained: o.sustained,
    expireAfterMs: o['expire-after'],
    downloadTimeoutMs: o['download-timeout'],
    fakeImages: o['fake-images'],
    maxImagePixels: o['max-pixels'],
    faults: {
      seed: o.seed,
      serverErrors: o['fault-5xx'],
      drops: o['fault-drop'],
      slow: o['fault-slow'],
      slowMs: o['slow-ms'],
      conflictAfterSeeOther: o['fault-409'],
    },
  };
  let sim;
  try {
    sim = await startSimulator(options);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE') throw new UsageError(`reefstream simulate: port ${o.port} is in use: pick another with --port.`);
    throw new UsageError(`reefstream simulate: ${(error as Error).message}`);
  }
  const burst = o.burst ?? { limit: 60, periodMs: 60_000 };
  const sustained = o.sustained ?? { limit: 1000, periodMs: 3_600_000 };
  process.stdout.write(
    [
      `CoralNet simulator at ${sim.url}`,
      `  user:       ${sim.username}`,
      `  password:   ${sim.password}`,
      `  token:      ${sim.token}`,
      `  classifier: 1 (labels CORAL, CCA, MA, TURF, SAND); 2 is in another user's private source`,
      `  limits:     ${burst.limit} requests per ${burst.periodMs / 1000} s, ${sustained.limit} per ${sustained.periodMs / 1000} s, ${o['job-slots']} active jobs`,
      `Try it: CORALNET_TOKEN=${sim.token} reefstream run --api ${sim.url} --user ${sim.username} --classifier 1 --source PHOTOS_OR_URLS --points stratified:5x6x1 --out results.csv --ndjson results.ndjson${o.burst || o.sustained ? ` --burst ${burst.limit}/${burst.periodMs / 1000}s --sustained ${sustained.limit}/${sustained.periodMs / 1000}s` : ''}`,
      'Stop with Ctrl+C.',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await sim.close();
  const s = sim.stats;
  process.stdout.write(`simulator stopped: ${s.requests} requests, ${s.jobsCreated} jobs, ${s.imagesDone} images, ${s.throttled} throttled, ${s.jobLimitRefusals} over the job limit\n`);
}
