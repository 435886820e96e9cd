import { describe, expect, it } from 'vitest';
import { assignPartitions } from '../../../src/transport/memory/sticky-assignor.ts';
import type { TopicPartition } from '../../../src/transport/transport.ts';

const tps = (topic: string, count: number): TopicPartition[] => Array.from({ length: count }, (_, partition) => ({ topic, partition }));
const numbers = (assigned: readonly TopicPartition[] | undefined) => (assigned ?? []).map((tp) => `${tp.topic}-${tp.partition}`);

describe('sticky partition assignor', () => {
  it('balances to within one partition, in join order', () => {
    const result = assignPartitions(
      ['a', 'b', 'c'].map((memberId) => ({ memberId, topics: ['t'], owned: [] })),
      tps('t', 4),
    );
    expect(numbers(result.get('a'))).toEqual(['t-0', 't-3']);
    expect(numbers(result.get('b'))).toEqual(['t-1']);
    expect(numbers(result.get('c'))).toEqual(['t-2']);
  });

  it('moves only what balance needs when a member joins, and gives the newcomer its share', () => {
    const result = assignPartitions(
      [
        { memberId: 'a', topics: ['t'], owned: tps('t', 2) },
        { memberId: 'b', topics: ['t'], owned: tps('t', 4).slice(2) },
        { memberId: 'c', topics: ['t'], owned: [] },
      ],
      tps('t', 4),
    );
    expect(numbers(result.get('a'))).toEqual(['t-0', 't-1']);
    expect(numbers(result.get('b'))).toEqual(['t-2']);
    expect(numbers(result.get('c'))).toEqual(['t-3']);
  });

  it('keeps the survivors’ partitions when a member leaves', () => {
    const result = assignPartitions(
      [
        { memberId: 'a', topics: ['t'], owned: [{ topic: 't', partition: 0 }, { topic: 't', partition: 3 }] },
        { memberId: 'c', topics: ['t'], owned: [{ topic: 't', partition: 2 }] },
      ],
      tps('t', 4),
    );
    expect(numbers(result.get('a'))).toEqual(['t-0', 't-3']);
    expect(numbers(result.get('c'))).toEqual(['t-1', 't-2']);
  });

  it('gives each member only topics it subscribes to, and drops partitions that no longer exist', () => {
    const result = assignPartitions(
      [
        { memberId: 'a', topics: ['x'], owned: [{ topic: 'gone', partition: 0 }] },
        { memberId: 'b', topics: ['x', 'y'], owned: [] },
      ],
      [...tps('x', 2), ...tps('y', 2)],
    );
    expect(numbers(result.get('a'))).toEqual(['x-0', 'x-1']);
    expect(numbers(result.get('b'))).toEqual(['y-0', 'y-1']);
  });

  it('returns an empty assignment for every member when there is nothing to assign', () => {
    const result = assignPartitions([{ memberId: 'a', topics: ['t'], owned: [] }], []);
    expect(result).toEqual(new Map([['a', []]]));
  });
});
