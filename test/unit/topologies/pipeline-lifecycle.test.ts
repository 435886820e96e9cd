/**
 * The start/stop sequence of `npm start`: components stop in reverse order, also when the stop
 * comes in the middle of starting them, and a step given up on is still stopped once it completes.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/index.ts';
import { Lifecycle, StoppedDuringStart } from '../../../topologies/pipeline/lifecycle.ts';

function deferred<T>() {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

describe('Lifecycle', () => {
  it('stops what started, newest first', async () => {
    const life = new Lifecycle({ logger: silentLogger() });
    const stopped: string[] = [];
    for (const name of ['db', 'pool', 'app']) await life.step(name, async () => name, async (value) => void stopped.push(value));
    life.onStop('timer', async () => void stopped.push('timer'));
    expect(await life.stop()).toEqual([]);
    expect(stopped).toEqual(['timer', 'app', 'pool', 'db']);
    // Idempotent: a second stop does nothing more.
    expect(await life.stop()).toEqual([]);
    expect(stopped).toHaveLength(4);
  });

  it('gives up on the step in progress when stopped, and stops its result once it arrives', async () => {
    const life = new Lifecycle({ logger: silentLogger() });
    const stopped: string[] = [];
    const slow = deferred<string>();
    const startup = (async () => {
      await life.step('db', async () => 'db', async () => void stopped.push('db'));
      await life.step('initdb', () => slow.promise, async (value) => void stopped.push(value));
      await life.step('never', async () => 'never', async () => void stopped.push('never'));
    })();
    await new Promise((resolve) => setImmediate(resolve));
    const stopping = life.stop(startup);
    await expect(startup).rejects.toBeInstanceOf(StoppedDuringStart);
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toEqual(['db']);
    slow.resolve('initdb');
    expect(await stopping).toEqual([]);
    expect(stopped).toEqual(['db', 'initdb']);
  });

  it('refuses new steps once stopped', async () => {
    const life = new Lifecycle({ logger: silentLogger() });
    await life.stop();
    await expect(life.step('late', async () => 1)).rejects.toThrow('stopped while starting late');
  });

  it('reports a stop that fails or hangs, and still stops the rest', async () => {
    const life = new Lifecycle({ logger: silentLogger(), stopTimeoutMs: 50 });
    const stopped: string[] = [];
    life.onStop('first', async () => void stopped.push('first'));
    life.onStop('hangs', () => new Promise(() => undefined));
    life.onStop('throws', async () => {
      throw new Error('boom');
    });
    expect(await life.stop()).toEqual(['throws', 'hangs']);
    expect(stopped).toEqual(['first']);
  });
});
