import { describe, expect, it } from 'vitest';
import { ConfigError, MemoryTransport, StreamsApp, StreamsBuilder, TransportError, silentLogger, type Transport } from '../../../src/index.ts';
import { createTopics } from '../../support/streams-harness.ts';

function topology() {
  const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
  builder.stream('ratings').selectKey((_k, v) => String(v)).repartition({ name: 'rekey' }).to('ratings_out');
  return builder.build();
}

describe('StreamsApp start-up', () => {
  it('refuses to start when topics the topology reads or writes are missing, naming them', async () => {
    const transport = new MemoryTransport();
    await createTopics(transport, [{ topic: 'ratings' }]);
    const app = new StreamsApp(topology(), { applicationId: 'checks', transport, logger: silentLogger() });
    const start = app.start();
    await expect(start).rejects.toBeInstanceOf(ConfigError);
    await expect(start).rejects.toThrow(/topics ratings_out do not exist; create them before starting checks/);
    expect(app.state).toBe('failed');
  });

  it('creates its repartition and dead-letter topics, sized like the widest input', async () => {
    const transport = new MemoryTransport();
    await createTopics(transport, [{ topic: 'ratings', partitions: 3 }, { topic: 'ratings_out' }]);
    const app = new StreamsApp(topology(), { applicationId: 'sizes', transport, logger: silentLogger() });
    await app.start();
    await app.stop();
    expect(transport.broker.partitionCount('sizes-rekey-repartition')).toBe(3);
    expect(transport.broker.hasTopic('sizes-dlq')).toBe(true);
  });

  it('rejects options that cannot work, naming them', () => {
    const transport = new MemoryTransport();
    expect(() => new StreamsApp(topology(), { applicationId: 'has space', transport })).toThrow(/applicationId "has space" is invalid/);
    expect(() => new StreamsApp(topology(), { applicationId: 'ok', transport, maxInFlight: 0 })).toThrow(/maxInFlight must be a whole number >= 1/);
  });
});

describe('StreamsApp shutdown', () => {
  // A shutdown that waited on the refusing broker forever would hit this test's timeout.
  it('stops when the broker refuses every write, committing nothing it did not write', { timeout: 20_000 }, async () => {
    const memory = new MemoryTransport();
    const transport: Transport = {
      kind: 'memory-refusing-writes',
      admin: () => memory.admin(),
      consumer: (options) => memory.consumer(options),
      producer: (options) => {
        const real = memory.producer(options);
        return {
          connect: () => real.connect(),
          disconnect: () => real.disconnect(),
          transaction: () => real.transaction(),
          send: async () => {
            throw new TransportError('broker unavailable', { retriable: true });
          },
        };
      },
    };
    await createTopics(transport, [{ topic: 'ratings' }, { topic: 'out' }]);
    const producer = memory.producer();
    await producer.connect();
    await producer.send([{ topic: 'ratings', key: Buffer.from('a'), value: Buffer.from('1') }]);
    await producer.disconnect();
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder.stream('ratings').to('out');
    const app = new StreamsApp(builder.build(), { applicationId: 'refused', transport, logger: silentLogger(), shutdownTimeoutMs: 300 });
    await app.start();
    await until(() => app.inFlight === 1);
    await app.stop();
    expect(app.state).toBe('stopped');
    expect(memory.broker.committed('refused', { topic: 'ratings', partition: 0 })).toBeUndefined();
    expect(memory.broker.endOffset('out', 0)).toBe(0);
  });
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('StreamsApp instance id', () => {
  it('defaults to an id unique per instance, even for two apps in one process (every container is pid 1)', () => {
    const transport = new MemoryTransport();
    const a = new StreamsApp(topology(), { applicationId: 'ids', transport });
    const b = new StreamsApp(topology(), { applicationId: 'ids', transport });
    expect(a.instanceId).not.toBe(b.instanceId);
    expect(a.instanceId).not.toBe(`instance-${process.pid}`);
    expect(new StreamsApp(topology(), { applicationId: 'ids', transport, instanceId: 'pod-7' }).instanceId).toBe('pod-7');
  });
});
