/**
 * The kafkajs read_committed fix on a fetch response as the broker sends it: aborted transactions
 * listed out of first-offset order, two producers interleaved in one partition. kafkajs' own filter
 * (run here on the same input) delivers aborted records; the fixed one hides exactly those.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { hideAbortedRecords, installAbortedFilterFix } from '../../../src/transport/kafka/aborted-filter-fix.ts';

const require = createRequire(import.meta.url);
const kafkajsFilter = require('kafkajs/src/consumer/filterAbortedMessages.js') as (args: { messages: unknown[]; abortedTransactions: unknown[] }) => Array<{ offset: string }>;

const COMMIT = Buffer.from([0, 0, 0, 1]);
const ABORT = Buffer.from([0, 0, 0, 0]);
type Message = { offset: string; key: Buffer | null; isControlRecord: boolean; batchContext: { producerId: string; inTransaction: boolean } };
const data = (offset: number, producerId: string): Message => ({ offset: String(offset), key: Buffer.from('k'), isControlRecord: false, batchContext: { producerId, inTransaction: true } });
const marker = (offset: number, producerId: string, key: Buffer): Message => ({ offset: String(offset), key, isControlRecord: true, batchContext: { producerId, inTransaction: true } });

/** Producer 200 aborts 121..124 (marker 127); producer 197 aborts 125..126 (marker 128); producer 300 commits 119..120 and 129. */
function partition() {
  const messages: Message[] = [
    data(119, '300'), data(120, '300'), data(121, '200'), data(122, '200'), data(123, '200'), data(124, '200'),
    data(125, '197'), data(126, '197'), marker(127, '200', ABORT), marker(128, '197', ABORT), data(129, '300'), marker(130, '300', COMMIT),
  ];
  // Not in first-offset order, as brokers send it.
  const abortedTransactions = [{ producerId: '197', firstOffset: '125' }, { producerId: '200', firstOffset: '121' }];
  return { messages, abortedTransactions };
}

const delivered = (messages: Message[]) => messages.filter((m) => !m.isControlRecord).map((m) => Number(m.offset));

describe('read_committed: aborted transactions listed out of order', () => {
  it('kafkajs alone delivers aborted records (the bug this fixes)', () => {
    const { messages, abortedTransactions } = partition();
    const kept = kafkajsFilter({ messages, abortedTransactions }).filter((m) => !(m as unknown as Message).isControlRecord).map((m) => Number(m.offset));
    expect(kept).toContain(121);
  });

  it('the fix hides exactly the aborted records and keeps every committed one', () => {
    const p = partition();
    expect(hideAbortedRecords(p)).toBe(6);
    expect(delivered(p.messages)).toEqual([119, 120, 129]);
    expect(p.abortedTransactions).toEqual([]);
    // kafkajs' own filter then has nothing to do and keeps the same records.
    expect(kafkajsFilter(p).filter((m) => !(m as unknown as Message).isControlRecord).map((m) => Number(m.offset))).toEqual([119, 120, 129]);
  });

  it('activates every aborted transaction already begun when the fetch starts mid-way', () => {
    const p = partition();
    p.messages = p.messages.filter((m) => Number(m.offset) >= 124);
    hideAbortedRecords(p);
    expect(delivered(p.messages)).toEqual([129]);
  });

  it('is installed on kafkajs 2.2.4', () => {
    expect(installAbortedFilterFix()).toBe(true);
  });
});
