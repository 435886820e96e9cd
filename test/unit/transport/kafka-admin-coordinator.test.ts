/**
 * A group coordinator that is not ready yet (a broker just started, the offsets topic still
 * loading) answers NOT_COORDINATOR_FOR_GROUP and the like; kafkajs' admin asks once. The transport's
 * admin asks again for a few seconds before it gives up, and never retries other errors.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Admin, Kafka } from 'kafkajs';
import { TransportError } from '../../../src/errors/streams-error.ts';
import { KafkaAdmin } from '../../../src/transport/kafka/kafka-admin.ts';
import type { ResolvedKafkaOptions } from '../../../src/transport/kafka/options.ts';

/** What kafkajs throws for a protocol error: its shape, not its class (kafkajs does not export them to ESM). */
const protocolError = (type: string, retriable: boolean) => Object.assign(new Error(`broker said ${type}`), { name: 'KafkaJSProtocolError', type, retriable });

function adminAnswering(answers: Array<() => unknown>): { admin: KafkaAdmin; calls: () => number } {
  let calls = 0;
  const fake = {
    fetchOffsets: async () => {
      const answer = answers[Math.min(calls, answers.length - 1)];
      calls += 1;
      return answer?.();
    },
  };
  const shared: ResolvedKafkaOptions = {
    clientId: 'coordinator-test',
    redact: (text) => text,
    onRequest: undefined,
    maxRequestBytes: 1_000_000,
    // Only fetchOffsets is called by committedOffsets; the rest of the kafkajs API is not needed here.
    kafka: () => ({ admin: () => fake as unknown as Admin }) as unknown as Kafka,
  };
  return { admin: new KafkaAdmin(shared), calls: () => calls };
}

const offsets = [{ topic: 't', partitions: [{ partition: 0, offset: '7' }, { partition: 1, offset: '-1' }] }];

describe('KafkaAdmin.committedOffsets and a coordinator that is not ready', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each(['NOT_COORDINATOR_FOR_GROUP', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS'])('asks again after %s and answers once the coordinator does', async (type) => {
    const { admin, calls } = adminAnswering([
      () => Promise.reject(protocolError(type, true)),
      () => Promise.reject(protocolError(type, true)),
      () => offsets,
    ]);
    expect(await admin.committedOffsets('g', 't')).toEqual(new Map([[0, 7]]));
    expect(calls()).toBe(3);
  });

  it('gives up after 8 attempts over a few seconds of a coordinator that never answers, with the coordinator error', async () => {
    vi.useFakeTimers();
    const { admin, calls } = adminAnswering([() => Promise.reject(protocolError('NOT_COORDINATOR_FOR_GROUP', true))]);
    const outcome = admin.committedOffsets('g', 't').then(
      () => undefined,
      (e: unknown) => e,
    );
    await vi.runAllTimersAsync();
    const error = await outcome;
    expect(error).toBeInstanceOf(TransportError);
    expect(error).toMatchObject({ retriable: true });
    expect((error as Error).message).toContain('NOT_COORDINATOR_FOR_GROUP');
    expect((error as Error).message).toContain('committedOffsets of group "g" on topic "t"');
    expect(calls()).toBe(8);
  });

  it('does not ask again after any other error', async () => {
    const { admin, calls } = adminAnswering([() => Promise.reject(protocolError('GROUP_AUTHORIZATION_FAILED', false))]);
    await expect(admin.committedOffsets('g', 't')).rejects.toThrow(/GROUP_AUTHORIZATION_FAILED/);
    expect(calls()).toBe(1);
  });
});
