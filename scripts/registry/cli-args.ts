/**
 * The registry CLI's command line and environment, read without side effects so they can be
 * unit-tested (cli.ts is the program around it).
 */
import { parseArgs } from 'node:util';
import { registryOptionsFromEnv, type RegistryOptions } from './registry.ts';

export const COMMANDS = ['fetch', 'start', 'stop', 'status'] as const;
export type Command = (typeof COMMANDS)[number];

export type CliRequest =
  | { readonly kind: 'usage'; readonly exitCode: 0 | 2 }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'run'; readonly command: Command; readonly options: RegistryOptions };

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** `--port` overrides SCHEMA_REGISTRY_PORT; never throws, so the program decides the exit code. */
export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv): CliRequest {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { port: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    return { kind: 'error', message: messageOf(error) };
  }
  const { positionals, values } = parsed;
  if (values.help === true) return { kind: 'usage', exitCode: 0 };
  const name = positionals[0];
  if (name === undefined) return { kind: 'usage', exitCode: 2 };
  const command = COMMANDS.find((known) => known === name);
  if (command === undefined) return { kind: 'error', message: `unknown command ${JSON.stringify(name)}` };
  if (positionals.length > 1) {
    return { kind: 'error', message: `unexpected arguments after ${command}: ${positionals.slice(1).join(' ')}` };
  }
  const merged = values.port === undefined ? env : { ...env, SCHEMA_REGISTRY_PORT: values.port };
  try {
    return { kind: 'run', command, options: registryOptionsFromEnv(merged) };
  } catch (error) {
    return { kind: 'error', message: messageOf(error) };
  }
}
