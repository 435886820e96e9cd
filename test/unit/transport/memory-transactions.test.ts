import { describe, expect, it } from 'vitest';
import { TransportError } from '../../../src/errors/streams-error.ts';
import { MemoryTransport } from '../../../src/transport/memory/index.ts';
import type { TransportProducer } from '../../../src/transport/transport.ts';

const record = (value: string) => ({ topic: 't', key: Buffer.from('k'), value: Buffer.from(value) });

async function connected(transport: MemoryTransport, transactionalId?: string): Promise<TransportProducer> {
  const producer = transport.producer(transactionalId === undefined ? {} : { transactionalId });
  await producer.connect();
  return producer;
}

/** A transport whose broker has topic `t`: producers never create topics, as on Kafka. */
function transportWithTopic(): MemoryTransport {
  const transport = new MemoryTransport();
  transport.broker.createTopic({ topic: 't' });
  return transport;
}

async function errorOf(promise: Promise<unknown>): Promise<TransportError> {
  const error: unknown = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof TransportError)) throw new Error(`expected a TransportError, got ${String(error)}`);
  return error;
}

describe('memory transactions', () => {
  it('fences the older producer once a newer one with the same transactionalId connects', async () => {
    const transport = transportWithTopic();
    const older = await connected(transport, 'tx');
    const zombie = await older.transaction();
    await zombie.send([record('zombie')]);

    await connected(transport, 'tx');

    for (const attempt of [zombie.send([record('late')]), zombie.commit(), older.send([record('plain')]), older.transaction()]) {
      const error = await errorOf(attempt);
      expect(error.code).toBe('TRANSACTION_FAILED');
      expect(error.retriable).toBe(false);
      expect(error.message).toMatch(/fenced/);
    }
    // The newer producer's init aborted the zombie's transaction: committed readers never see it.
    expect(transport.broker.read('t', 0, 0)).toEqual([]);
    expect(transport.broker.lastStableOffset('t', 0)).toBe(transport.broker.endOffset('t', 0));
  });

  it('writes a control marker per partition at commit, taking an offset but never delivered', async () => {
    const transport = transportWithTopic();
    const producer = await connected(transport, 'tx');
    const transaction = await producer.transaction();
    await transaction.send([record('a'), record('b')]);
    expect(transport.broker.endOffset('t', 0)).toBe(2);
    expect(transport.broker.read('t', 0, 0)).toEqual([]);
    expect(transport.broker.fetch({ topic: 't', partition: 0 }, 0, { isolationLevel: 'read_uncommitted' }).records).toHaveLength(2);

    await transaction.commit();
    expect(transport.broker.endOffset('t', 0)).toBe(3);
    expect(transport.broker.read('t', 0, 0).map((r) => r.offset)).toEqual([0, 1]);
    // A reader past the last record skips the marker: it is told to continue at the end.
    expect(transport.broker.fetch({ topic: 't', partition: 0 }, 2)).toEqual({ records: [], nextOffset: 3, highWatermark: 3 });
  });

  it('shows aborted records to read_uncommitted readers only', async () => {
    const transport = transportWithTopic();
    const producer = await connected(transport, 'tx');
    const transaction = await producer.transaction();
    await transaction.send([record('aborted')]);
    await transaction.abort();
    await producer.send([record('plain')]);
    const uncommitted = transport.broker.fetch({ topic: 't', partition: 0 }, 0, { isolationLevel: 'read_uncommitted' }).records;
    expect(uncommitted.map((r) => r.value?.toString())).toEqual(['aborted', 'plain']);
    expect(transport.broker.read('t', 0, 0).map((r) => r.value?.toString())).toEqual(['plain']);
  });

  it('commits offsets sent in a transaction only when it commits', async () => {
    const transport = transportWithTopic();
    transport.broker.createTopic({ topic: 'in' });
    const producer = await connected(transport, 'tx');
    const tp = { topic: 'in', partition: 0 };
    const aborted = await producer.transaction();
    await aborted.sendOffsets({ groupId: 'g', offsets: [{ ...tp, offset: 5 }] });
    expect(transport.broker.committed('g', tp)).toBeUndefined();
    await aborted.abort();
    expect(transport.broker.committed('g', tp)).toBeUndefined();

    const committed = await producer.transaction();
    await committed.sendOffsets({ groupId: 'g', offsets: [{ ...tp, offset: 3 }] });
    await committed.sendOffsets({ groupId: 'g', offsets: [{ ...tp, offset: 4 }] });
    expect(transport.broker.committed('g', tp)).toBeUndefined();
    await committed.commit();
    expect(transport.broker.committed('g', tp)).toBe(4);
  });

  it('needs a transactionalId, allows one open transaction at a time, and refuses a finished one', async () => {
    const transport = transportWithTopic();
    expect((await errorOf((await connected(transport)).transaction())).message).toMatch(/transactionalId/);

    const producer = await connected(transport, 'tx');
    const first = await producer.transaction();
    expect((await errorOf(producer.transaction())).message).toMatch(/already has an open transaction/);
    await first.commit();
    expect((await errorOf(first.commit())).message).toMatch(/already ended/);
    const second = await producer.transaction();
    await second.abort();
  });

  it('aborts the open transaction on disconnect, so read_committed readers are not blocked forever', async () => {
    const transport = transportWithTopic();
    const producer = await connected(transport, 'tx');
    const transaction = await producer.transaction();
    await transaction.send([record('never')]);
    const plain = await connected(transport);
    await plain.send([record('after')]);
    expect(transport.broker.read('t', 0, 0)).toEqual([]);

    await producer.disconnect();
    expect(transport.broker.read('t', 0, 0).map((r) => r.value?.toString())).toEqual(['after']);
    expect((await errorOf(transaction.commit())).code).toBe('TRANSPORT_CLOSED');
  });

  it('refuses to send before connect and after disconnect', async () => {
    const transport = transportWithTopic();
    const producer = transport.producer();
    expect((await errorOf(producer.send([record('x')]))).code).toBe('TRANSPORT_CLOSED');
    await producer.connect();
    await producer.disconnect();
    expect((await errorOf(producer.send([record('x')]))).code).toBe('TRANSPORT_CLOSED');
  });
});
