/** Option parsers shared by the commands; a bad value is a commander usage error (exit code 2). */
import { InvalidArgumentError } from 'commander';

export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const parsed = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) throw new InvalidArgumentError(`expected a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}`);
    return parsed;
  };
}

export function decimal(min: number, max: number): (value: string) => number {
  return (value) => {
    const parsed = value.trim() === '' ? Number.NaN : Number(value);
    if (!Number.isFinite(parsed) || parsed < min || parsed > max) throw new InvalidArgumentError(`expected a number from ${min} to ${max}`);
    return parsed;
  };
}

/** An ISO 8601 time (a date, optionally with a time and zone) as ms since the epoch. */
export function isoTime(value: string): number {
  const parsed = /^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim()) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(parsed)) throw new InvalidArgumentError('expected an ISO 8601 time, e.g. 2025-06-01T12:00:00Z');
  return parsed;
}

export function regex(value: string): RegExp {
  try {
    return new RegExp(value);
  } catch (error) {
    throw new InvalidArgumentError(`not a regular expression: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** For repeatable options: `--code A --code B` → ['A', 'B']; commas also separate values. */
export function collect(value: string, previous: readonly string[] = []): string[] {
  return [...previous, ...value.split(',').map((v) => v.trim()).filter((v) => v !== '')];
}

/** `collect` for values from a fixed list. */
export function collectChoices(choices: readonly string[]): (value: string, previous?: readonly string[]) => string[] {
  return (value, previous) => {
    const values = collect(value, previous);
    const wrong = values.filter((v) => !choices.includes(v));
    if (wrong.length > 0) throw new InvalidArgumentError(`expected ${choices.join(', ')} (got ${wrong.join(', ')})`);
    return values;
  };
}
