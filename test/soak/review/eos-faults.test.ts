/**
 * Review 2: exactly-once and lifecycle against ordinary faults, in process, through the
 * fault-injecting TCP proxy (test/support/tcp-proxy.ts) via KafkaTransport's `routeBroker`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendFileSync } from 'node:fs';
import { KafkaTransport, StreamsApp, StreamsBuilder, silentLogger, subscribeRuntimeEvents, type AppState, type Logger } from '../../../src/index.ts';

/** With R2_DEBUG=<file>: warn/error/info lines of the app go to that file (diagnosis only). */
function debugLogger(bindings: Record<string, unknown> = {}): Logger {
  const file = process.env.R2_DEBUG;
  if (!file) return silentLogger();
  const line = (level: string) => (object: object, message?: string) =>
    appendFileSync(file, `${new Date().toISOString()} ${level} ${message ?? ''} ${JSON.stringify({ ...bindings, ...object }, (_k, v) => (v instanceof Error ? { name: v.name, message: v.message } : v))}\n`);
  return { debug: () => undefined, info: line('info'), warn: line('warn'), error: line('error'), child: (b) => debugLogger({ ...bindings, ...b }) };
}
import { outputReader, waitFor } from '../../support/app-processes.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../../support/services.ts';
import { createTopics, produce } from '../../support/streams-harness.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';

function brokerTarget(): { host: string; port: number } {
  const [host = '127.0.0.1', port = '9092'] = (kafkaBrokers()[0] ?? '').split(':');
  return { host, port: Number(port) };
}


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));


/** Diagnosis only (message of a timeout): the app's private task state. */
function internals(app: StreamsApp): string {
  const a = app as unknown as { gate?: { inFlight: number }; exactlyOnceTasks?: Map<string, Record<string, unknown>> };
  const tasks = [...(a.exactlyOnceTasks?.entries() ?? [])].map(([key, t]) => {
    const task = t.task as { progress?: { inFlight: number }; position?: number } | undefined;
    return `${key.slice(-3)}: task=${task ? `pos ${task.position} inFlight ${task.progress?.inFlight}` : 'none'} output=${t.output ? 'y' : 'n'} producer=${t.producer ? 'y' : 'n'} batches=${String(t.batches)} hold=${t.hold ? 'y' : 'n'} committed=${String(t.committed)}`;
  });
  return `gate ${a.gate?.inFlight}; ${tasks.join(' | ')}`;
}

const records = (topic: string, from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ topic, key: Buffer.from(`k${(from + i) % 31}`), value: Buffer.from(JSON.stringify({ id: from + i })) }));

describe.skipIf(!hasKafka)('review2: exactly-once and lifecycle under faults', () => {
  let proxy: TcpProxy;
  const cleanups: (() => Promise<unknown>)[] = [];
  beforeEach(async () => {
    proxy = await TcpProxy.start(brokerTarget());
  });
  afterEach(async () => {
    proxy.resume();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    await proxy.close();
  });

  // README "Exactly-once": "A failed transaction (fenced, broker away) restarts that task alone from
  // its last commit, with capped backoff, for as long as the app runs" and "Readers use
  // read_committed" with 0 duplicates / 0 loss. Connections cut repeatedly (a flaky network) must
  // leave every id exactly once in the read_committed output and the app running.
  it('connections cut every 700 ms for 12 s under continuous input: each id exactly once, app running', { timeout: 150_000 }, async () => {
    const direct = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'r2-direct', logLevel: 'nothing' });
    const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'r2-flaky', logLevel: 'nothing', routeBroker: () => proxy.address });
    const input = uniqueName('r2-cut-in');
    const output = uniqueName('r2-cut-out');
    await createTopics(direct, [
      { topic: input, partitions: 6 },
      { topic: output, partitions: 6 },
    ]);
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder.stream<string, { id: number }>(input).mapValues((v) => ({ ...v, seen: true })).to(output);
    const app = new StreamsApp(builder.build(), {
      applicationId: uniqueName('r2-cut-app'),
      transport,
      processingGuarantee: 'exactly-once',
      logger: debugLogger(),
      maxInFlight: 200,
      commitIntervalMs: 100,
      consumer: { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 10_000 },
      transactionRetryBackoff: { initialMs: 100, maxMs: 1_000 },
      shutdownTimeoutMs: 5_000,
    });
    const states: AppState[] = [];
    app.onStateChange((s) => states.push(s));
    cleanups.push(() => app.stop());
    const reader = await outputReader(direct, output);
    cleanups.push(() => reader.close());
    await app.start();
    let next = 0;
    const feed = async (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        await produce(direct, records(input, next, 20));
        next += 20;
        await sleep(25);
      }
    };
    await feed(2_000);
    const cutting = (async () => {
      const end = Date.now() + Number(process.env.R2_CUT_FOR_MS ?? 12_000);
      while (Date.now() < end) {
        await sleep(700);
        proxy.cut();
      }
    })();
    await feed(Number(process.env.R2_CUT_FOR_MS ?? 12_000));
    await cutting;
    await feed(1_000);
    const total = next;
    const lastCommit = new Map<string, string>();
    const unsubscribe = subscribeRuntimeEvents((event) => {
      if (event.type === 'commit') for (const o of event.offsets) lastCommit.set(`${o.topic.slice(-4)}[${o.partition}]`, `${o.offset}@${new Date().toISOString().slice(11, 19)}`);
    });
    cleanups.push(async () => unsubscribe());
    await waitFor(
      () => reader.hasAllBelow(total),
      Number(process.env.R2_WAIT_MS ?? 60_000),
      () => `all ${total} ids in the output; have ${reader.counts.size}, state ${app.state}, commits since the cuts: ${JSON.stringify([...lastCommit])}; internals: ${internals(app)}`,
    );
    await waitFor(() => reader.quietFor(3_000), 60_000, () => 'the output to go quiet');
    const duplicates = [...reader.counts].filter(([, n]) => n > 1);
    expect({ state: app.state, failed: states.includes('failed'), duplicates: duplicates.length, first: duplicates.slice(0, 5) }).toEqual({
      state: 'running',
      failed: false,
      duplicates: 0,
      first: [],
    });
  });

  // README "Lifecycle": "stop() may be called at any moment, also while start() runs (which then
  // rejects with code SHUTDOWN) or while tasks recover. ... the member leaves its group."
  // Expected: after each early stop() the app is 'stopped', start() settled (resolved or SHUTDOWN),
  // and no member of the stopped apps lingers: a later instance of the same application processes
  // every partition promptly.
  it('stop() at many moments during start() (exactly-once): stopped, SHUTDOWN, nobody left behind in the group', { timeout: 150_000 }, async () => {
    const direct = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'r2-direct', logLevel: 'nothing' });
    const input = uniqueName('r2-early-in');
    const output = uniqueName('r2-early-out');
    await createTopics(direct, [
      { topic: input, partitions: 4 },
      { topic: output, partitions: 4 },
    ]);
    const applicationId = uniqueName('r2-early-app');
    const make = () => {
      const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
      builder.stream<string, { id: number }>(input).to(output);
      return new StreamsApp(builder.build(), {
        applicationId,
        transport: new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'r2-early', logLevel: 'nothing' }),
        processingGuarantee: 'exactly-once',
        logger: silentLogger(),
        shutdownTimeoutMs: 5_000,
        consumer: { sessionTimeoutMs: 30_000, heartbeatIntervalMs: 1_000, rebalanceTimeoutMs: 30_000 },
      });
    };
    await produce(direct, records(input, 0, 200));
    const problems: string[] = [];
    for (const delay of [0, 1, 5, 20, 60, 150, 300, 600, 1_200, 2_500]) {
      const app = make();
      const started = app.start().then(
        () => 'resolved',
        (error: unknown) => `rejected ${(error as { code?: string }).code}`,
      );
      await sleep(delay);
      const t0 = Date.now();
      const stops = [app.stop(), app.stop()];
      const settled = await Promise.race([Promise.all(stops).then(() => 'ok'), sleep(20_000).then(() => 'stop() hung')]);
      const startOutcome = await Promise.race([started, sleep(5_000).then(() => 'start() never settled')]);
      if (settled !== 'ok' || app.state !== 'stopped' || (startOutcome !== 'resolved' && startOutcome !== 'rejected SHUTDOWN')) {
        problems.push(`delay ${delay}: stop ${settled} in ${Date.now() - t0} ms, state ${app.state}, start ${startOutcome}`);
      }
    }
    // Whatever output the early instances committed, a fresh instance must now take every partition
    // at once (no member left behind holding a partition) and finish the input.
    const reader = await outputReader(direct, output);
    cleanups.push(() => reader.close());
    const last = make();
    cleanups.push(() => last.stop());
    await last.start();
    await produce(direct, records(input, 200, 200));
    const t0 = Date.now();
    await waitFor(() => reader.hasAllBelow(400) || Date.now() - t0 > 25_000, 30_000, () => 'output');
    const missing = Array.from({ length: 400 }, (_, id) => id).filter((id) => !reader.counts.has(id));
    const duplicates = [...reader.counts].filter(([, n]) => n > 1);
    expect({ problems, missing: missing.length, firstMissing: missing.slice(0, 5), duplicates: duplicates.length }).toEqual({
      problems: [],
      missing: 0,
      firstMissing: [],
      duplicates: 0,
    });
  });
});

describe.skipIf(!hasKafka)('review2: stop() while exactly-once tasks recover', () => {
  let proxy: TcpProxy;
  beforeEach(async () => {
    proxy = await TcpProxy.start(brokerTarget());
  });
  afterEach(async () => {
    proxy.resume();
    await proxy.close();
  });

  // README "Lifecycle": "stop() may be called at any moment, also ... while tasks recover. ...
  // Every step is bounded, so an unreachable broker cannot make it hang."
  it('stop() right after the connections are cut (tasks recovering), and with the network stalled: bounded, ends stopped', { timeout: 120_000 }, async () => {
    const direct = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'r2-direct', logLevel: 'nothing' });
    const input = uniqueName('r2-rec-in');
    const output = uniqueName('r2-rec-out');
    await createTopics(direct, [
      { topic: input, partitions: 4 },
      { topic: output, partitions: 4 },
    ]);
    const results: string[] = [];
    for (const mode of ['cut', 'cut-then-stall'] as const) {
      const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
      builder.stream<string, { id: number }>(input).to(output);
      const app = new StreamsApp(builder.build(), {
        applicationId: uniqueName('r2-rec-app'),
        transport: new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'r2-rec', logLevel: 'nothing', routeBroker: () => proxy.address }),
        processingGuarantee: 'exactly-once',
        logger: silentLogger(),
        shutdownTimeoutMs: 3_000,
        transactionRetryBackoff: { initialMs: 50, maxMs: 500 },
      });
      await app.start();
      await produce(direct, records(input, 0, 400));
      await sleep(300);
      proxy.cut();
      if (mode === 'cut-then-stall') {
        await sleep(30);
        proxy.pause();
      }
      const t0 = Date.now();
      const outcome = await Promise.race([Promise.all([app.stop(), app.stop()]).then(() => 'stopped'), sleep(30_000).then(() => 'hung')]);
      results.push(`${mode}: ${outcome} in ${Date.now() - t0} ms, state ${app.state}`);
      proxy.resume();
      // Bound: shutdownTimeoutMs (3 s) plus a few 1 s step bounds.
      expect({ mode, outcome, state: app.state, fast: Date.now() - t0 < 12_000 }, results.join('; ')).toEqual({ mode, outcome: 'stopped', state: 'stopped', fast: true });
    }
  });
});
