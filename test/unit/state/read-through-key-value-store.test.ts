import { describe, expect, it } from 'vitest';
import { StateStoreError } from '../../../src/errors/streams-error.ts';
import { stringSerde } from '../../../src/serdes/index.ts';
import { InMemoryKeyValueStore, ReadThroughKeyValueStore } from '../../../src/state/index.ts';
import { deferred, type Deferred } from './store-doubles.ts';

/** A loader whose calls the test counts and settles. */
function controllableLoader() {
  const calls: Array<{ key: string; answer: Deferred<string | undefined> }> = [];
  let called = deferred<undefined>();
  const loader = (key: string) => {
    const answer = deferred<string | undefined>();
    calls.push({ key, answer });
    called.resolve(undefined);
    return answer.promise;
  };
  return {
    loader,
    calls,
    /** Resolves once the loader has been called (again). */
    nextCall: () => called.promise.then(() => {
      called = deferred<undefined>();
    }),
  };
}

async function readThrough() {
  const inner = new InMemoryKeyValueStore<string, string>({ name: 'users', keySerde: stringSerde() });
  const probe = controllableLoader();
  const store = new ReadThroughKeyValueStore(inner, { keySerde: stringSerde(), loader: probe.loader, secrets: ['s3cr3t-pw'] });
  await store.init();
  return { inner, store, ...probe };
}

describe('ReadThroughKeyValueStore', () => {
  it('loads a key the table has never carried, and not a key it holds', async () => {
    const { store, calls, nextCall } = await readThrough();
    await store.put('u1', 'from topic');
    expect(await store.get('u1')).toBe('from topic');
    expect(calls).toHaveLength(0);
    const lookup = store.get('u2');
    await nextCall();
    calls[0]?.answer.resolve('from loader');
    expect(await lookup).toBe('from loader');
    expect(calls.map((c) => c.key)).toEqual(['u2']);
  });

  it('does not store loaded values in the inner store', async () => {
    const { inner, store, calls, nextCall } = await readThrough();
    const lookup = store.get('u2');
    await nextCall();
    calls[0]?.answer.resolve('from loader');
    await lookup;
    expect(await inner.lookup('u2')).toEqual({ kind: 'unknown' });
  });

  it('answers unknown when the loader finds nothing', async () => {
    const { store, calls, nextCall } = await readThrough();
    const lookup = store.lookup('ghost');
    await nextCall();
    calls[0]?.answer.resolve(undefined);
    expect(await lookup).toEqual({ kind: 'unknown' });
  });

  it('coalesces 100 concurrent lookups of one unknown key into one loader call', async () => {
    const { store, calls, nextCall } = await readThrough();
    const lookups = Array.from({ length: 100 }, () => store.get('u9'));
    await nextCall();
    calls[0]?.answer.resolve('loaded once');
    const answers = await Promise.all(lookups);
    expect(answers).toHaveLength(100);
    expect(new Set(answers)).toEqual(new Set(['loaded once']));
    expect(calls).toHaveLength(1);
    expect(store.loadsInFlight).toBe(0);
  });

  it('never loads a key the table deleted', async () => {
    const { store, calls } = await readThrough();
    await store.put('u1', 'v1');
    await store.delete('u1');
    expect(await store.get('u1')).toBeUndefined();
    expect(await store.lookup('u1')).toEqual({ kind: 'deleted' });
    expect(calls).toHaveLength(0);
  });

  it('a load that started before a put resolves to the put value, not the loaded one (stale-load race)', async () => {
    const { store, calls, nextCall } = await readThrough();
    const lookup = store.get('u1');
    await nextCall();
    await store.put('u1', 'from topic');
    calls[0]?.answer.resolve('stale from loader');
    expect(await lookup).toBe('from topic');
    expect(await store.get('u1')).toBe('from topic');
    expect(calls).toHaveLength(1);
  });

  it('a load that started before a delete does not resurrect the key (stale-load race)', async () => {
    const { store, calls, nextCall } = await readThrough();
    const lookup = store.lookup('u1');
    await nextCall();
    await store.putAll([{ key: 'u1', value: 'v1' }, { key: 'u1', value: null }]);
    calls[0]?.answer.resolve('stale from loader');
    expect(await lookup).toEqual({ kind: 'deleted' });
    expect(await store.get('u1')).toBeUndefined();
    expect(calls).toHaveLength(1);
  });

  it('wraps a loader failure into a retriable StateStoreError with secrets scrubbed, and tries again next time', async () => {
    const { store, calls, nextCall } = await readThrough();
    const failing = store.get('u1');
    await nextCall();
    calls[0]?.answer.reject(Object.assign(new Error('connect ECONNREFUSED postgres://app:s3cr3t-pw@db:5432/users'), { code: 'ECONNREFUSED' }));
    const error = await failing.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(StateStoreError);
    expect(error).toMatchObject({ code: 'STATE_STORE_FAILED', retriable: true });
    const text = `${String((error as Error).message)} ${String(((error as Error).cause as Error).message)} ${String((error as Error).stack)}`;
    expect(text).toContain('the read-through loader failed');
    expect(text).not.toContain('s3cr3t-pw');
    const retry = store.get('u1');
    await nextCall();
    calls[1]?.answer.resolve('loaded');
    expect(await retry).toBe('loaded');
  });
});
