/**
 * `rating-streams topics create` (a child process) against the real broker, on topic names of its
 * own (through the *_TOPIC variables): it creates what is missing with the right layout, a second
 * run changes nothing and exits 0, and a topic that differs is reported with exit code 1.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import { runCli, pipelineTopicNames } from '../../support/cli.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../../support/services.ts';

describe.skipIf(!hasKafka)('rating-streams topics create', () => {
  const prefix = uniqueName('cli-topics');
  const names = pipelineTopicNames(prefix);
  const all = [...Object.values(names).slice(0, 6), `${names.INGEST_NAME}-cursor`, `${names.USERS_CDC_NAME}-cursor`];
  const env = { KAFKA_BROKERS: kafkaBrokers().join(','), ...names };
  const transport = new KafkaTransport({ brokers: kafkaBrokers(), logLevel: 'nothing' });

  afterAll(async () => {
    const admin = transport.admin();
    await admin.connect();
    await admin.deleteTopics(all).catch(() => undefined);
    await admin.disconnect();
  });

  it('creates the topics once, with partitions, compaction and the dead-letter retention; a second run finds them and exits 0', async () => {
    const first = await runCli(['topics', 'create', '--partitions', '2', '--replication-factor', '1'], { env: { ...env, RATINGS_DLQ_RETENTION_MS: '86400000' } });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    for (const topic of all) expect(first.stdout).toMatch(new RegExp(`^created  ${topic} \\(`, 'm'));
    expect(first.stdout).toContain('8 created, 0 already there, 0 with problems');

    const admin = transport.admin();
    await admin.connect();
    try {
      const layout = Object.fromEntries(await Promise.all(all.map(async (topic) => [topic, await admin.partitionCount(topic)] as const)));
      expect(layout).toEqual(Object.fromEntries(all.map((topic) => [topic, topic.endsWith('-cursor') ? 1 : 2])));
      expect((await admin.topicConfig(names.USERS_TOPIC))['cleanup.policy']).toBe('compact');
      expect((await admin.topicConfig(`${names.INGEST_NAME}-cursor`))['cleanup.policy']).toBe('compact');
      expect((await admin.topicConfig(names.RATINGS_DLQ_TOPIC))['retention.ms']).toBe('86400000');
      expect((await admin.topicConfig(names.RATINGS_TOPIC))['cleanup.policy']).toBe('delete');
    } finally {
      await admin.disconnect();
    }

    const second = await runCli(['topics', 'create', '--partitions', '2'], { env: { ...env, RATINGS_DLQ_RETENTION_MS: '86400000' } });
    expect(second.code).toBe(0);
    for (const topic of all) expect(second.stdout).toMatch(new RegExp(`^exists   ${topic} \\(${topic.endsWith('-cursor') ? 1 : 2} partitions?\\)$`, 'm'));
    expect(second.stdout).toContain('0 created, 8 already there, 0 with problems');
  }, 60_000);

  it('reports a partition count that differs and an uncompacted users topic as problems, exit code 1, and changes nothing', async () => {
    const admin = transport.admin();
    await admin.connect();
    const users = uniqueName('cli-topics-users');
    try {
      await admin.createTopics([{ topic: users, partitions: 2 }]);
      // The other topics exist from the first test with 2 partitions; ask for 3.
      const result = await runCli(['topics', 'create', '--partitions', '3'], { env: { ...env, USERS_TOPIC: users } });
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(new RegExp(`^PROBLEM  ${names.RATINGS_TOPIC} has 2 partitions, the pipeline needs 3$`, 'm'));
      expect(result.stdout).toMatch(new RegExp(`^PROBLEM  ${users} has 2 partitions, the pipeline needs 3; is not compacted \\(cleanup.policy=delete\\), the pipeline needs cleanup.policy=compact$`, 'm'));
      expect(result.stdout).toMatch(new RegExp(`^exists   ${names.INGEST_NAME}-cursor \\(1 partition\\)$`, 'm'));
      // The dead-letter topic was made with another retention: only a note.
      expect(result.stdout).toMatch(new RegExp(`^PROBLEM  ${names.RATINGS_DLQ_TOPIC} has 2 partitions, the pipeline needs 3; note: retention.ms is 86400000, not 1209600000$`, 'm'));
      expect(result.stderr).toContain('differ from what the pipeline needs; nothing was changed');
      expect(await admin.partitionCount(names.RATINGS_TOPIC)).toBe(2);
      expect((await admin.topicConfig(users))['cleanup.policy']).toBe('delete');
    } finally {
      await admin.deleteTopics([users]).catch(() => undefined);
      await admin.disconnect();
    }
  }, 60_000);
});
