/**
 * Hostile review: stop() (e.g. SIGTERM through stopOnSignals(), installed before start() as in the
 * README example) arriving while start() is still running.
 */
import { describe, expect, it } from 'vitest';
import { MemoryTransport, StreamsApp, StreamsBuilder, silentLogger } from '../../../src/index.ts';
import { uniqueName } from '../../support/names.ts';
import { createTopics, produce } from '../../support/streams-harness.ts';

describe('review: stop() during start()', () => {
  // README "Graceful shutdown": "(stop(), or SIGTERM/SIGINT with stopOnSignals()): intake stops,
  // in-flight records get up to shutdownTimeoutMs to finish, what is done is committed, the member
  // leaves its group." The README example installs stopOnSignals() before `await app.start()`.
  it('an app stopped while starting ends stopped and processes nothing afterwards', async () => {
    const transport = new MemoryTransport();
    const input = uniqueName('in');
    const output = uniqueName('out');
    await createTopics(transport, [
      { topic: input, partitions: 1 },
      { topic: output, partitions: 1 },
    ]);
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder.stream<string, string>(input).to(output);
    const app = new StreamsApp(builder.build(), { applicationId: uniqueName('app'), transport, logger: silentLogger(), commitIntervalMs: 20, shutdownTimeoutMs: 1_000 });
    const starting = app.start();
    const stopping = app.stop(); // SIGTERM while starting
    const [started] = await Promise.allSettled([starting, stopping]);
    await produce(transport, [{ topic: input, key: Buffer.from('k'), value: Buffer.from(JSON.stringify('after-stop')) }]);
    await new Promise((r) => setTimeout(r, 500));
    const written = transport.broker.read(output, 0, 0).length;
    const state = app.state;
    // A second instance of the same application must be able to take the partition over.
    const next = new StreamsApp(builder.build(), { applicationId: app.applicationId, transport, logger: silentLogger(), commitIntervalMs: 20, shutdownTimeoutMs: 1_000 });
    await next.start();
    const deadline = Date.now() + 3_000;
    while (transport.broker.read(output, 0, 0).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const writtenByNext = transport.broker.read(output, 0, 0).length;
    await next.stop();
    await app.stop();
    // observed: start() resolves, the app reports 'running' for ever after stop() resolved, does nothing
    expect({ start: started.status, state, written, writtenByNext }).toEqual({ start: 'rejected', state: 'stopped', written: 0, writtenByNext: 1 });
  }, 15_000);
});
