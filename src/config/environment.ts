/**
 * Where settings come from: the process environment, over a `.env` file in the working directory
 * when there is one. A variable set in the real environment wins over the same one in `.env`, so a
 * deployment can override a developer's file. Nothing here changes `process.env`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigProblemsError } from './problems.ts';

export type Environment = Readonly<Record<string, string | undefined>>;

export interface LoadEnvironmentOptions {
  /** Where `.env` is looked for; default the working directory. */
  readonly cwd?: string;
  /** Default `process.env`. */
  readonly env?: Environment;
}

/** The environment with `.env` (when present) under it. Throws a `ConfigProblemsError` when `.env` exists but cannot be read. */
export function loadEnvironment(options: LoadEnvironmentOptions = {}): Environment {
  const env = options.env ?? process.env;
  const file = join(options.cwd ?? process.cwd(), '.env');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ...env };
    throw new ConfigProblemsError('the configuration', [`${file} exists but cannot be read (${code ?? 'unknown error'})`]);
  }
  const fromFile = parseEnv(text);
  const merged: Record<string, string | undefined> = { ...fromFile };
  for (const [name, value] of Object.entries(env)) if (value !== undefined) merged[name] = value;
  return merged;
}
