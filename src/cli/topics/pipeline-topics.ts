/**
 * The topics the pipeline needs before its processes start, and `ensureTopics`: create the
 * missing ones, and compare the existing ones with what is needed. A topic is never changed: a
 * partition count that differs (the keyed partitioning and the enrichment's co-partitioning
 * depend on it) or a compacted topic that is not compacted is a problem for a person to resolve.
 */
import type { TopicSpec, TransportAdmin } from '../../transport/transport.ts';

export interface PipelineTopicSettings {
  readonly RATINGS_TOPIC: string;
  readonly RATINGS_DLQ_TOPIC: string;
  readonly USERS_TOPIC: string;
  readonly RATINGS_ENRICHED_TOPIC: string;
  readonly PRODUCT_STATS_TOPIC: string;
  readonly RATING_ALERTS_TOPIC: string;
  readonly RATINGS_DLQ_RETENTION_MS: number;
  readonly INGEST_NAME: string;
  readonly USERS_CDC_NAME: string;
}

export interface PipelineTopic extends TopicSpec {
  readonly partitions: number;
  /** What the topic is for, in the report. */
  readonly role: string;
}

const COMPACT = { 'cleanup.policy': 'compact' } as const;

/**
 * Every topic of the pipeline: the data topics with `partitions` each (`users` compacted, the
 * dead-letter topic with its retention), and the connectors' cursor topics (one partition,
 * compacted, as `ensureCursorTopic` would create them). The Streams apps' internal topics are
 * created by the apps themselves, sized from these.
 */
export function pipelineTopics(settings: PipelineTopicSettings, partitions: number): PipelineTopic[] {
  return [
    { topic: settings.RATINGS_TOPIC, partitions, role: 'ratings' },
    { topic: settings.RATINGS_DLQ_TOPIC, partitions, role: 'dead letters', config: { 'retention.ms': String(settings.RATINGS_DLQ_RETENTION_MS) } },
    { topic: settings.USERS_TOPIC, partitions, role: 'user profiles', config: COMPACT },
    { topic: settings.RATINGS_ENRICHED_TOPIC, partitions, role: 'enriched ratings' },
    { topic: settings.PRODUCT_STATS_TOPIC, partitions, role: 'product statistics' },
    { topic: settings.RATING_ALERTS_TOPIC, partitions, role: 'rating alerts' },
    { topic: `${settings.INGEST_NAME}-cursor`, partitions: 1, role: 'ingest cursor', config: COMPACT },
    { topic: `${settings.USERS_CDC_NAME}-cursor`, partitions: 1, role: 'users CDC cursor', config: COMPACT },
  ];
}

export type TopicOutcome =
  | { readonly topic: string; readonly status: 'created'; readonly partitions: number }
  | { readonly topic: string; readonly status: 'exists'; readonly partitions: number; readonly notes: readonly string[] }
  | { readonly topic: string; readonly status: 'problem'; readonly problems: readonly string[]; readonly notes: readonly string[] };

const isCompacted = (policy: string | undefined) => (policy ?? 'delete').split(',').map((p) => p.trim()).includes('compact');

/** Compares an existing topic with what is needed: problems (exit 1) and notes (settings that differ harmlessly). */
async function compare(admin: TransportAdmin, wanted: PipelineTopic): Promise<TopicOutcome> {
  const partitions = await admin.partitionCount(wanted.topic);
  const config = await admin.topicConfig(wanted.topic);
  const problems: string[] = [];
  const notes: string[] = [];
  if (partitions !== wanted.partitions) problems.push(`has ${partitions} partitions, the pipeline needs ${wanted.partitions}`);
  for (const [name, value] of Object.entries(wanted.config ?? {})) {
    if (name === 'cleanup.policy') {
      if (isCompacted(value) && !isCompacted(config[name])) problems.push(`is not compacted (cleanup.policy=${config[name] ?? 'delete'}), the pipeline needs cleanup.policy=compact`);
    } else if (config[name] !== value) {
      notes.push(`${name} is ${config[name] ?? 'the broker default'}, not ${value}`);
    }
  }
  return problems.length > 0 ? { topic: wanted.topic, status: 'problem', problems, notes } : { topic: wanted.topic, status: 'exists', partitions, notes };
}

/** Creates the topics that do not exist (with `replicationFactor`, default the broker's) and checks the others. */
export async function ensureTopics(admin: TransportAdmin, topics: readonly PipelineTopic[], replicationFactor?: number): Promise<TopicOutcome[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic));
  await admin.createTopics(
    missing.map(({ topic, partitions, config }) => ({ topic, partitions, ...(config === undefined ? {} : { config }), ...(replicationFactor === undefined ? {} : { replicationFactor }) })),
  );
  const outcomes: TopicOutcome[] = [];
  for (const wanted of topics) {
    outcomes.push(existing.has(wanted.topic) ? await compare(admin, wanted) : { topic: wanted.topic, status: 'created', partitions: wanted.partitions });
  }
  return outcomes;
}
