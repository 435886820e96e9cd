#!/usr/bin/env node
/** The `rating-streams` executable (package bin): `rating-streams --help`; in the repository `npx tsx src/cli/main.ts --help` or `npm run cli -- --help`. */
import { runCli } from './program.ts';

process.exit(await runCli(process.argv.slice(2)));
