import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';

/** What `npm start` runs, relative to this file; `.ts` under tsx, `.js` once compiled. */
const DEV_ENTRY = '../../../topologies/rating-alerts/main';

export function registerDev(program: Command, context: CliContext): void {
  program
    .command('dev')
    .summary('run the embedded example, what `npm start` runs')
    .description(
      [
        'Runs what `npm start` runs in this process: with KAFKA_BROKERS set on that cluster, otherwise on',
        'the in-memory transport. Its own options follow `--`, e.g. `rating-streams dev -- --count 0`.',
      ].join(' '),
    )
    .argument('[args...]', 'options of the example, after --')
    .allowUnknownOption()
    .action(async (args: string[]) => {
      // The entry reads process.env itself: give it what .env adds, under the real environment.
      for (const [name, value] of Object.entries(context.environment())) if (process.env[name] === undefined && value !== undefined) process.env[name] = value;
      const entry = fileURLToPath(new URL(`${DEV_ENTRY}${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
      // The entry reads its options from process.argv, as when it is started directly.
      process.argv = [process.argv[0] ?? process.execPath, entry, ...args];
      await import(entry);
      // It runs until it exits the process itself.
      await new Promise<never>(() => undefined);
    });
}
