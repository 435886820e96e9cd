/**
 * Hostile review (pipeline): `subscribeRatingsEnriched` on the in-memory log.
 *
 * Its docs: `onInvalid` is "called (and awaited) for each record that does not decode, in its place
 * in the order"; "Order: per partition, in offset order"; `stop()` "lets the record being handled
 * finish, commits what was handled, leaves the group"; at-least-once, nothing skipped unseen.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ratingEnrichedSerde, type RatingEnriched } from '../../../src/connectors/openclaw/rating-enriched.ts';
import { subscribeRatingsEnriched, type RatingsEnrichedSubscription, type SubscribeRatingsEnrichedOptions } from '../../../src/connectors/index.ts';
import { MemoryTransport } from '../../../src/transport/memory/index.ts';
import type { OutgoingRecord } from '../../../src/transport/transport.ts';

const TOPIC = 'ratings_enriched';
const serde = ratingEnrichedSerde();
const event = (n: number): RatingEnriched => ({ id: `r${n}`, productId: 'p1', userId: 'u1', score: 3, comment: null, timestamp: 1_700_000_000_000 + n, userProfile: null, enrichedAt: 1_800_000_000_000 });
const good = (n: number): OutgoingRecord => ({ topic: TOPIC, partition: 0, key: Buffer.from(`r${n}`), value: serde.serialize(event(n), TOPIC) });
const bad = (n: number): OutgoingRecord => ({ topic: TOPIC, partition: 0, key: Buffer.from(`r${n}`), value: Buffer.from('not avro at all') });

describe('review: subscribeRatingsEnriched', () => {
  let transport: MemoryTransport;
  const subscriptions: RatingsEnrichedSubscription[] = [];
  const subscribe = async (options: Record<string, unknown>) => {
    const subscription = await subscribeRatingsEnriched({ transport, groupId: 'downstream', fromBeginning: true, ...options } as unknown as SubscribeRatingsEnrichedOptions);
    subscriptions.push(subscription);
    return subscription;
  };
  const setUp = (records: readonly OutgoingRecord[]) => {
    transport = new MemoryTransport({ onError: () => undefined });
    transport.broker.createTopic({ topic: TOPIC, partitions: 1 });
    transport.broker.appendAll(records);
  };
  afterEach(async () => {
    await Promise.all(subscriptions.splice(0).map((s) => s.stop()));
  });

  // In batch mode the invalid record at offset 2 is reported before the valid records at offsets 0
  // and 1 are handed to onBatch: a consumer that quarantines and acts in order (e.g. "the last thing
  // seen for this partition") sees offset 2 before offsets 0 and 1.
  // Known break, not fixed yet (README, known limits): `it.fails` turns red once it is fixed.
  it.fails('in batch mode, reports an invalid record in its place in the offset order', async () => {
    setUp([good(0), good(1), bad(2), good(3)]);
    const seen: number[] = [];
    await subscribe({
      onBatch: (records: ReadonlyArray<{ meta: { offset: number } }>) => void seen.push(...records.map((r) => r.meta.offset)),
      onInvalid: (record: { offset: number }) => void seen.push(record.offset),
    });
    const deadline = Date.now() + 3_000;
    while (seen.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual([0, 1, 2, 3]);
  });

  it('stop() during a slow handler lets it finish, commits it, and a restart resumes right after it', async () => {
    setUp([good(0), good(1), good(2), good(3)]);
    const handled: string[] = [];
    let release: () => void = () => undefined;
    let inSecond: () => void = () => undefined;
    const reachedSecond = new Promise<void>((resolve) => (inSecond = resolve));
    const first = await subscribe({
      onEvent: async (e: RatingEnriched) => {
        if (e.id === 'r1') {
          inSecond();
          await new Promise<void>((r) => (release = r));
        }
        handled.push(e.id);
      },
      onInvalid: () => undefined,
    });
    await reachedSecond;
    const stopping = first.stop();
    setTimeout(() => release(), 200);
    await stopping;
    await first.done;
    const committed = transport.broker.committedOffsets('downstream', TOPIC).get(0);
    const again: string[] = [];
    await subscribe({ onEvent: (e: RatingEnriched) => void again.push(e.id), onInvalid: () => undefined });
    const deadline = Date.now() + 3_000;
    while (again.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect({ handled, committed, again }).toEqual({ handled: ['r0', 'r1'], committed: 2, again: ['r2', 'r3'] });
  });

  // A second member joins the group while the first is in the middle of a batch (a rebalance).
  // At-least-once: every record is handled by someone, none skipped.
  it('loses nothing when a rebalance happens mid-batch', async () => {
    transport = new MemoryTransport({ onError: () => undefined });
    transport.broker.createTopic({ topic: TOPIC, partitions: 2 });
    const records: OutgoingRecord[] = [];
    for (let n = 0; n < 40; n++) records.push({ ...good(n), partition: n % 2 });
    transport.broker.appendAll(records);
    const handled = new Set<string>();
    const slow = async (e: RatingEnriched) => {
      await new Promise((r) => setTimeout(r, 20));
      handled.add(e.id);
    };
    await subscribe({ onEvent: slow, onInvalid: () => undefined, clientId: 'a' });
    await new Promise((r) => setTimeout(r, 150));
    await subscribe({ onEvent: slow, onInvalid: () => undefined, clientId: 'b' });
    const deadline = Date.now() + 8_000;
    while (handled.size < 40 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(handled.size).toBe(40);
  });
});
