/**
 * One environment variable: how its text is checked and turned into a value (a zod schema), and
 * what the documentation and the error messages say about it. A process declares the variables
 * it reads as a record keyed by their names; `readConfig` checks them all at once.
 */
import { z } from 'zod';

export interface VariableDoc {
  readonly name: string;
  /** What the setting does, for the README table and `.env.example`. */
  readonly meaning: string;
  /** What a valid value looks like, completing "NAME must be ...". */
  readonly expected: string;
  /** The value used when the variable is unset or empty, as it would be written in the environment. */
  readonly default: string | undefined;
  readonly required: boolean;
  /**
   * A secret (a key, a token, a URL that may hold a password): it may come from the file named by
   * `<NAME>_FILE`, and its value is never shown in a message.
   */
  readonly secret: boolean;
  /** A value for `.env.example` when there is no default. */
  readonly example: string | undefined;
}

/** A variable whose value, once checked, is a `T`. */
export interface Variable<T> extends VariableDoc {
  /** Takes the raw text (`undefined` when unset or empty) and gives the value. */
  readonly schema: z.ZodType<T, string | undefined>;
}

export type ConfigOf<V extends Readonly<Record<string, Variable<unknown>>>> = { readonly [K in keyof V]: V[K] extends Variable<infer T> ? T : never };

interface Describe {
  readonly meaning: string;
  readonly expected: string;
  readonly secret?: boolean;
  readonly example?: string;
}

/** How the text of a set variable is checked and converted. */
export type Parser<T> = z.ZodType<T, string>;

function doc(name: string, describe: Describe, required: boolean, fallback: string | undefined): VariableDoc {
  return { name, meaning: describe.meaning, expected: describe.expected, default: fallback, required, secret: describe.secret ?? false, example: describe.example };
}

/** A variable that must be set. */
export function requiredVariable<T>(name: string, parser: Parser<T>, describe: Describe): Variable<T> {
  return { ...doc(name, describe, true, undefined), schema: z.string().pipe(parser) };
}

/** A variable with a default, checked like a set value. */
export function defaultedVariable<T>(name: string, parser: Parser<T>, fallback: string, describe: Describe): Variable<T> {
  return { ...doc(name, describe, false, fallback), schema: z.string().prefault(fallback).pipe(parser) };
}

/** A variable that may be unset (`undefined`). */
export function optionalVariable<T>(name: string, parser: Parser<T>, describe: Describe): Variable<T | undefined> {
  return { ...doc(name, describe, false, undefined), schema: parser.optional() };
}
