/**
 * How kafkajs failures become `TransportError`s, on real kafkajs error objects shaped the way
 * kafkajs' retriers wrap them. Needs no broker.
 */
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { TransportError } from '../../../src/errors/streams-error.ts';
import { isGroupMembershipError, wrapKafkaError } from '../../../src/transport/kafka/errors.ts';

function protocolError(type: string, retriable: boolean): Error {
  return new kafkajs.KafkaJSProtocolError(Object.assign(new Error(`broker said ${type}`), { type, code: 1, retriable }));
}

/** What kafkajs' retrier throws after a non-retriable error: a wrapper with the original as cause. */
function nonRetriableWrapper(cause: Error): Error {
  const wrapper = new kafkajs.KafkaJSNonRetriableError(cause);
  Object.assign(wrapper, { cause });
  return wrapper;
}

describe('wrapKafkaError', () => {
  it('names the operation and the protocol error, keeps the original as cause and copies retriable', () => {
    const original = protocolError('UNKNOWN_TOPIC_OR_PARTITION', true);

    const wrapped = wrapKafkaError(original, 'endOffsets of topic "orders"', { context: { topic: 'orders' } });

    expect(wrapped).toBeInstanceOf(TransportError);
    expect(wrapped.message).toBe('endOffsets of topic "orders" failed (UNKNOWN_TOPIC_OR_PARTITION): broker said UNKNOWN_TOPIC_OR_PARTITION');
    expect(wrapped.cause).toBe(original);
    expect(wrapped.retriable).toBe(true);
    expect(wrapped.code).toBe('TRANSPORT_FAILED');
    expect(wrapped.context).toEqual({ topic: 'orders' });
    expect(wrapKafkaError(protocolError('TOPIC_AUTHORIZATION_FAILED', false), 'send').retriable).toBe(false);
  });

  it('makes commits that failed because the group moved on retriable, however kafkajs wrapped them', () => {
    for (const type of ['ILLEGAL_GENERATION', 'REBALANCE_IN_PROGRESS', 'UNKNOWN_MEMBER_ID']) {
      const thrown = nonRetriableWrapper(protocolError(type, false));

      const wrapped = wrapKafkaError(thrown, 'commit of orders[0]@5 for group "g"', { code: 'COMMIT_FAILED' });

      expect(isGroupMembershipError(thrown), type).toBe(true);
      expect(wrapped.retriable, type).toBe(true);
      expect(wrapped.code).toBe('COMMIT_FAILED');
      expect(wrapped.message).toContain(type);
    }
  });

  it('judges an exhausted kafkajs retry by what failed underneath', () => {
    const connection = new kafkajs.KafkaJSConnectionError('Connection refused', { broker: '127.0.0.1:1' });
    const exhausted = new kafkajs.KafkaJSNumberOfRetriesExceeded(connection, { retryCount: 5, retryTime: 100 });
    expect(exhausted.retriable).toBe(false);

    expect(wrapKafkaError(exhausted, 'connect of producer "p"').retriable).toBe(true);
  });

  it('scrubs secrets from the message and leaves a TransportError as it is', () => {
    const wrapped = wrapKafkaError(new Error('auth failed for password=hunter22'), 'connect', {
      redact: (text) => text.replace('hunter22', '[REDACTED]'),
    });
    expect(wrapped.message).not.toContain('hunter22');
    expect(wrapped.retriable).toBe(false);

    expect(wrapKafkaError(wrapped, 'anything else')).toBe(wrapped);
  });
});
