/**
 * Hostile review (tables): windowed aggregations across an app restart on the memory transport.
 *
 * Contract under test:
 * - `WindowedAggregateOptions.emit` (src/dsl/options.ts): "`onWindowClose` forwards only its final
 *   result, once, when the window closes".
 * - README "Guarantees" › "Tables, joins and aggregations": an aggregation's store is restored from
 *   its compacted changelog on every assignment, and the conformance suite claims "windowed counts
 *   across a restart".
 * - `TimeWindows` (src/dsl/time-windows.ts) / topology/windows.ts: a window takes records only up to
 *   `graceMs` after it ends; later records are dropped (late).
 *
 * Both tests fail: after a restart (stop one app, start another with the same applicationId) the
 * restored task has forgotten the stream time it had reached, so a late record for a window that
 * already closed (and, with onWindowClose, was already emitted) is accepted again into a fresh,
 * empty window. With onWindowClose the closed window is emitted a second time with a wrong value
 * (1 instead of never / 3); with onWindowUpdate a closed window gets an update.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBroker, MemoryTransport, StreamsApp, StreamsBuilder, TimeWindows, silentLogger } from '../../../src/index.ts';
import { consumeUntil, createTopics, produce } from '../../support/streams-harness.ts';
import { uniqueName } from '../../support/names.ts';

const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function run(emit: 'onWindowClose' | 'onWindowUpdate') {
  const broker = new MemoryBroker();
  const transport = new MemoryTransport({ broker });
  const [input, output] = [uniqueName('in'), uniqueName('out')] as [string, string];
  await createTopics(transport, [{ topic: input, partitions: 1 }, { topic: output, partitions: 1 }]);
  const applicationId = uniqueName('window-restart');
  const newApp = () => {
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder
      .stream<string, number>(input)
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeWithGrace(1_000, 0))
      .count({ emit, store: { name: 'counts' } })
      .toStream()
      .to(output, { keySerde: 'json' });
    return new StreamsApp(builder.build(), { applicationId, transport: new MemoryTransport({ broker }), logger: silentLogger(), commitIntervalMs: 50 });
  };
  const rec = (value: number, timestamp: number) => ({ topic: input, key: Buffer.from('k'), value: json(value), timestamp });

  const first = newApp();
  await first.start();
  // Three records in [0, 1000), then stream time moves to 1500: [0, 1000) closes (grace 0).
  await produce(transport, [rec(1, 100), rec(2, 200), rec(3, 300), rec(4, 1_500)]);
  await consumeUntil(transport, output, (got) => got.some((r) => r.key?.toString().includes('"start":0') && r.value?.toString() === '3'), { timeoutMs: 10_000 });
  await sleep(300); // let the commit interval pass
  await first.stop();

  const second = newApp();
  await second.start();
  // A late record for the closed window [0, 1000) (stream time is 1500, grace 0), then time moves on to 2500.
  await produce(transport, [rec(5, 500), rec(6, 2_500)]);
  const seen = await consumeUntil(transport, output, (got) => got.some((r) => r.key?.toString().includes('"start":1000')), { timeoutMs: 10_000 });
  await sleep(500);
  const all = await consumeUntil(transport, output, (got) => got.length >= seen.length, { timeoutMs: 2_000 });
  await second.stop();
  return all.map((r) => [JSON.parse(r.key?.toString() ?? 'null').window.start as number, Number(r.value?.toString())]);
}

describe('review: windowed aggregations across a restart', () => {
  it("emit 'onWindowClose': a window closed before a restart is not emitted again after it (a late record is dropped)", async () => {
    const emitted = await run('onWindowClose');
    // Expected: [0,1000) once with 3, [1000,2000) once with 1. Actual: [0,1000) is emitted a
    // second time, with value 1 (the late record counted into a fresh window).
    expect(emitted.filter(([start]) => start === 0)).toEqual([[0, 3]]);
    expect(emitted).toEqual([[0, 3], [1_000, 1]]);
  }, 30_000);

  it("emit 'onWindowUpdate': a record later than grace for a window closed before the restart is dropped, not counted", async () => {
    const emitted = await run('onWindowUpdate');
    // Expected: updates 1,2,3 for [0,1000) before the restart, [1000,2000)=1, [2000,3000)=1, and
    // nothing for [0,1000) after the restart. Actual: the late record updates the closed window.
    expect(emitted.filter(([start]) => start === 0)).toEqual([[0, 1], [0, 2], [0, 3]]);
  }, 30_000);
});
