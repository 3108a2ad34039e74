/** What every command shares: the usage error, option types, the parser of a command line, exit codes. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { parseDuration, parseRate } from '../util/duration.js';
import { type CocoAnnotatorLogin } from '../review/cocoAnnotator.js';

/** A command line that cannot run: nothing is done, exit code 2. */
export class UsageError extends Error {
  readonly code = 'USAGE';
  override name = 'UsageError';
}

export const share = z.coerce.number().min(0, 'is a share from 0 to 1').max(1, 'is a share from 0 to 1');
export const count = z.coerce.number().int('is a whole number').positive('is a whole number above 0');
/** An option whose text a parser of ours reads; its error message becomes the zod issue. */
export const parsedWith = <T>(parse: (text: string) => T) =>
  z.string().transform((text, ctx) => {
    try {
      return parse(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });
export const duration = parsedWith((text) => parseDuration(text));
export const rate = parsedWith(parseRate);

export const imageSize = parsedWith((text) => {
  const match = /^(\d+)x(\d+)$/.exec(text);
  if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) throw new Error('write width x height in pixels, such as 4000x3000');
  return { width: Number(match[1]), height: Number(match[2]) };
});

export const checked = <T>(check: (text: string) => T) => parsedWith((text) => (check(text), text));

export const grouping = z.enum(['image', 'folder', 'Aux1', 'Aux2', 'Aux3', 'Aux4', 'Aux5', 'window'], { message: 'is one of image, folder, Aux1 … Aux5, window' });

const FLAGS = new Set(['gps', 'sorted', 'aux-from-folders']);

function stringOptions(names: string[]): ParseArgsConfig['options'] {
  return Object.fromEntries(names.map((name) => [name, { type: name.startsWith('no-') || FLAGS.has(name) ? ('boolean' as const) : ('string' as const) }]));
}

/** A command's options read and checked; `--help` prints the command's own help. */
export function parse<S extends z.ZodObject>(command: string, args: string[], schema: S, help: string): z.output<S> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(help);
    process.exit(0);
  }
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args, options: stringOptions(Object.keys(schema.shape)), strict: true, allowPositionals: false }));
  } catch (error) {
    const message = (error as Error).message.split('\n')[0]!;
    // `--seed -1`: a value that starts with a dash is written with `=`.
    const dashed = /^Option '(--[\w-]+)[^']*' argument is ambiguous/.exec(message)?.[1];
    if (dashed !== undefined) throw new UsageError(`reefstream ${command}: ${dashed} takes a value that starts with a dash only as ${dashed}=VALUE (for example ${dashed}=-1).`);
    throw new UsageError(`reefstream ${command}: ${message} (see reefstream ${command} --help)`);
  }
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const option = String(issue.path[0]);
    const given = values[option] as string | boolean | undefined;
    if (given === undefined) throw new UsageError(`reefstream ${command}: --${option} is missing (see reefstream ${command} --help).`);
    throw new UsageError(`reefstream ${command}: --${option} "${String(given)}": ${issue.message}`);
  }
  return parsed.data;
}

/** `1 image`, `3 images`. */
export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** Exit codes of `reefstream run` (README: "Exit codes"). */
export const EXIT = { annotated: 0, stopped: 1, usage: 2, someFailed: 3, noImages: 4 } as const;

/** The COCO Annotator login from the environment. */
export function cocoAnnotatorLogin(command: string, url: string | undefined): CocoAnnotatorLogin {
  const { COCO_ANNOTATOR_USER: username, COCO_ANNOTATOR_PASSWORD: password } = process.env;
  if (url === undefined) throw new UsageError(`reefstream ${command}: give the COCO Annotator server with --coco-annotator URL.`);
  if (username === undefined || password === undefined) throw new UsageError(`reefstream ${command}: set COCO_ANNOTATOR_USER and COCO_ANNOTATOR_PASSWORD to log in to COCO Annotator.`);
  return { url, username, password };
}

