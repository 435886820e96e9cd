/**
 * `tsx scripts/openclaw-simulator.ts [flags]`: the OpenClaw Rating API simulator on a port, the same
 * as `rating-streams simulator [flags]` (see `--help`), kept for compose and older commands.
 * Prints the base URL (the pipeline's OPENCLAW_URL) on stdout, details on stderr; stops on SIGTERM
 * or SIGINT and prints its stats. See src/connectors/openclaw/simulator.ts.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { SIMULATOR_FLAGS, simulatorOptionsFromFlags } from '../src/connectors/openclaw/simulator-flags.ts';
import type { OpenClawSimulatorOptions } from '../src/connectors/openclaw/simulator.ts';

/** The options the flags in `args` ask for, or `'help'`; throws on an unknown flag or a bad number. */
export function optionsFromArgs(args: string[]): OpenClawSimulatorOptions | 'help' {
  const { values } = parseArgs({
    args,
    options: {
      ...Object.fromEntries(SIMULATOR_FLAGS.map((flag) => [flag.name, { type: 'string' as const }])),
      help: { type: 'boolean', short: 'h' },
    },
  });
  // The flags are built from a list, so parseArgs cannot type them; every one but help is a string.
  const flags = values as Record<string, string | boolean | undefined>;
  if (flags['help'] === true) return 'help';
  return simulatorOptionsFromFlags(Object.fromEntries(Object.entries(flags).filter((entry): entry is [string, string] => typeof entry[1] === 'string')));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { runCli } = await import('../src/cli/program.ts');
  process.exit(await runCli(['simulator', ...process.argv.slice(2)]));
}
