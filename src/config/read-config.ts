/**
 * Checks a process's variables against the environment in one pass and reports every problem at
 * once. Secrets may come from files (`<NAME>_FILE`, as Kubernetes mounts Secrets); their values
 * are returned separately so loggers can scrub them, and never appear in a problem.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { redactSecrets } from '../errors/redact.ts';
import type { Environment } from './environment.ts';
import { ConfigProblemsError } from './problems.ts';
import type { ConfigOf, Variable, VariableDoc } from './variable.ts';

export type Variables = Readonly<Record<string, Variable<unknown>>>;

export type ConfigCheck<T> =
  | { readonly ok: true; readonly config: T; readonly secrets: readonly string[] }
  | { readonly ok: false; readonly problems: readonly string[] };

export interface CheckConfigOptions<T> {
  /** Problems between variables (each alone valid), checked once every variable is. */
  readonly refine?: (config: T) => readonly string[];
}

/** A value as a message may show it: credentials in it redacted; text with spaces, odd characters or over 60 characters quoted (and cut). */
export function shown(value: string): string {
  const clean = redactSecrets(value);
  return /^[\x21-\x7e]{1,60}$/.test(clean) ? clean : JSON.stringify(clean.length > 60 ? `${clean.slice(0, 60)}…` : clean);
}

interface Raw {
  readonly value: string | undefined;
  /** The `<NAME>_FILE` the value was read from. */
  readonly file?: string;
}

/** The variable's text: its own value or its file's content; `undefined` when neither is set (or empty). */
function rawValue(variable: Pick<VariableDoc, 'name' | 'secret'>, env: Environment, problems: string[]): Raw {
  const direct = env[variable.name] === '' ? undefined : env[variable.name];
  if (!variable.secret) return { value: direct };
  const fileVariable = `${variable.name}_FILE`;
  const path = env[fileVariable] === '' ? undefined : env[fileVariable];
  if (path === undefined) return { value: direct };
  if (direct !== undefined) {
    problems.push(`${variable.name} and ${fileVariable} are both set: set only one (${fileVariable} names a file holding the value)`);
    return { value: undefined, file: fileVariable };
  }
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    problems.push(`${fileVariable} names ${shown(path)}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unknown error'}): expected a readable file holding ${variable.name}`);
    return { value: undefined, file: fileVariable };
  }
  // Files written by editors and `echo` end with a newline that is not part of the secret.
  const value = content.replace(/(?:\r?\n)+$/, '');
  if (value === '') problems.push(`${fileVariable} names ${shown(path)}, which is empty: expected it to hold ${variable.name}`);
  return { value: value === '' ? undefined : value, file: fileVariable };
}

function problemOf(variable: Variable<unknown>, raw: Raw): string {
  if (raw.value === undefined) {
    const alternative = variable.secret ? `; or set ${variable.name}_FILE to a file holding it` : '';
    return `${variable.name} is not set: expected ${variable.expected}${alternative}`;
  }
  const got = variable.secret ? `its value is not shown: a secret${raw.file === undefined ? '' : `, read from ${raw.file}`}` : `got ${shown(raw.value)}`;
  return `${variable.name} must be ${variable.expected} (${got})`;
}

/** Every variable of `variables` from `env`: the typed values, or every problem found. */
export function checkConfig<V extends Variables>(variables: V, env: Environment, options: CheckConfigOptions<ConfigOf<V>> = {}): ConfigCheck<ConfigOf<V>> {
  const problems: string[] = [];
  const raws = new Map<string, Raw>();
  for (const [key, variable] of Object.entries(variables)) raws.set(key, rawValue(variable, env, problems));
  const shape: Record<string, z.ZodType<unknown, string | undefined>> = {};
  for (const [key, variable] of Object.entries(variables)) shape[key] = variable.schema;
  const input = Object.fromEntries([...raws].map(([key, raw]) => [key, raw.value]));
  const result = z.object(shape).safeParse(input);
  if (!result.success) {
    const bad = new Set(result.error.issues.map((issue) => String(issue.path[0])));
    for (const [key, variable] of Object.entries(variables)) {
      const raw = raws.get(key);
      // A file that could not be read has been reported already.
      if (bad.has(key) && raw !== undefined && !(raw.file !== undefined && raw.value === undefined)) problems.push(problemOf(variable, raw));
    }
  }
  if (!result.success && problems.length === 0) problems.push(...result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  if (problems.length > 0 || !result.success) return { ok: false, problems };
  // The schema object holds exactly the variables' schemas, so its output is their values.
  const config = result.data as ConfigOf<V>;
  const refined = options.refine?.(config) ?? [];
  if (refined.length > 0) return { ok: false, problems: refined };
  const secrets = Object.entries(variables).flatMap(([key, variable]) => {
    const value = raws.get(key)?.value;
    return variable.secret && value !== undefined ? [value] : [];
  });
  return { ok: true, config, secrets };
}

/**
 * The values of the secret `variables` given as files (`<NAME>_FILE`), for code that reads
 * `process.env` itself; every problem (unreadable, empty, set twice) is listed, no value shown.
 */
export function secretsFromFiles(variables: readonly Pick<VariableDoc, 'name' | 'secret'>[], env: Environment): { readonly values: Readonly<Record<string, string>>; readonly problems: readonly string[] } {
  const problems: string[] = [];
  const values: Record<string, string> = {};
  for (const variable of variables) {
    if (!variable.secret) continue;
    const raw = rawValue(variable, env, problems);
    if (raw.file !== undefined && raw.value !== undefined) values[variable.name] = raw.value;
  }
  return { values, problems };
}

/** `checkConfig`, throwing a `ConfigProblemsError` that lists every problem. */
export function readConfig<V extends Variables>(subject: string, variables: V, env: Environment, options: CheckConfigOptions<ConfigOf<V>> = {}): { readonly config: ConfigOf<V>; readonly secrets: readonly string[] } {
  const check = checkConfig(variables, env, options);
  if (!check.ok) throw new ConfigProblemsError(subject, check.problems);
  return { config: check.config, secrets: check.secrets };
}
