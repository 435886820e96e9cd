import { describe, expect, it } from 'vitest';
import { StateStoreError } from '../../../src/errors/streams-error.ts';
import { isRetriable, stateStoreFailure } from '../../../src/state/store-error.ts';

describe('stateStoreFailure', () => {
  it('wraps an error into a StateStoreError whose message, cause and stack hold no secret', () => {
    const pgError = Object.assign(new Error('connection to postgres://app:hunter22@db/app failed, password=hunter22'), { code: '08006', client: { password: 'hunter22' } });
    const error = stateStoreFailure('users', 'reading a key', pgError, ['hunter22']);
    expect(error).toBeInstanceOf(StateStoreError);
    expect(error).toMatchObject({ code: 'STATE_STORE_FAILED', retriable: true });
    expect(error.message).toMatch(/^State store "users": reading a key failed: connection to postgres:\/\/app:\[REDACTED\]@db/);
    const cause = error.cause as Error & { code?: string };
    expect(cause.code).toBe('08006');
    expect(JSON.stringify({ message: error.message, stack: error.stack, cause, causeMessage: cause.message, causeStack: cause.stack })).not.toContain('hunter22');
  });

  it('calls lost connections and conflicts retriable, and bad SQL or data not', () => {
    expect(isRetriable(Object.assign(new Error('x'), { code: '57P01' }))).toBe(true);
    expect(isRetriable(Object.assign(new Error('x'), { code: '40001' }))).toBe(true);
    expect(isRetriable(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isRetriable(Object.assign(new Error('x'), { code: '42P01' }))).toBe(false);
    expect(isRetriable(Object.assign(new Error('x'), { code: '22P02' }))).toBe(false);
    expect(isRetriable(new TypeError('cannot read properties of undefined'))).toBe(false);
  });
});
