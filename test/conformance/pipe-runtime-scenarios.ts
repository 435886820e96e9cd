/**
 * Scenarios for both transports: a StreamsApp with steps that drop, hold or hang: nothing stalls, the
 * in-flight bound holds, and what cannot be processed is dead-lettered in the standard format.
 */
import { bufferCount, distinctUntilChanged, filter, map, mergeMap, EMPTY } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Transport } from '../../src/transport/transport.ts';
import { readDeadLetterHeaders } from '../../src/errors/dead-letter.ts';
import { StreamsApp, StreamsBuilder, combineRecords, silentLogger, type KStream, type StreamRecord, type StreamsAppOptions } from '../../src/index.ts';
import { uniqueName } from '../support/names.ts';
import { consumeCount, createTopics, produce, waitForCommitted } from '../support/streams-harness.ts';

export function definePipeRuntimeScenarios(label: string, makeTransport: () => Transport): void {
  describe(`pipe, forEach and deadLetter in a running app: ${label}`, () => {
    const apps: StreamsApp[] = [];
    afterEach(async () => {
      await Promise.all(apps.splice(0).map((app) => app.stop()));
    });

    async function run(
      build: (builder: StreamsBuilder, input: string, output: string) => void,
      options: { count?: number; partitions?: number; app?: Partial<StreamsAppOptions> } = {},
    ) {
      const transport = makeTransport();
      const input = uniqueName('in');
      const output = uniqueName('out');
      const partitions = options.partitions ?? 2;
      await createTopics(transport, [
        { topic: input, partitions },
        { topic: output, partitions },
      ]);
      const count = options.count ?? 200;
      await produce(
        transport,
        Array.from({ length: count }, (_, i) => ({ topic: input, key: Buffer.from(`k${i % 13}`), value: Buffer.from(JSON.stringify(i % 4 === 0 ? 'same' : `v${i}`)) })),
      );
      const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
      build(builder, input, output);
      const app = new StreamsApp(builder.build(), { applicationId: uniqueName('app'), transport, logger: silentLogger(), commitIntervalMs: 20, ...options.app });
      apps.push(app);
      await app.start();
      return { app, transport, input, output, count };
    }

    describe('steps that drop or hold records never stall the app (defect 6)', () => {
      const dropping: Array<[string, (stream: KStream<string, string>) => { to(topic: string): void }]> = [
        ['filter inside pipe()', (s) => s.pipe(filter(() => false))],
        // Every record after the first counts as a repeat: the step drops them all, the tail included.
        ['distinctUntilChanged inside pipe()', (s) => s.pipe(distinctUntilChanged(() => true))],
        [
          'bufferCount(n) with n above maxInFlight',
          (s) =>
            s.pipe(
              bufferCount(50),
              map((batch: StreamRecord<unknown, unknown>[]) => combineRecords(batch, { key: null, value: batch.length })),
            ),
        ],
        ['a transform that drops', (s) => s.transform(() => (source) => source.pipe(mergeMap(() => EMPTY)))],
      ];
      for (const [label, shape] of dropping) {
        it(`${label}: every input is committed, in-flight stays within maxInFlight`, async () => {
          let highest = 0;
          const { app, transport, input } = await run(
            (builder, topic, output) => {
              shape(builder.stream<string, string>(topic)).to(output);
            },
            { app: { maxInFlight: 8 } },
          );
          const sampler = setInterval(() => (highest = Math.max(highest, app.inFlight)), 1);
          try {
            await waitForCommitted(transport, app.applicationId, input, 10_000);
          } finally {
            clearInterval(sampler);
          }
          expect(highest).toBeLessThanOrEqual(8);
          expect(app.inFlight).toBe(0);
        });
      }
    });

    describe('forEach calls that never settle (defect 12)', () => {
      it('intake stops at maxInFlight behind the hung call, which times out into the dead-letter topic', async () => {
        let started = 0;
        const { app, transport, input, count } = await run(
          (builder, topic) => {
            builder.stream<string, string>(topic).forEach(
              async (_key, _value, record) => {
                started += 1;
                if (record.source.offset === 3 && record.source.partition === 0) await new Promise(() => {});
              },
              { concurrency: 4, timeoutMs: 300 },
            );
          },
          { partitions: 1, app: { maxInFlight: 10 } },
        );
        // Until the hung call times out, the window behind it is capped: the records after it finish,
        // but the commit point (and with it memory) cannot move past it.
        await new Promise((resolve) => setTimeout(resolve, 150));
        expect(started).toBeLessThanOrEqual(3 + 10);
        expect(app.inFlight).toBeLessThanOrEqual(10);
        await waitForCommitted(transport, app.applicationId, input, 10_000);
        expect(started).toBe(count);
        const [dead] = await consumeCount(transport, `${app.applicationId}-dlq`, 1);
        const headers = readDeadLetterHeaders(dead?.headers ?? {});
        expect(headers.sourceOffset).toBe('3');
        expect(headers.errorMessage).toMatch(/did not settle within 300 ms/);
      });
    });

    describe('deadLetter(): a topology step that dead-letters with a reason (defect 18)', () => {
      it('writes the original bytes with dlq headers, and the DLQ topic is as wide as the input', async () => {
        const { app, transport, input, output } = await run(
          (builder, topic, out) => {
            const { valid, invalid } = builder
              .stream<string, string>(topic)
              .split({ name: 'check' })
              .branch((_key, value) => value !== 'same', { name: 'valid' })
              .defaultBranch({ name: 'invalid' });
            valid.to(out);
            invalid.deadLetter({ name: 'reject-same', reason: (key, value) => `value ${value} of ${key} is not allowed` });
          },
          { partitions: 3, count: 40 },
        );
        await waitForCommitted(transport, app.applicationId, input, 10_000);
        const dlq = `${app.applicationId}-dlq`;
        const admin = transport.admin();
        await admin.connect();
        try {
          expect(await admin.partitionCount(dlq)).toBe(3);
        } finally {
          await admin.disconnect();
        }
        const dead = await consumeCount(transport, dlq, 10);
        expect(dead).toHaveLength(10);
        for (const record of dead) {
          expect(record.value?.toString()).toBe('"same"');
          expect(readDeadLetterHeaders(record.headers)).toMatchObject({
            errorCode: 'RECORD_REJECTED',
            errorStage: 'processing',
            node: 'reject-same',
            sourceTopic: input,
          });
          expect(readDeadLetterHeaders(record.headers).errorMessage).toMatch(/^reject-same: value same of k\d+ is not allowed$/);
        }
        expect(await consumeCount(transport, output, 30)).toHaveLength(30);
      });

      it("dead-letters even when the processing policy is 'continue'", async () => {
        const { app, transport, input } = await run(
          (builder, topic) => {
            builder.stream<string, string>(topic).filter((_k, v) => v === 'same').deadLetter();
          },
          { count: 8, app: { errorPolicy: { processing: 'continue' } } },
        );
        await waitForCommitted(transport, app.applicationId, input, 10_000);
        const dead = await consumeCount(transport, `${app.applicationId}-dlq`, 2);
        expect(readDeadLetterHeaders(dead[0]?.headers ?? {}).errorMessage).toMatch(/rejected by KSTREAM-DEADLETTER-\d+/);
      });
    });
  });
}
