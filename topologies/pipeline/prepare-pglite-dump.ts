/**
 * The child process the embedded PostgreSQL's first start runs (see `pglite-dump.ts`):
 * initdb in memory, the data directory saved as a tar dump at the path given, exit 0.
 *
 * It ignores SIGINT and SIGTERM: a Ctrl-C reaches the whole process group, and finishing (a few
 * seconds) keeps the dump for the next start; the pipeline decides whether to wait for it.
 */
import { makeDump } from './pglite-dump.ts';

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => undefined);

const dumpPath = process.argv[2];
if (dumpPath === undefined || dumpPath === '') {
  process.stderr.write('usage: prepare-pglite-dump.ts <dump path>\n');
  process.exit(2);
}
await makeDump(dumpPath);
