/**
 * The app's lifecycle on a real broker: `stop()` at any moment ends in `stopped` with nothing left
 * running, and the partitions go to the next instance.
 * - stop() called at each step of start() (and twice);
 * - stop() while an exactly-once task recovers from a fenced transaction.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { StreamsApp, StreamsBuilder, silentLogger, subscribeRuntimeEvents, type RuntimeEvent } from '../../../src/index.ts';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import type { Transport, TransportAdmin, TransportConsumer, TransportProducer } from '../../../src/transport/transport.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../../support/services.ts';
import { createTopics, produce } from '../../support/streams-harness.ts';

const PARTITIONS = 3;

type Point =
  | 'admin.connect'
  | 'admin.createTopics'
  | 'producer.connect'
  | 'consumer.connect'
  | 'consumer.subscribe'
  | 'consumer.run'
  | 'consumer.run resolved';

/** Wraps a transport so that `reached(point)` is called when the app gets to a step of its start. */
function instrumented(inner: Transport, reached: (point: Point) => void): Transport {
  return {
    kind: inner.kind,
    admin: (): TransportAdmin => {
      const admin = inner.admin();
      return Object.assign(Object.create(admin) as TransportAdmin, {
        connect: () => (reached('admin.connect'), admin.connect()),
        createTopics: (topics: Parameters<TransportAdmin['createTopics']>[0]) => (reached('admin.createTopics'), admin.createTopics(topics)),
      });
    },
    producer: (options): TransportProducer => {
      const producer = inner.producer(options);
      return Object.assign(Object.create(producer) as TransportProducer, {
        connect: () => (reached('producer.connect'), producer.connect()),
      });
    },
    consumer: (options): TransportConsumer => {
      const consumer = inner.consumer(options);
      return Object.assign(Object.create(consumer) as TransportConsumer, {
        connect: () => (reached('consumer.connect'), consumer.connect()),
        subscribe: (o: Parameters<TransportConsumer['subscribe']>[0]) => (reached('consumer.subscribe'), consumer.subscribe(o)),
        run: async (o: Parameters<TransportConsumer['run']>[0]) => {
          reached('consumer.run');
          await consumer.run(o);
          reached('consumer.run resolved');
        },
      });
    },
  };
}

function topology(input: string, output: string, seen: Set<number>) {
  const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
  builder
    .stream<string, number>(input)
    .peek((_key, _value, record) => void seen.add(record.source.partition))
    .to(output);
  return builder.build();
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe.skipIf(!hasKafka)('app lifecycle on a real broker', () => {
  const transport = () => new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'lifecycle-test', logLevel: 'nothing' });

  async function topics() {
    const input = uniqueName('life-in');
    const output = uniqueName('life-out');
    await createTopics(transport(), [
      { topic: input, partitions: PARTITIONS },
      { topic: output, partitions: PARTITIONS },
    ]);
    // One record per partition, so that an instance proves it owns a partition by processing it.
    await produce(
      transport(),
      Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: input, partition, key: Buffer.from(`k${partition}`), value: Buffer.from('1') })),
    );
    return { input, output };
  }

  /** A second instance of the group must get, and process, every partition. */
  async function expectNextInstanceGetsEverything(applicationId: string, input: string, output: string, guarantee: 'at-least-once' | 'exactly-once') {
    const seen = new Set<number>();
    const next = new StreamsApp(topology(input, output, seen), { applicationId, transport: transport(), logger: silentLogger(), processingGuarantee: guarantee });
    onTestFinished(() => next.stop());
    await next.start();
    // New input for every partition: what the stopped instance committed is not read again.
    await produce(
      transport(),
      Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: input, partition, key: Buffer.from(`n${partition}`), value: Buffer.from('2') })),
    );
    await waitFor(() => seen.size === PARTITIONS, 30_000, () => `the next instance to process all ${PARTITIONS} partitions (saw ${[...seen].join(',')})`);
  }

  const points: readonly Point[] = [
    'admin.connect',
    'admin.createTopics',
    'producer.connect',
    'consumer.connect',
    'consumer.subscribe',
    'consumer.run',
    'consumer.run resolved',
  ];
  for (const guarantee of ['at-least-once', 'exactly-once'] as const) {
    for (const point of points) {
      it(`${guarantee}: stop() at ${point} during start() ends stopped and frees every partition`, { timeout: 60_000 }, async () => {
        const { input, output } = await topics();
        const applicationId = uniqueName('life-app');
        let stopping: Promise<void> | undefined;
        let stoppingAgain: Promise<void> | undefined;
        const seen = new Set<number>();
        const app: StreamsApp = new StreamsApp(topology(input, output, seen), {
          applicationId,
          transport: instrumented(transport(), (at) => {
            if (at !== point || stopping !== undefined) return;
            stopping = app.stop();
            stoppingAgain = app.stop();
          }),
          logger: silentLogger(),
          processingGuarantee: guarantee,
          shutdownTimeoutMs: 10_000,
        });
        const started = app.start().then(
          () => 'resolved',
          (error: unknown) => (error as { code?: string }).code,
        );
        const outcome = await started;
        // exactly-once connects no producer during start(): that point is never reached there.
        const reached = stopping !== undefined;
        if (!reached) expect(guarantee === 'exactly-once' && point === 'producer.connect').toBe(true);
        stopping ??= app.stop();
        await stopping;
        await stoppingAgain;
        expect(app.state).toBe('stopped');
        await expectNextInstanceGetsEverything(applicationId, input, output, guarantee);
        // Still stopped: nothing restarted behind stop()'s back.
        expect(app.state).toBe('stopped');
        // start() says it did not get to run.
        if (reached) expect(outcome).toBe('SHUTDOWN');
      });
    }
  }

  it('exactly-once: stop() while tasks recover from a fenced transaction ends stopped and frees every partition', { timeout: 90_000 }, async () => {
    const { input, output } = await topics();
    const applicationId = uniqueName('life-app');
    const seen = new Set<number>();
    const app = new StreamsApp(topology(input, output, seen), {
      applicationId,
      instanceId: 'first',
      transport: transport(),
      logger: silentLogger(),
      processingGuarantee: 'exactly-once',
      commitIntervalMs: 50,
    });
    onTestFinished(() => app.stop());
    await app.start();
    await waitFor(() => seen.size === PARTITIONS, 30_000, () => 'the app to process every partition');
    const recovering = new Promise<RuntimeEvent>((resolve) => {
      const unsubscribe = subscribeRuntimeEvents((event) => {
        if (event.app === applicationId && event.type === 'error' && (event.error as { code?: string }).code === 'TRANSACTION_FAILED') {
          unsubscribe();
          resolve(event);
        }
      });
    });
    // Fence every transactional id the app may use (per instance before the fix, per task after).
    const ids = [`${applicationId}-first`, ...Array.from({ length: PARTITIONS }, (_, p) => `${applicationId}-${input}-${p}`)];
    for (const transactionalId of ids) {
      const intruder = transport().producer({ transactionalId });
      await intruder.connect();
      // kafkajs initialises the transactional id (the fence) with the first transaction.
      await (await intruder.transaction()).abort();
      await intruder.disconnect();
    }
    await produce(
      transport(),
      Array.from({ length: 30 }, (_, i) => ({ topic: input, partition: i % PARTITIONS, key: Buffer.from(`k${i}`), value: Buffer.from(String(i)) })),
    );
    await recovering;
    await app.stop();
    expect(app.state).toBe('stopped');
    await expectNextInstanceGetsEverything(applicationId, input, output, 'exactly-once');
    expect(app.state).toBe('stopped');
  });
});
