import { describe, expect, it } from 'vitest';
import { TransportError } from '../../../src/errors/streams-error.ts';
import { MemoryBroker, MemoryTransport } from '../../../src/transport/memory/index.ts';
import { recordBatchBytes } from '../../../src/transport/memory/record-batch-size.ts';

const bytes = (size: number) => Buffer.alloc(size, 97);

describe('memory broker limits', () => {
  it('sizes record batches as kafkajs encodes them (sizes measured against Kafka 3.9.1)', () => {
    const record = (value: number, extra: { key?: Buffer; headers?: Record<string, Buffer>; timestamp?: number } = {}) => ({
      key: extra.key ?? null,
      value: bytes(value),
      headers: extra.headers ?? {},
      timestamp: extra.timestamp ?? 5,
    });
    // The broker accepted a 1048516-byte value and refused 1048517 at message.max.bytes = 1048588.
    expect(recordBatchBytes([record(1_048_516)])).toBe(1_048_588);
    // At max.message.bytes = 200: a 130-byte value fits exactly; two 60-byte values fit, two of 70 do not.
    expect(recordBatchBytes([record(130)])).toBe(200);
    expect(recordBatchBytes([record(60), record(60, { timestamp: 7 })])).toBe(197);
    expect(recordBatchBytes([record(70), record(70)])).toBeGreaterThan(200);
    expect(recordBatchBytes([record(100, { key: bytes(10), headers: { h: Buffer.from('abc') } })])).toBe(186);
  });

  it('keeps creating topics on append, the test driver API, within the size limit', () => {
    const broker = new MemoryBroker({ messageMaxBytes: 100 });
    broker.append({ topic: 'driver', key: null, value: bytes(10) });
    expect(broker.partitionCount('driver')).toBe(1);
    const error = (() => {
      try {
        broker.append({ topic: 'driver', key: null, value: bytes(100) });
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(error).toBeInstanceOf(TransportError);
    // The code the kafka transport gives the broker's MESSAGE_TOO_LARGE.
    expect(error).toMatchObject({ code: 'RECORD_TOO_LARGE', retriable: false });
    expect(broker.endOffset('driver', 0)).toBe(1);
  });

  it('waits at most missingTopicWaitMs for a missing topic before the send fails', async () => {
    const transport = new MemoryTransport({ missingTopicWaitMs: 50 });
    const producer = transport.producer();
    await producer.connect();
    const started = performance.now();
    const error = await producer.send([{ topic: 'nowhere', key: null, value: null }]).catch((e: unknown) => e);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(error).toMatchObject({ code: 'TRANSPORT_FAILED', retriable: true });
    expect(transport.broker.hasTopic('nowhere')).toBe(false);
    await producer.disconnect();
  });
});
