import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Admin } from 'kafkajs';
import { hasKafka, uniqueName } from '../../support/services.ts';
import { testKafka } from '../../support/kafka-client.ts';

describe.skipIf(!hasKafka)('Kafka admin client against the real broker', () => {
  let admin: Admin;
  beforeAll(async () => {
    admin = testKafka().admin();
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.disconnect();
  });

  it('creates topics with the requested partition counts and lists them', async () => {
    const four = uniqueName('admin-four');
    const one = uniqueName('admin-one');
    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: four, numPartitions: 4, replicationFactor: 1 },
        { topic: one, numPartitions: 1, replicationFactor: 1 },
      ],
    });
    expect(created).toBe(true);

    const metadata = await admin.fetchTopicMetadata({ topics: [four, one] });
    const partitions = Object.fromEntries(metadata.topics.map((t) => [t.name, t.partitions.length]));
    expect(partitions).toEqual({ [four]: 4, [one]: 1 });
    for (const topic of metadata.topics) {
      for (const partition of topic.partitions) expect(partition.leader).toBeGreaterThanOrEqual(0);
    }
    expect(await admin.listTopics()).toEqual(expect.arrayContaining([four, one]));
  });

  it('reports that an existing topic was not created again', async () => {
    const topic = uniqueName('admin-twice');
    expect(await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 2 }] })).toBe(true);
    expect(await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 2 }] })).toBe(false);
  });
});
