/**
 * The processing-latency hook stays off the hot path when nobody listens: no clock read, nothing
 * published; with a subscriber, each completed input record reports its latency once.
 */
import diagnostics from 'node:diagnostics_channel';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CONNECTOR_CHANNEL, MemoryTransport, RUNTIME_CHANNEL, StreamsApp, StreamsBuilder, silentLogger, subscribeRuntimeEvents, type RuntimeEvent } from '../../../src/index.ts';
import { PartitionProgress } from '../../../src/runtime/lineage.ts';
import type { IncomingRecord } from '../../../src/transport/transport.ts';
import { uniqueName } from '../../support/names.ts';
import { consumeCount, createTopics, produce } from '../../support/streams-harness.ts';

const raw = (offset: number): IncomingRecord => ({ topic: 't', partition: 3, offset, key: null, value: null, headers: {}, timestamp: 0 });

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the record latency hook', () => {
  it('reads no clock and publishes nothing while nobody subscribes', () => {
    expect(diagnostics.channel(RUNTIME_CHANNEL).hasSubscribers).toBe(false);
    const now = vi.spyOn(performance, 'now');
    const published = vi.spyOn(diagnostics.channel(RUNTIME_CHANNEL), 'publish');
    const progress = new PartitionProgress('t', 3, undefined, 'app');
    const origins = [0, 1, 2].map((offset) => progress.track(raw(offset)));
    for (const origin of origins) origin.release();
    expect(progress.committable()).toBe(3);
    expect(origins.map((origin) => origin.intakeAt)).toEqual([0, 0, 0]);
    expect(now).not.toHaveBeenCalled();
    expect(published).not.toHaveBeenCalled();
  });

  it('publishes one record.completed per input record, with its latency, when someone subscribes', () => {
    const events: RuntimeEvent[] = [];
    const unsubscribe = subscribeRuntimeEvents((event) => events.push(event));
    try {
      const progress = new PartitionProgress('t', 3, undefined, 'app');
      const first = progress.track(raw(0));
      const second = progress.track(raw(1));
      second.retain();
      expect(first.intakeAt).toBeGreaterThan(0);
      second.release();
      expect(events).toEqual([]);
      first.release();
      second.release();
      expect(events).toHaveLength(2);
      for (const event of events) expect(event).toMatchObject({ type: 'record.completed', app: 'app', topic: 't', partition: 3 });
      for (const event of events) expect(event.type === 'record.completed' && event.latencyMs >= 0).toBe(true);
    } finally {
      unsubscribe();
    }
  });

  it('a record taken in before anyone listened reports nothing when it completes later', () => {
    const progress = new PartitionProgress('t', 3, undefined, 'app');
    const origin = progress.track(raw(0));
    const events: RuntimeEvent[] = [];
    const unsubscribe = subscribeRuntimeEvents((event) => events.push(event));
    origin.release();
    unsubscribe();
    expect(events).toEqual([]);
  });

  it('a whole app run on the memory transport publishes nothing on either channel without subscribers', async () => {
    const runtime = vi.spyOn(diagnostics.channel(RUNTIME_CHANNEL), 'publish');
    const connectors = vi.spyOn(diagnostics.channel(CONNECTOR_CHANNEL), 'publish');
    const transport = new MemoryTransport();
    const [input, output] = [uniqueName('in'), uniqueName('out')];
    await createTopics(transport, [{ topic: input }, { topic: output }]);
    await produce(transport, Array.from({ length: 50 }, (_, i) => ({ topic: input, key: Buffer.from(`k${i}`), value: Buffer.from(String(i)) })));
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder.stream<string, number>(input).mapValues((n) => n + 1).to(output);
    const applicationId = uniqueName('quiet');
    const app = new StreamsApp(builder.build(), { applicationId, transport, logger: silentLogger(), commitIntervalMs: 20 });
    await app.start();
    await consumeCount(transport, output, 50);
    expect(diagnostics.channel(RUNTIME_CHANNEL).hasSubscribers).toBe(false);
    expect(runtime).not.toHaveBeenCalled();
    expect(connectors).not.toHaveBeenCalled();
    await app.stop();
  });
});
