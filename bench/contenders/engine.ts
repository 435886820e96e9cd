/**
 * Contender: the enrichment topology of `topologies/ratings-enrichment.ts` on this engine, over
 * Kafka, as a process of its own. Arguments: one JSON object (`ContenderArgs`; `variant` `global`
 * for a global users table, `table` for the partitioned table behind a repartition topic). Prints
 * `RUNNING` once the app runs; SIGTERM stops it cleanly.
 *
 * With `BENCH_ENGINE_DIST` naming a build (`npm run build -- --out-dir DIR`), the engine runs as the
 * compiled JavaScript that the image and the `bin` run; without, from the TypeScript sources
 * through tsx, whose helpers (a `__name` call per function created) and source-mapped stack traces
 * cost a few percent more.
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { contenderArgs } from './args.ts';
import type * as EngineModule from '../../src/index.ts';
import type * as EnrichmentModule from '../../topologies/ratings-enrichment.ts';

type Engine = typeof EngineModule;
type Enrichment = typeof EnrichmentModule;

const dist = process.env['BENCH_ENGINE_DIST'];
const from = (compiled: string, source: string) => (dist === undefined ? source : pathToFileURL(join(dist, compiled)).href);
const { KafkaTransport, StreamsApp, jsonSerde, silentLogger } = (await import(from('src/index.js', '../../src/index.ts'))) as Engine;
const { ratingsEnrichment } = (await import(from('topologies/ratings-enrichment.js', '../../topologies/ratings-enrichment.ts'))) as Enrichment;

// tsx maps stack traces back to TypeScript, which makes every captured stack (a dead letter's
// error headers) many times dearer than in production, which runs plain JavaScript.
process.setSourceMapsEnabled(false);
const args = contenderArgs();
const { topology } = ratingsEnrichment({
  ratingsTopic: args.ratingsTopic,
  usersTopic: args.usersTopic,
  enrichedTopic: args.outputTopic,
  users: { global: args.variant === 'global' },
  ...(args.format === 'json' ? { ratingFormat: 'json', enrichedSerde: jsonSerde() } : {}),
});
const transport = new KafkaTransport({ brokers: args.brokers, clientId: args.applicationId, logLevel: 'error' });
const app = new StreamsApp(topology, {
  applicationId: args.applicationId,
  transport,
  processingGuarantee: args.guarantee,
  deadLetterTopic: args.dlqTopic,
  logger: silentLogger(),
  ...(args.maxInFlight === undefined ? {} : { maxInFlight: args.maxInFlight }),
});
app.onStateChange((state) => {
  if (state === 'running') process.stdout.write('RUNNING\n');
  if (state === 'failed') {
    process.stderr.write(`the app failed: ${app.error?.message ?? 'unknown error'}\n`);
    process.exit(1);
  }
});
process.once('SIGTERM', () => void app.stop().then(() => process.exit(0)));
await app.start();
