import { describe, expect, it } from 'vitest';
import { ConfigError, MemoryTransport, StreamsApp, StreamsBuilder, silentLogger } from '../../../src/index.ts';
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
