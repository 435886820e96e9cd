/**
 * Hostile review: long (but finite, accepted) timeouts on a StreamsApp, whose timers run on the
 * real clock. Node's timers hold at most 2^31-1 ms and fire after 1 ms for anything longer.
 */
import { delay } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryTransport, StreamsApp, StreamsBuilder, silentLogger } from '../../../src/index.ts';
import { uniqueName } from '../../support/names.ts';
import { createTopics, produce, waitForCommitted } from '../../support/streams-harness.ts';

const apps: StreamsApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
}, 20_000);

const MONTH = 30 * 24 * 3600 * 1000; // 2,592,000,000 ms > 2^31-1; accepted by build()

async function run(build: (builder: StreamsBuilder, input: string, output: string) => void) {
  const transport = new MemoryTransport();
  const input = uniqueName('in');
  const output = uniqueName('out');
  await createTopics(transport, [
    { topic: input, partitions: 1 },
    { topic: output, partitions: 1 },
  ]);
  await produce(transport, Array.from({ length: 5 }, (_, i) => ({ topic: input, key: Buffer.from(`k${i}`), value: Buffer.from(JSON.stringify(`v${i}`)) })));
  const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
  build(builder, input, output);
  const app = new StreamsApp(builder.build(), { applicationId: uniqueName('app'), transport, logger: silentLogger(), commitIntervalMs: 20, shutdownTimeoutMs: 2_000 });
  apps.push(app);
  await app.start();
  await waitForCommitted(transport, app.applicationId, input, 10_000);
  const dlq = `${app.applicationId}-dlq`;
  return {
    written: transport.broker.read(output, 0, 0).length,
    deadLetters: transport.broker.hasTopic(dlq) ? transport.broker.read(dlq, 0, 0).map((r) => r.headers['dlq.error.message']?.toString()) : [],
  };
}

describe('review: timeouts above 2^31-1 ms', () => {
  // Found by review: Node fires timers longer than 2^31-1 ms at once, so a month-long forEach
  // timeoutMs dead-lettered every call and a month-long completionTimeoutMs tore every epoch down.
  // Such values are now refused when the topology is built; the longest Node timer still works.
  it('forEach({ timeoutMs: a month }) is refused at build time, naming the limit', () => {
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    expect(() => builder.stream<string, string>('in').forEach(async () => {}, { timeoutMs: MONTH })).toThrow(
      /forEach\(\): option timeoutMs must be a positive number of milliseconds up to 2147483647 \(about 24.8 days/,
    );
  });

  it('transform({ completionTimeoutMs: a month }) is refused; the longest timer Node runs works', async () => {
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    expect(() => builder.stream<string, string>('in').transform(() => (source) => source, { completionTimeoutMs: MONTH })).toThrow(/completionTimeoutMs must be/);
    const result = await run((b, input, output) =>
      b
        .stream<string, string>(input)
        .transform(() => (source) => source.pipe(delay(20)) as unknown as typeof source, { completionTimeoutMs: 2 ** 31 - 1, maxHoldMs: 10 })
        .to(output),
    );
    expect(result).toEqual({ written: 5, deadLetters: [] });
  }, 20_000);
});
