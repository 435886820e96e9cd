/**
 * A record too large to dead-letter as is must not stop the app: it goes to the dead-letter topic
 * truncated, with its coordinates and the original sizes, and only a failure of that is fatal.
 */
import { describe, expect, it } from 'vitest';
import { DLQ_HEADERS, fitDeadLetter, readDeadLetterHeaders, truncateDeadLetter } from '../../../src/errors/dead-letter.ts';
import { DeserializationError, ProductionError, TransportError } from '../../../src/errors/streams-error.ts';
import { ErrorRouter } from '../../../src/runtime/error-router.ts';
import { PartitionProgress, type Lineage } from '../../../src/runtime/lineage.ts';
import { silentLogger } from '../../../src/runtime/logger.ts';
import type { RecordOutput } from '../../../src/runtime/record-output.ts';
import type { IncomingRecord, OutgoingRecord } from '../../../src/transport/transport.ts';

const raw = (valueBytes: number, keyBytes = 8): IncomingRecord => ({
  topic: 'ratings',
  partition: 2,
  offset: 41,
  key: Buffer.alloc(keyBytes, 'k'),
  value: Buffer.alloc(valueBytes, '{'),
  headers: { 'correlation-id': Buffer.from('corr-7') },
  timestamp: 1_700_000_000_000,
});

/** An output that refuses the first `refusals` writes with `error`, then acknowledges. */
class ScriptedOutput implements RecordOutput {
  readonly attempts: OutgoingRecord[] = [];
  constructor(private readonly refusals: Array<Error>) {}
  write(record: OutgoingRecord, lineage: Lineage, onError: (error: Error) => void): void {
    this.attempts.push(record);
    const error = this.refusals.shift();
    if (error !== undefined) onError(error);
    else for (const origin of lineage) origin.release();
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

function route(input: IncomingRecord, output: RecordOutput, maxDeadLetterBytes?: number) {
  const fatal: Error[] = [];
  const router = new ErrorRouter({
    app: 'app',
    policies: {},
    deadLetterTopic: 'app-dlq',
    output,
    logger: silentLogger(),
    now: () => 0,
    secrets: [],
    onFatal: (error) => fatal.push(error),
    ...(maxDeadLetterBytes === undefined ? {} : { maxDeadLetterBytes }),
  });
  const progress = new PartitionProgress(input.topic, input.partition);
  const origin = progress.track(input);
  router.handle('deserialization', 'KSTREAM-SOURCE-0000000000', [origin], new DeserializationError('not JSON'));
  return { fatal, origin };
}

const tooLarge = () =>
  new ProductionError('writing to app-dlq failed', { cause: new TransportError('MESSAGE_TOO_LARGE', { code: 'RECORD_TOO_LARGE' }) });

describe('oversized dead-letter records', () => {
  it('fitDeadLetter keeps a record that fits untouched', () => {
    const record: OutgoingRecord = { topic: 'dlq', key: Buffer.from('k'), value: Buffer.alloc(1_000) };
    expect(fitDeadLetter(record, 10_000)).toBe(record);
  });

  it('fitDeadLetter cuts value and a long key to fit, marks it and keeps the original sizes', () => {
    const record: OutgoingRecord = { topic: 'dlq', key: Buffer.alloc(5_000, 'k'), value: Buffer.alloc(1_500_000, 'v'), headers: { a: Buffer.from('b') } };
    const fitted = fitDeadLetter(record, 100_000);
    const size = (fitted.key?.length ?? 0) + (fitted.value?.length ?? 0) + Object.entries(fitted.headers ?? {}).reduce((n, [k, v]) => n + k.length + v.length, 0);
    expect(size).toBeLessThanOrEqual(100_000);
    expect(fitted.key?.length).toBe(1_024);
    expect(fitted.value?.length).toBeGreaterThan(90_000);
    expect(fitted.value?.equals(record.value?.subarray(0, fitted.value.length) ?? Buffer.alloc(0))).toBe(true);
    const headers = readDeadLetterHeaders(fitted.headers ?? {});
    expect([headers.payloadTruncated, headers.keySize, headers.valueSize]).toEqual(['true', '5000', '1500000']);
    expect(fitted.headers?.['a']?.toString()).toBe('b');
  });

  it('a second truncation keeps the sizes of the original, not of the first cut', () => {
    const once = truncateDeadLetter({ topic: 'dlq', key: null, value: Buffer.alloc(3_000) }, { keyBytes: 10, valueBytes: 1_000 });
    const twice = truncateDeadLetter(once, { keyBytes: 10, valueBytes: 0 });
    expect(twice.value?.length).toBe(0);
    expect(twice.key).toBeNull();
    expect(readDeadLetterHeaders(twice.headers ?? {}).valueSize).toBe('3000');
    expect(readDeadLetterHeaders(twice.headers ?? {}).keySize).toBe('-1');
  });

  it('the router truncates a 1.5 MB record before writing it, with every coordinate header', () => {
    const output = new ScriptedOutput([]);
    const { fatal, origin } = route(raw(1_500_000), output);
    expect(fatal).toEqual([]);
    expect(origin.isComplete).toBe(true);
    const [written] = output.attempts;
    expect(written?.value?.length).toBeLessThan(1_000_000);
    const headers = readDeadLetterHeaders(written?.headers ?? {});
    expect(headers).toMatchObject({
      payloadTruncated: 'true',
      valueSize: '1500000',
      sourceTopic: 'ratings',
      sourcePartition: '2',
      sourceOffset: '41',
      correlationId: 'corr-7',
      errorClass: 'DeserializationError',
      errorCode: 'DESERIALIZATION_FAILED',
    });
    expect(headers.errorMessage).toContain('not JSON');
  });

  it('when the output still refuses it as too large, writes it again without a value', () => {
    const output = new ScriptedOutput([tooLarge()]);
    const { fatal, origin } = route(raw(500_000), output);
    expect(fatal).toEqual([]);
    expect(origin.isComplete).toBe(true);
    expect(output.attempts).toHaveLength(2);
    const last = output.attempts[1];
    expect(last?.value?.length).toBe(0);
    expect(readDeadLetterHeaders(last?.headers ?? {})).toMatchObject({ payloadTruncated: 'true', valueSize: '500000', sourceOffset: '41' });
    expect(last?.headers?.[DLQ_HEADERS.correlationId]?.toString()).toBe('corr-7');
  });

  it('is fatal only when the record without its value is refused too, or for another reason', () => {
    const twice = route(raw(500_000), new ScriptedOutput([tooLarge(), tooLarge()]));
    expect(twice.fatal.map((error) => (error as ProductionError).code)).toEqual(['PRODUCTION_FAILED']);
    expect(twice.origin.isComplete).toBe(false);

    const other = new ScriptedOutput([new ProductionError('broker gone', { code: 'PRODUCTION_FAILED' })]);
    const { fatal } = route(raw(10), other);
    expect(fatal).toHaveLength(1);
    expect(other.attempts).toHaveLength(1);
  });
});
