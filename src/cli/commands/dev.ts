import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { ConfigProblemsError } from '../../config/problems.ts';
import { secretsFromFiles } from '../../config/read-config.ts';
import { CATALOG } from '../../config/variables.ts';
import type { CliContext } from '../context.ts';

/** What `npm start` runs, relative to this file; `.ts` under tsx, `.js` once compiled. */
const DEV_ENTRY = '../../../topologies/pipeline/main';

export function registerDev(program: Command, context: CliContext): void {
  program
    .command('dev')
    .summary('run the whole pipeline in one process, embedded by default (what `npm start` runs)')
    .description(
      [
        'Runs what `npm start` runs (topologies/pipeline/main.ts) in this process: the ingest, the users CDC,',
        'the enrichment and the trends, on the in-memory transport, an embedded PostgreSQL (PGlite), the',
        'OpenClaw simulator and an AI-agent stub, printing a summary line every few seconds until SIGTERM or',
        'SIGINT. KAFKA_BROKERS, DATABASE_URL, OPENCLAW_URL with OPENCLAW_API_KEY, and AI_AGENT_ENDPOINT each',
        'switch one part to a real service (.env is read too). Its own options follow `--`: `rating-streams',
        'dev -- --help` lists them. Exit codes: 0 stopped as asked, 1 a component failed, 2 bad options.',
      ].join(' '),
    )
    .argument('[args...]', 'options of the pipeline, after --')
    .allowUnknownOption()
    .action(async (args: string[]) => {
      // The entry reads process.env itself: give it what .env adds, under the real environment, and
      // the secrets given as <NAME>_FILE.
      const env = context.environment();
      for (const [name, value] of Object.entries(env)) if (process.env[name] === undefined && value !== undefined) process.env[name] = value;
      const secrets = secretsFromFiles(CATALOG, env);
      if (secrets.problems.length > 0) throw new ConfigProblemsError('the configuration of dev', secrets.problems);
      Object.assign(process.env, secrets.values);
      const entry = fileURLToPath(new URL(`${DEV_ENTRY}${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
      // The entry reads its options from process.argv, as when it is started directly.
      process.argv = [process.argv[0] ?? process.execPath, entry, ...args];
      await import(entry);
      // It runs until it exits the process itself.
      await new Promise<never>(() => undefined);
    });
}
