/**
 * Flag parsing on top of `node:util`'s `parseArgs`, turning its errors into {@link CliError}s
 * (`usage`) and giving typed readers for numbers, sizes and colour triples.
 */
import { parseArgs } from 'node:util';
import { CliError } from './cliError.js';

/** A flag definition as `parseArgs` wants it. */
export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
}

/** Parsed flags by name, and the positional arguments. */
export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | string[] | boolean[] | undefined>>;
  readonly positionals: readonly string[];
}

/**
 * Parses `argv` strictly: unknown flags, missing values and values given to boolean flags are
 * usage errors naming the flag.
 * @example parseFlags(['a.png', '--steps', '8'], { steps: { type: 'string' } }).values.steps // '8'
 */
export function parseFlags(argv: readonly string[], flags: Readonly<Record<string, FlagSpec>>): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({
      args: attachNegativeNumbers(argv, flags),
      options: flags as Record<string, FlagSpec>,
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (e) {
    const raw = e instanceof Error ? e.message : String(e);
    const ambiguous = /^Option '(-[^']+)' argument is ambiguous/.exec(raw);
    if (ambiguous !== null) {
      const long = /use '(--[^=']+)=/.exec(raw)?.[1] ?? (ambiguous[1] as string);
      throw new CliError(
        'usage',
        `${ambiguous[1] as string} needs a value; for a value starting with a dash write ${long}=VALUE (see --help)`,
      );
    }
    const message = raw.replace(/\. To specify a positional argument.*$/s, '');
    throw new CliError('usage', `${message.replace(/\.$/, '')} (see --help)`);
  }
}

/**
 * `parseArgs` refuses a value that starts with a dash (`--steps -3` is "ambiguous"), so a negative
 * number given to a string flag is attached to it first (`--steps=-3`, `-t -1` → `--target=-1`); the
 * flag's own check then names the problem (`--steps must be an integer in [2, 1024], got '-3'`) and
 * flags that accept negatives (`--mean -0.5,0,0`) work. Anything after `--` is left as it is.
 * @example attachNegativeNumbers(['--sigma', '-1'], { sigma: { type: 'string' } }) // ['--sigma=-1']
 */
export function attachNegativeNumbers(argv: readonly string[], flags: Readonly<Record<string, FlagSpec>>): string[] {
  const byShort = new Map(
    Object.entries(flags).flatMap(([name, spec]) => (spec.short === undefined ? [] : [[spec.short, name] as const])),
  );
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const name = arg.startsWith('--') ? arg.slice(2) : /^-[^-]$/.test(arg) ? byShort.get(arg.slice(1)) : undefined;
    const next = argv[i + 1];
    if (name !== undefined && flags[name]?.type === 'string' && next !== undefined && /^-(?:\d|\.\d)/.test(next)) {
      out.push(`--${name}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** The string value of flag `name`, or undefined. */
export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  if (Array.isArray(v)) return v.length === 0 ? undefined : String(v[v.length - 1]);
  return typeof v === 'string' ? v : undefined;
}

/** True when boolean flag `name` was given. */
export function booleanFlag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/**
 * A finite number from flag `name` (undefined when absent), checked against `[min, max]`.
 * @throws CliError (usage) naming the flag and the accepted range.
 */
export function numberFlag(
  args: ParsedArgs,
  name: string,
  range: { min?: number; max?: number; integer?: boolean } = {},
): number | undefined {
  const raw = stringFlag(args, name);
  if (raw === undefined) return undefined;
  return parseNumber(`--${name}`, raw, range);
}

/** Parses one number for option `what` with range checks; see {@link numberFlag}. */
export function parseNumber(
  what: string,
  raw: string,
  range: { min?: number; max?: number; integer?: boolean } = {},
): number {
  // decimal notation only (Number() would also take '0x10', '0b11', '' and ' ')
  const v = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/.test(raw) ? Number(raw) : NaN;
  const { min = -Infinity, max = Infinity, integer = false } = range;
  if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    const kind = integer ? 'an integer' : 'a number';
    const bounds =
      min > -Infinity && max < Infinity
        ? ` in [${min}, ${max}]`
        : min > -Infinity
          ? ` ≥ ${min}`
          : max < Infinity
            ? ` ≤ ${max}`
            : '';
    throw new CliError('usage', `${what} must be ${kind}${bounds}, got '${raw}'`);
  }
  return v;
}

/**
 * Three numbers separated by commas (e.g. `0.485,0.456,0.406`); one number is repeated three times.
 * @throws CliError (usage) for anything else.
 */
export function parseTriple(
  what: string,
  raw: string,
  range: { min?: number; max?: number } = {},
): [number, number, number] {
  const parts = raw.split(',');
  if (parts.length === 1) {
    const v = parseNumber(what, parts[0] as string, range);
    return [v, v, v];
  }
  if (parts.length !== 3)
    throw new CliError('usage', `${what} must be one number or three comma-separated numbers, got '${raw}'`);
  return [
    parseNumber(what, parts[0] as string, range),
    parseNumber(what, parts[1] as string, range),
    parseNumber(what, parts[2] as string, range),
  ];
}

/**
 * `HxW` (or `H×W`, or a single number for a square) as positive integers `[height, width]`.
 * @example parseSize('--size', '224x224') // [224, 224]
 */
export function parseSize(what: string, raw: string): [number, number] {
  const m = /^\s*(\d+)\s*(?:[x×X,]\s*(\d+))?\s*$/.exec(raw);
  if (m === null) throw new CliError('usage', `${what} must be HxW (e.g. 224x224), got '${raw}'`);
  const h = Number(m[1]);
  const w = m[2] === undefined ? h : Number(m[2]);
  if (h < 1 || w < 1 || h > 8192 || w > 8192)
    throw new CliError('usage', `${what} must be between 1 and 8192 pixels a side, got '${raw}'`);
  return [h, w];
}

/** Value of flag `name` that must be one of `choices`; undefined when absent. */
export function choiceFlag<T extends string>(args: ParsedArgs, name: string, choices: readonly T[]): T | undefined {
  const raw = stringFlag(args, name);
  if (raw === undefined) return undefined;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new CliError('usage', `--${name} must be one of ${choices.join(', ')}, got '${raw}'`);
  }
  return raw as T;
}
