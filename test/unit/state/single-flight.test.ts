import { describe, expect, it } from 'vitest';
import { SingleFlight } from '../../../src/state/single-flight.ts';
import { deferred, type Deferred } from './store-doubles.ts';

describe('SingleFlight', () => {
  it('runs one load for concurrent callers of one key, and a new one once it settled', async () => {
    const flights = new SingleFlight<string>();
    let loads = 0;
    const answer = deferred<string>();
    const load = () => {
      loads++;
      return answer.promise;
    };
    const results = [flights.run('k', load), flights.run('k', load), flights.run('k', load)];
    expect(flights.size).toBe(1);
    answer.resolve('v');
    expect(await Promise.all(results)).toEqual([0, 1, 2].map(() => ({ value: 'v', fresh: true })));
    expect(flights.size).toBe(0);
    await flights.run('k', load);
    expect(loads).toBe(2);
  });

  it('runs an invalidated load again, and calls onFresh only with a result no write overtook', async () => {
    const flights = new SingleFlight<string>();
    const answers: Array<Deferred<string>> = [deferred(), deferred()];
    let loads = 0;
    const fresh: string[] = [];
    const result = flights.run('k', () => answers[loads++]?.promise ?? Promise.reject(new Error('too many loads')), (value) => fresh.push(value));
    flights.invalidate('k');
    answers[0]?.resolve('old');
    await Promise.resolve();
    answers[1]?.resolve('new');
    expect(await result).toEqual({ value: 'new', fresh: true });
    expect(fresh).toEqual(['new']);
    expect(loads).toBe(2);
  });

  it('gives up after maxAttempts loads that writes kept overtaking, marking the result not fresh', async () => {
    const flights = new SingleFlight<number>({ maxAttempts: 3 });
    let loads = 0;
    const fresh: number[] = [];
    const result = await flights.run(
      'k',
      async () => {
        loads++;
        flights.invalidate('k');
        return loads;
      },
      (value) => fresh.push(value),
    );
    expect(result).toEqual({ value: 3, fresh: false });
    expect(fresh).toEqual([]);
  });

  it('an invalidation of another key does not disturb a load', async () => {
    const flights = new SingleFlight<string>();
    const answer = deferred<string>();
    let loads = 0;
    const result = flights.run('a', () => {
      loads++;
      return answer.promise;
    });
    flights.invalidate('b');
    answer.resolve('v');
    expect(await result).toEqual({ value: 'v', fresh: true });
    expect(loads).toBe(1);
  });

  it('passes a failed load to every caller and forgets it', async () => {
    const flights = new SingleFlight<string>();
    const answer = deferred<string>();
    const results = [flights.run('k', () => answer.promise), flights.run('k', () => answer.promise)];
    answer.reject(new Error('boom'));
    for (const result of results) await expect(result).rejects.toThrow('boom');
    expect(flights.size).toBe(0);
  });
});
