import { describe, expect, it } from 'vitest';
import { ConfigResourceTypes } from 'kafkajs';
import { hasKafka, uniqueName } from '../../support/services.ts';
import { testKafka } from '../../support/kafka-client.ts';

describe.skipIf(!hasKafka)('topic configuration on the real broker', () => {
  it('reads back cleanup.policy=compact on a compacted topic and delete on a plain one', async () => {
    const admin = testKafka().admin();
    await admin.connect();
    try {
      const compacted = uniqueName('users-compacted');
      const plain = uniqueName('plain');
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          { topic: compacted, numPartitions: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
          { topic: plain, numPartitions: 1 },
        ],
      });
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [
          { type: ConfigResourceTypes.TOPIC, name: compacted, configNames: ['cleanup.policy'] },
          { type: ConfigResourceTypes.TOPIC, name: plain, configNames: ['cleanup.policy'] },
        ],
      });
      const policy = Object.fromEntries(
        described.resources.map((r) => [r.resourceName, r.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue]),
      );
      expect(policy).toEqual({ [compacted]: 'compact', [plain]: 'delete' });
    } finally {
      await admin.disconnect();
    }
  });
});
