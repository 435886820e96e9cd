import { describe, expect, it } from 'vitest';
import { hasKafka, uniqueName } from '../../support/services.ts';
import { consumeUntil, testKafka } from '../../support/kafka-client.ts';

describe.skipIf(!hasKafka)('Kafka transactions on the real broker', () => {
  it('a read_committed consumer sees the committed transaction and not the aborted one', async () => {
    const kafka = testKafka();
    const topic = uniqueName('txn');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
    await admin.disconnect();

    const producer = kafka.producer({ transactionalId: uniqueName('txn-producer'), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const committed = await producer.transaction();
    await committed.send({ topic, messages: [{ key: 'a', value: 'committed-1' }, { key: 'b', value: 'committed-2' }] });
    await committed.commit();

    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ key: 'a', value: 'aborted-1' }, { key: 'b', value: 'aborted-2' }] });
    await aborted.abort();

    // A last committed marker tells the consumers they have read everything.
    const last = await producer.transaction();
    await last.send({ topic, messages: [{ key: 'end', value: 'end' }] });
    await last.commit();
    await producer.disconnect();

    const reachedEnd = (seen: readonly { value: string | null }[]) => seen.some((m) => m.value === 'end');
    const readCommitted = await consumeUntil(kafka, topic, reachedEnd, { consumer: { readUncommitted: false } });
    expect(readCommitted.map((m) => m.value)).toEqual(['committed-1', 'committed-2', 'end']);

    // The aborted records are in the log: an uncommitted reader sees them, so the filter above is real.
    const readUncommitted = await consumeUntil(kafka, topic, reachedEnd, { consumer: { readUncommitted: true } });
    expect(readUncommitted.map((m) => m.value)).toEqual(['committed-1', 'committed-2', 'aborted-1', 'aborted-2', 'end']);
  });
});
