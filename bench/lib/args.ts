/**
 * A small command-line parser for the bench scripts: `--name value`, `--name=value` and bare
 * `--flag`. Every option must be declared, so a misspelt one is an error instead of being
 * ignored. No short options, no positional arguments.
 */

export class BenchArgumentError extends Error {
  override name = 'BenchArgumentError';
}

/** Declared options: a flag takes no value, a string option takes one. */
export type OptionSpec = Record<string, 'flag' | 'string'>;

export interface ParsedArgs {
  flags: Set<string>;
  values: Map<string, string>;
}

export function parseArgs(argv: readonly string[], spec: OptionSpec): ParsedArgs {
  const flags = new Set<string>();
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new BenchArgumentError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const kind = spec[name];
    if (kind === undefined) {
      const known = Object.keys(spec).map((k) => `--${k}`).join(', ');
      throw new BenchArgumentError(`unknown option "--${name}" (known: ${known})`);
    }
    if (kind === 'flag') {
      if (eq !== -1) throw new BenchArgumentError(`option --${name} takes no value`);
      flags.add(name);
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else value = argv[++i];
    if (value === undefined || value === '') throw new BenchArgumentError(`option --${name} needs a value`);
    values.set(name, value);
  }
  return { flags, values };
}

/** A positive integer option, or `fallback` when absent. */
export function intOption(args: ParsedArgs, name: string, fallback: number): number {
  const text = args.values.get(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new BenchArgumentError(`--${name} must be a positive integer, got "${text}"`);
  }
  return value;
}

/** A non-negative number option, or `fallback` when absent. */
export function numberOption(args: ParsedArgs, name: string, fallback: number): number {
  const text = args.values.get(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) {
    throw new BenchArgumentError(`--${name} must be a non-negative number, got "${text}"`);
  }
  return value;
}
