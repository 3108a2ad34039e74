#!/usr/bin/env node
/**
 * The `reefstream` command.
 *   reefstream simulate [--port 8123] …   a CoralNet simulator on this machine
 *   reefstream demo [--out demo-output]   a painted survey through the client and the simulator
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { runDemo } from './demo/demo.js';
import { startSimulator, type SimulatorOptions } from './simulator/server.js';
import { parseDuration, parseRate } from './util/duration.js';

class UsageError extends Error {}

const HELP = `reefstream — machine annotations for reef photo surveys from a CoralNet classifier

Commands:
  reefstream demo [--out DIR] [--images N]
      Paints a small survey, starts the CoralNet simulator, sends the survey through the
      deploy API client and checks every point against the colour painted under it.

  reefstream simulate [--port 8123] [options]
      Serves a simulated CoralNet deploy API at http://127.0.0.1:PORT/api/ until stopped,
      and prints the username, password and token to use.
      --host ADDR             a loopback address (default 127.0.0.1)
      --token HEX             the token of user "surveyor" (40 hex; random by default)
      --image-ms MS           least time per image (default 0)
      --workers N             images worked on at once (default 4)
      --job-slots N           active jobs per user (default 5)
      --burst N/PERIOD        request window (default 60/60s)
      --sustained N/PERIOD    request window (default 1000/1h)
      --expire-after DURATION jobs are deleted this long after creation (default 30d)
      --download-timeout DURATION  image download time-out (default 20s)
      --seed S                seed of the fault draws (default 1)
      --fault-5xx P           share of requests answered 500/502/503 (default 0)
      --fault-drop P          share of requests whose connection is dropped (default 0)
      --fault-slow P          share of requests answered late (default 0), by --slow-ms (default 2000)
      --fault-409 P           share of finished jobs whose first result request gets 409 (default 0)

  reefstream --help | --version
`;

const share = z.coerce.number().min(0, 'is a share from 0 to 1').max(1, 'is a share from 0 to 1');
const count = z.coerce.number().int('is a whole number').positive('is a whole number above 0');
/** An option whose text a parser of ours reads; its error message becomes the zod issue. */
const parsedWith = <T>(parse: (text: string) => T) =>
  z.string().transform((text, ctx) => {
    try {
      return parse(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });
const duration = parsedWith((text) => parseDuration(text));
const rate = parsedWith(parseRate);

const simulateSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(8123),
  host: z.string().default('127.0.0.1'),
  token: z.string().regex(/^[0-9a-f]{40}$/, 'must be 40 lowercase hex characters').optional(),
  'image-ms': z.coerce.number().min(0).default(0),
  workers: count.default(4),
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
});

const demoSchema = z.object({
  out: z.string().min(1).default('demo-output'),
  images: count.max(10_000).default(40),
});

function stringOptions(names: string[]): ParseArgsConfig['options'] {
  return Object.fromEntries(names.map((name) => [name, { type: 'string' as const }]));
}

function parse<S extends z.ZodObject>(command: string, args: string[], schema: S): z.output<S> {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args, options: stringOptions(Object.keys(schema.shape)), strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError(`reefstream ${command}: ${(error as Error).message.split('\n')[0]} (see reefstream --help)`);
  }
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const option = issue.path[0];
    const given = option === undefined ? '' : ` "${String(values[String(option)])}"`;
    throw new UsageError(`reefstream ${command}: --${String(option)}${given}: ${issue.message}`);
  }
  return parsed.data;
}

async function simulate(args: string[]): Promise<void> {
  const o = parse('simulate', args, simulateSchema);
  const options: SimulatorOptions = {
    host: o.host,
    port: o.port,
    token: o.token,
    imageMs: o['image-ms'],
    workers: o.workers,
    jobSlots: o['job-slots'],
    burst: o.burst,
    sustained: o.sustained,
    expireAfterMs: o['expire-after'],
    downloadTimeoutMs: o['download-timeout'],
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
  process.stdout.write(`simulator stopped: ${s.requests} requests, ${s.jobsCreated} jobs, ${s.imagesDone} images, ${s.throttled} throttled\n`);
}

async function demo(args: string[]): Promise<void> {
  const o = parse('demo', args, demoSchema);
  const summary = await runDemo({ out: o.out, images: o.images, log: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(
    [
      `${summary.images} images (${summary.failedImages} failed) in ${summary.jobs} jobs, ${summary.seconds.toFixed(1)} s`,
      `${summary.matching} of ${summary.points} points labelled as the colour painted under them`,
      `${summary.requests} API requests, ${summary.throttled} throttled`,
      `results: ${summary.resultsFile}`,
      '',
    ].join('\n'),
  );
  if (summary.matching !== summary.points || summary.failedImages > 0) process.exitCode = 1;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'simulate':
      return simulate(rest);
    case 'demo':
      return demo(rest);
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(HELP);
      return;
    case '--version': {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
      process.stdout.write(`${pkg.version}\n`);
      return;
    }
    default:
      throw new UsageError(`reefstream: no command "${command}" (commands: demo, simulate; see reefstream --help)`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
});
