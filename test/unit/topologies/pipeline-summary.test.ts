/**
 * `npm start`'s summary line: how dead letters are grouped, how the users table's numbers are
 * aggregated over partitions, the line's format, and the reader that counts the topics.
 */
import { describe, expect, it } from 'vitest';
import { DLQ_HEADERS, MemoryTransport, type Headers, type OutgoingRecord, type StoreStats } from '../../../src/index.ts';
import { deadLetterReason, formatSummary, parseSummary, tableSummary, type PipelineSnapshot } from '../../../topologies/pipeline/summary.ts';
import { TopicCounter } from '../../../topologies/pipeline/topic-counter.ts';
import { createTopics, produce } from '../../support/streams-harness.ts';

const headers = (fields: Record<string, string>): Headers => Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, Buffer.from(v)]));
const letter = (code: string, stage: string, node = 'some-node') => headers({ [DLQ_HEADERS.errorCode]: code, [DLQ_HEADERS.errorStage]: stage, [DLQ_HEADERS.node]: node });

describe('deadLetterReason', () => {
  it('groups dead letters coarsely by their dlq headers', () => {
    const http = new Set(['ai-agent']);
    // The ingest's invalid ratings are stage deserialization, code VALIDATION_FAILED: a rule, not bytes.
    expect(deadLetterReason(letter('VALIDATION_FAILED', 'deserialization', 'openclaw-ingest'), http)).toBe('validation');
    expect(deadLetterReason(letter('RECORD_REJECTED', 'processing', 'invalid-rating'), http)).toBe('validation');
    expect(deadLetterReason(letter('DESERIALIZATION_FAILED', 'deserialization', 'ratings-source'), http)).toBe('deserialization');
    expect(deadLetterReason(letter('SINK_FAILED', 'production', 'ai-agent'), http)).toBe('http');
    expect(deadLetterReason(letter('TIMED_OUT', 'production', 'ai-agent'), http)).toBe('http');
    expect(deadLetterReason(letter('TIMED_OUT', 'production', 'enriched-sink'), http)).toBe('other');
    expect(deadLetterReason(letter('PROCESSING_FAILED', 'processing'), http)).toBe('other');
    expect(deadLetterReason({}, http)).toBe('other');
  });
});

describe('tableSummary', () => {
  const stats = (backend: StoreStats['backend'], sizes: Array<number | undefined>, hits: number, misses: number): StoreStats[] =>
    sizes.map((approximateSize, partition) => ({ name: 'users', partition, backend, approximateSize, cache: { hits, misses, evictions: 0, size: 0, bytes: 0 } }));

  it('sums in-memory partitions and the cache counters of all of them', () => {
    const summary = tableSummary([...stats('memory', [10, 20, 30], 30, 10), { name: 'other', partition: 0, backend: 'memory', approximateSize: 99, cache: undefined }], 'users');
    expect(summary).toEqual({ size: 60, hitRatio: 90 / 120 });
  });

  it('counts a PostgreSQL table once: its partitions share it and each reports all of it', () => {
    expect(tableSummary(stats('postgres', [3000, 3000, 2999], 5, 5), 'users')).toEqual({ size: 3000, hitRatio: 0.5 });
  });

  it('says it does not know rather than guess', () => {
    expect(tableSummary([], 'users')).toEqual({ size: undefined, hitRatio: undefined });
    expect(tableSummary(stats('memory', [undefined, undefined], 0, 0), 'users')).toEqual({ size: undefined, hitRatio: undefined });
    expect(tableSummary(stats('memory', [undefined, 7], 0, 0), 'users').size).toBe(7);
  });
});

describe('formatSummary', () => {
  const snapshot: PipelineSnapshot = {
    elapsedMs: 15_400,
    ingested: 1482,
    enriched: 1470,
    deadLetters: { validation: 41, deserialization: 0, http: 2, other: 1 },
    aiPosts: { ok: 1468, retried: 29 },
    users: { size: 3000, hitRatio: 0.97849 },
    lag: 3,
  };

  it('prints one line of key=value fields', () => {
    expect(formatSummary(snapshot)).toBe(
      't=15s ingested=1482 enriched=1470 dead-lettered=44 (validation=41 deserialization=0 http=2 other=1) ai-ok=1468 ai-retried=29 users=3000 cache-hit=97.8% lag=3',
    );
  });

  it('marks what is not known yet', () => {
    const line = formatSummary({ ...snapshot, users: { size: undefined, hitRatio: undefined }, lag: undefined });
    expect(line).toContain(' users=? cache-hit=- lag=?');
  });

  it('reads back as numbers', () => {
    expect(parseSummary(formatSummary(snapshot))).toEqual({ ingested: 1482, enriched: 1470, deadLettered: 44, aiOk: 1468 });
    expect(parseSummary('rating pipeline: running')).toBeUndefined();
  });
});

describe('TopicCounter', () => {
  const record = (topic: string, key: string, extra: Partial<OutgoingRecord> = {}): OutgoingRecord => ({ topic, key: Buffer.from(key), value: Buffer.from('{}'), ...extra });

  async function until(condition: () => boolean): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it('counts what arrives after it started, dead letters by reason, and the records a group has not consumed', async () => {
    const transport = new MemoryTransport();
    await createTopics(transport, ['ratings', 'enriched', 'dlq', 'dlq2'].map((topic) => ({ topic, partitions: 2 })));
    // Written before the counter starts: not this run's.
    await produce(transport, [record('ratings', 'old-1', { partition: 0 }), record('enriched', 'old-1')]);

    const counter = new TopicCounter({ transport, ingestedTopic: 'ratings', enrichedTopic: 'enriched', deadLetterTopics: ['dlq', 'dlq2'], httpNodes: new Set(['ai-agent']) });
    await counter.start();
    try {
      await produce(transport, [
        ...['r1', 'r2', 'r3'].map((key) => record('ratings', key, { partition: 0 })),
        ...['r4', 'r5'].map((key) => record('ratings', key, { partition: 1 })),
        record('enriched', 'r1'),
        record('dlq', 'x1', { headers: letter('VALIDATION_FAILED', 'deserialization') }),
        record('dlq', 'x2', { headers: letter('SINK_FAILED', 'production', 'ai-agent') }),
        record('dlq2', 'x3', { headers: letter('DESERIALIZATION_FAILED', 'deserialization') }),
      ]);
      await until(() => counter.counts().ingested === 5 && counter.counts().enriched === 1 && counter.counts().deadLetters.deserialization === 1);
      expect(counter.counts()).toEqual({ ingested: 5, enriched: 1, deadLetters: { validation: 1, deserialization: 1, http: 1, other: 0 } });

      // Partition 0 holds old-1 (offset 0) then r1..r3 (1..3); partition 1 holds r4, r5 (0..1).
      expect(counter.unconsumed(new Map())).toBe(6); // nothing committed: the old record too
      expect(counter.unconsumed(new Map([[0, 2], [1, 0]]))).toBe(4); // r2, r3, r4, r5
      expect(counter.unconsumed(new Map([[0, 4], [1, 2]]))).toBe(0);
    } finally {
      await counter.stop();
    }
  });
});
