import type { Command } from 'commander';
import { readConfig } from '../../config/read-config.ts';
import {
  INGEST_NAME,
  KAFKA_BROKERS,
  PRODUCT_STATS_TOPIC,
  RATINGS_DLQ_RETENTION_MS,
  RATINGS_DLQ_TOPIC,
  RATINGS_ENRICHED_TOPIC,
  RATINGS_TOPIC,
  RATING_ALERTS_TOPIC,
  USERS_CDC_NAME,
  USERS_TOPIC,
} from '../../config/variables.ts';
import { EXIT, UsageError } from '../exit-codes.ts';
import { ensureTopics, pipelineTopics, type TopicOutcome } from '../topics/pipeline-topics.ts';
import type { CliContext } from '../context.ts';
import { wholeNumber } from './options.ts';

export const TOPICS_VARIABLES = {
  KAFKA_BROKERS,
  RATINGS_TOPIC,
  RATINGS_DLQ_TOPIC,
  USERS_TOPIC,
  RATINGS_ENRICHED_TOPIC,
  PRODUCT_STATS_TOPIC,
  RATING_ALERTS_TOPIC,
  RATINGS_DLQ_RETENTION_MS,
  INGEST_NAME,
  USERS_CDC_NAME,
};

const partitions = (n: number) => `${n} partition${n === 1 ? '' : 's'}`;

function line(outcome: TopicOutcome): string {
  switch (outcome.status) {
    case 'created':
      return `created  ${outcome.topic} (${partitions(outcome.partitions)})`;
    case 'exists':
      return `exists   ${outcome.topic} (${partitions(outcome.partitions)})${outcome.notes.map((note) => `; note: ${note}`).join('')}`;
    case 'problem':
      return `PROBLEM  ${outcome.topic} ${outcome.problems.join('; ')}${outcome.notes.map((note) => `; note: ${note}`).join('')}`;
  }
}

export function registerTopics(program: Command, context: CliContext): void {
  const topics = program.command('topics').summary("manage the pipeline's topics").description("Manages the pipeline's Kafka topics.");
  topics
    .command('create')
    .summary("create the pipeline's topics (idempotent)")
    .description(
      [
        "Creates the pipeline's topics that do not exist: ratings, the dead-letter topic (retention",
        'RATINGS_DLQ_RETENTION_MS, 14 days by default), users (compacted), ratings_enriched,',
        'product_rating_stats, rating_alerts (names from the *_TOPIC variables) with --partitions each,',
        'and the cursor topics of the ingest and the users CDC (one partition, compacted). Existing',
        'topics are left as they are and reported; one whose partition count differs, or a topic that',
        'must be compacted and is not, is a problem: exit code 1. Run it again at any time.',
      ].join(' '),
    )
    .option('--partitions <n>', 'partitions of each data topic (the enrichment scales up to this many instances)', wholeNumber(1, 100_000), 3)
    .option('--replication-factor <n>', "copies of each partition (default: the broker's default.replication.factor)", wholeNumber(1, 1_000))
    .action(async (options: { partitions: number; replicationFactor?: number }) => {
      const { config } = readConfig('the configuration of topics create', TOPICS_VARIABLES, context.environment());
      const wanted = pipelineTopics(config, options.partitions);
      const names = wanted.map((t) => t.topic);
      const repeated = names.filter((name, i) => names.indexOf(name) !== i);
      if (repeated.length > 0) throw new UsageError(`two pipeline topics are both named ${[...new Set(repeated)].join(', ')}: check the *_TOPIC variables`);
      const { KafkaTransport } = await import('../../transport/kafka/index.ts');
      const admin = new KafkaTransport({ brokers: config.KAFKA_BROKERS, clientId: 'rating-streams-topics', logLevel: 'nothing' }).admin();
      await admin.connect();
      let outcomes: TopicOutcome[];
      try {
        outcomes = await ensureTopics(admin, wanted, options.replicationFactor);
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
      for (const outcome of outcomes) context.stdout.write(`${line(outcome)}\n`);
      const problems = outcomes.filter((o) => o.status === 'problem');
      const created = outcomes.filter((o) => o.status === 'created').length;
      context.stdout.write(`${created} created, ${outcomes.length - created - problems.length} already there, ${problems.length} with problems\n`);
      if (problems.length > 0) {
        context.stderr.write(
          `topics create: ${problems.map((p) => p.topic).join(', ')} differ from what the pipeline needs; nothing was changed. Partitions can only be raised (kafka-topics.sh --alter) or the topic recreated.\n`,
        );
        context.exitCode = EXIT.failure;
      }
    });
}
