/**
 * Property: for random `pipe()` chains built from a broad set of RxJS operators (filtering,
 * transformation, combination, buffering, timing, errors), random inputs, a sink with random delays
 * and failures, and random graceful stop/restart points:
 * - the commit rule: no input offset is committed before every output derived from it was
 *   acknowledged (sink call resolved, or dead letter written);
 * - no stall: once the input ends, everything is committed within a bound;
 * - the in-flight bound holds;
 * - nothing is lost: with no dropping operator in the chain, every input is in an acknowledged
 *   output or in the dead-letter topic.
 * Runs on any transport (memory in the unit suite, a smaller run on Kafka).
 */
import fc from 'fast-check';
import {
  bufferCount,
  bufferTime,
  concatMap,
  delay,
  distinctUntilChanged,
  filter,
  from,
  groupBy,
  map,
  mergeMap,
  of,
  scan,
  throwError,
  timer,
  type Observable,
  type OperatorFunction,
} from 'rxjs';
import { expect, it } from 'vitest';
import { readDeadLetterHeaders } from '../../src/errors/dead-letter.ts';
import { StreamsApp, StreamsBuilder, combineRecords, silentLogger, type StreamRecord } from '../../src/index.ts';
import type { TopicPartitionOffset, Transport } from '../../src/transport/transport.ts';
import { uniqueName } from '../support/names.ts';
import { createTopics, produce, waitForCommitted } from '../support/streams-harness.ts';

interface Value {
  readonly ids: readonly number[];
}
type Rec = StreamRecord<string, Value>;
type Op = OperatorFunction<Rec, Rec>;

const combine = (batch: readonly Rec[]): Rec => combineRecords(batch, { key: batch[0]?.key ?? null, value: { ids: batch.flatMap((r) => r.value.ids) } }) as Rec;

interface OpSpec {
  readonly name: string;
  /** Whether the operator may drop inputs on purpose (then completeness is not checked). */
  readonly drops: boolean;
  readonly make: (poison: ReadonlySet<number>) => Op;
}

const opSpecs: fc.Arbitrary<OpSpec> = fc.oneof(
  fc.constant<OpSpec>({ name: 'filter', drops: true, make: () => filter((r: Rec) => (r.value.ids[0] ?? 0) % 3 !== 0) }),
  fc.constant<OpSpec>({ name: 'map', drops: false, make: () => map((r: Rec) => r.withValue({ ids: [...r.value.ids] })) }),
  fc.integer({ min: 1, max: 8 }).map<OpSpec>((spread) => ({
    name: `mergeMap(async, reordering ${spread})`,
    drops: false,
    make: () => mergeMap((r: Rec) => timer(((r.value.ids[0] ?? 0) * 7) % spread).pipe(map(() => r))),
  })),
  fc.constant<OpSpec>({ name: 'concatMap(async)', drops: false, make: () => concatMap((r: Rec) => timer(1).pipe(map(() => r))) }),
  fc.constant<OpSpec>({ name: 'mergeMap(two outputs)', drops: false, make: () => mergeMap((r: Rec) => from([r, r.withValue({ ids: [...r.value.ids] })])) }),
  fc.integer({ min: 2, max: 40 }).map<OpSpec>((n) => ({ name: `bufferCount(${n})`, drops: false, make: () => (source: Observable<Rec>) => source.pipe(bufferCount(n), map(combine)) })),
  fc.integer({ min: 1, max: 30 }).map<OpSpec>((ms) => ({
    name: `bufferTime(${ms})`,
    drops: false,
    make: () => (source: Observable<Rec>) => source.pipe(bufferTime(ms), filter((batch) => batch.length > 0), map(combine)),
  })),
  fc.constant<OpSpec>({ name: 'distinctUntilChanged', drops: true, make: () => distinctUntilChanged((a: Rec, b: Rec) => a.key === b.key) }),
  fc.integer({ min: 0, max: 20 }).map<OpSpec>((ms) => ({ name: `delay(${ms})`, drops: false, make: () => delay(ms) })),
  fc.constant<OpSpec>({
    name: 'groupBy+bufferCount(2)',
    drops: false,
    make: () => (source: Observable<Rec>) => source.pipe(groupBy((r) => r.key), mergeMap((group) => group.pipe(bufferCount(2))), map(combine)),
  }),
  fc.constant<OpSpec>({ name: 'scan', drops: false, make: () => scan((_last: Rec | undefined, r: Rec) => r, undefined) as unknown as Op }),
  fc.constant<OpSpec>({
    name: 'map that throws on poison',
    drops: false,
    make: (poison) =>
      map((r: Rec) => {
        if (r.value.ids.some((id) => poison.has(id))) throw new Error(`poison in ${r.value.ids.join(',')}`);
        return r;
      }),
  }),
  fc.constant<OpSpec>({
    name: 'async error on poison',
    drops: false,
    make: (poison) =>
      mergeMap((r: Rec) => timer(1).pipe(mergeMap(() => (r.value.ids.some((id) => poison.has(id)) ? throwError(() => new Error('async poison')) : of(r))))),
  }),
);

const scenario = fc.record({
  ops: fc.array(opSpecs, { minLength: 1, maxLength: 4 }),
  count: fc.integer({ min: 1, max: 120 }),
  partitions: fc.integer({ min: 1, max: 3 }),
  poison: fc.uniqueArray(fc.integer({ min: 0, max: 119 }), { maxLength: 4 }),
  sinkFailures: fc.uniqueArray(fc.integer({ min: 0, max: 119 }), { maxLength: 4 }),
  sinkDelayMax: fc.integer({ min: 0, max: 5 }),
  concurrency: fc.integer({ min: 1, max: 4 }),
  maxInFlight: fc.integer({ min: 3, max: 40 }),
  restarts: fc.uniqueArray(fc.integer({ min: 1, max: 119 }), { maxLength: 2 }),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer S> ? S : never;

/** Wraps a transport to stamp every commit and every acknowledged dead letter with a global sequence number. */
function observed(transport: Transport, log: { seq: number; commits: Array<{ seq: number; offsets: readonly TopicPartitionOffset[] }>; deadLetters: Array<{ seq: number; partition: number; offset: number }> }, dlq: () => string): Transport {
  return {
    kind: transport.kind,
    admin: () => transport.admin(),
    consumer: (options) => {
      const real = transport.consumer(options);
      return {
        groupId: real.groupId,
        connect: () => real.connect(),
        subscribe: (subscription) => real.subscribe(subscription),
        run: (run) => real.run(run),
        pause: (partitions) => real.pause(partitions),
        resume: (partitions) => real.resume(partitions),
        seek: (partition, offset) => real.seek(partition, offset),
        assignment: () => real.assignment(),
        disconnect: () => real.disconnect(),
        commit: async (offsets) => {
          // Stamped before the commit takes effect: anything acknowledged later must not be covered.
          log.commits.push({ seq: ++log.seq, offsets });
          await real.commit(offsets);
        },
      };
    },
    producer: (options) => {
      const real = transport.producer(options);
      return {
        connect: () => real.connect(),
        disconnect: () => real.disconnect(),
        transaction: () => real.transaction(),
        send: async (records) => {
          await real.send(records);
          for (const record of records) {
            if (record.topic !== dlq()) continue;
            const headers = readDeadLetterHeaders(record.headers ?? {});
            log.deadLetters.push({ seq: ++log.seq, partition: Number(headers.sourcePartition), offset: Number(headers.sourceOffset) });
          }
        },
      };
    },
  };
}

async function runScenario(base: Transport, s: Scenario): Promise<void> {
  const input = uniqueName('prop-in');
  const applicationId = uniqueName('prop-app');
  const dlq = `${applicationId}-dlq`;
  const log = { seq: 0, commits: [] as Array<{ seq: number; offsets: readonly TopicPartitionOffset[] }>, deadLetters: [] as Array<{ seq: number; partition: number; offset: number }> };
  const transport = observed(base, log, () => dlq);
  await createTopics(base, [{ topic: input, partitions: s.partitions }]);
  // Explicit partitions: id i is at partition i % P, offset floor(i / P).
  await produce(
    base,
    Array.from({ length: s.count }, (_, i) => ({ topic: input, partition: i % s.partitions, key: Buffer.from(`k${i % 7}`), value: Buffer.from(JSON.stringify({ ids: [i] })) })),
  );
  const where = (id: number) => ({ partition: id % s.partitions, offset: Math.floor(id / s.partitions) });
  const poison = new Set(s.poison);
  const sinkFailures = new Set(s.sinkFailures);
  const acks: Array<{ seq: number; ids: readonly number[] }> = [];
  const chain: Op = (source) => s.ops.reduce<Observable<Rec>>((acc, spec) => acc.pipe(spec.make(poison)), source);

  const makeApp = () => {
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder
      .stream<string, Value>(input)
      .transform(() => chain, { maxHoldMs: 40, completionTimeoutMs: 3_000 })
      .forEach(
        async (_key, value) => {
          await new Promise((resolve) => setTimeout(resolve, (value.ids[0] ?? 0) % (s.sinkDelayMax + 1)));
          if (value.ids.some((id) => sinkFailures.has(id))) throw new Error('sink refused');
          acks.push({ seq: ++log.seq, ids: value.ids });
        },
        { concurrency: s.concurrency, timeoutMs: 3_000 },
      );
    return new StreamsApp(builder.build(), { applicationId, transport, logger: silentLogger(), commitIntervalMs: 20, maxInFlight: s.maxInFlight, shutdownTimeoutMs: 5_000 });
  };

  let highest = 0;
  let app = makeApp();
  const sampler = setInterval(() => (highest = Math.max(highest, app.inFlight)), 2);
  try {
    await app.start();
    for (const point of [...s.restarts].sort((a, b) => a - b)) {
      if (point >= s.count) continue;
      const deadline = Date.now() + 5_000;
      while (acks.length < Math.min(point, 5) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      await app.stop();
      app = makeApp();
      await app.start();
    }
    // No stall: everything is committed within the bound.
    await waitForCommitted(base, applicationId, input, 30_000);
  } finally {
    clearInterval(sampler);
    await app.stop();
  }

  // The in-flight bound.
  expect(highest, 'in-flight above maxInFlight').toBeLessThanOrEqual(s.maxInFlight);
  // The commit rule: an acknowledgement after a commit must not be covered by that commit.
  const committedBefore = (seq: number, partition: number) => {
    let offset = -1;
    for (const commit of log.commits) {
      if (commit.seq > seq) break;
      for (const tp of commit.offsets) if (tp.topic === input && tp.partition === partition) offset = Math.max(offset, tp.offset);
    }
    return offset;
  };
  for (const ack of acks) {
    for (const id of ack.ids) {
      const { partition, offset } = where(id);
      expect(committedBefore(ack.seq, partition), `input ${id} (p${partition}@${offset}) committed before its output was acknowledged`).toBeLessThanOrEqual(offset);
    }
  }
  for (const dead of log.deadLetters) {
    expect(committedBefore(dead.seq, dead.partition), `p${dead.partition}@${dead.offset} committed before its dead letter was written`).toBeLessThanOrEqual(dead.offset);
  }
  // Nothing lost, when no operator drops on purpose.
  if (!s.ops.some((op) => op.drops)) {
    const seen = new Set(acks.flatMap((ack) => ack.ids));
    for (const dead of log.deadLetters) seen.add(dead.offset * s.partitions + dead.partition);
    const missing = Array.from({ length: s.count }, (_, id) => id).filter((id) => !seen.has(id));
    expect(missing, 'inputs neither acknowledged nor dead-lettered').toEqual([]);
  }
}

export function definePipeProperties(label: string, setup: () => Transport, options: { readonly numRuns: number; readonly timeoutMs: number }): void {
  it(`${label}: random pipe() chains keep the commit rule, never stall, stay bounded and lose nothing`, { timeout: options.timeoutMs }, async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        await runScenario(setup(), s);
      }),
      { numRuns: options.numRuns, endOnFailure: true },
    );
  });
}
