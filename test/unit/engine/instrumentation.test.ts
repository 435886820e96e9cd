import { describe, expect, it } from 'vitest';
import diagnostics from 'node:diagnostics_channel';
import { MemoryTransport, RUNTIME_CHANNEL, StreamsApp, StreamsBuilder, silentLogger, subscribeRuntimeEvents, type RuntimeEvent } from '../../../src/index.ts';
import { uniqueName } from '../../support/names.ts';
import { consumeCount, createTopics, produce, waitForCommitted } from '../../support/streams-harness.ts';

describe('runtime instrumentation', () => {
  it('publishes records in/out per node, commits, dead letters and state changes on one channel', async () => {
    const transport = new MemoryTransport();
    const input = uniqueName('in');
    await createTopics(transport, [{ topic: input }, { topic: 'doubled' }]);
    await produce(transport, [
      { topic: input, key: Buffer.from('a'), value: Buffer.from('1') },
      { topic: input, key: Buffer.from('b'), value: Buffer.from('not json') },
      { topic: input, key: Buffer.from('c'), value: Buffer.from('3') },
    ]);
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder.stream<string, number>(input).mapValues((n) => n * 2, { name: 'double' }).to('doubled');
    const applicationId = uniqueName('app');
    const events: RuntimeEvent[] = [];
    const unsubscribe = subscribeRuntimeEvents((event) => {
      if (event.app === applicationId) events.push(event);
    });
    const app = new StreamsApp(builder.build(), { applicationId, transport, logger: silentLogger(), commitIntervalMs: 50 });
    await app.start();
    await consumeCount(transport, 'doubled', 2);
    await waitForCommitted(transport, applicationId, input);
    await app.stop();
    unsubscribe();

    expect(events.filter((e) => e.type === 'records.in').reduce((n, e) => n + (e.type === 'records.in' ? e.count : 0), 0)).toBe(3);
    expect(events.filter((e) => e.type === 'node.out' && e.node === 'double')).toHaveLength(2);
    expect(events.find((e) => e.type === 'dead-letter')).toMatchObject({ stage: 'deserialization', code: 'DESERIALIZATION_FAILED', topic: input, offset: 1 });
    expect(events.some((e) => e.type === 'commit' && e.offsets.some((o) => o.topic === input && o.offset === 3))).toBe(true);
    const states = events.flatMap((e) => (e.type === 'state' ? [e.to] : []));
    expect(states).toEqual(['starting', 'running', 'stopping', 'stopped']);
  });

  it('has no subscribers, and so builds no events, unless someone listens', () => {
    expect(diagnostics.channel(RUNTIME_CHANNEL).hasSubscribers).toBe(false);
    const unsubscribe = subscribeRuntimeEvents(() => undefined);
    expect(diagnostics.channel(RUNTIME_CHANNEL).hasSubscribers).toBe(true);
    unsubscribe();
    expect(diagnostics.channel(RUNTIME_CHANNEL).hasSubscribers).toBe(false);
  });
});
