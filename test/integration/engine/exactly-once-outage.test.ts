/**
 * Exactly-once through a 15 s broker outage, on a broker of its own (started for this test on free
 * ports, killed, and started again on the same data): the app's tasks retry with backoff while the
 * broker is gone, continue from their last commits when it is back, never put the app in `failed`,
 * and write each output once.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerAnswers, brokerOptionsFromEnv, startBroker, stopBroker, type BrokerOptions } from '../../../scripts/kafka/broker.ts';
import { StreamsApp, StreamsBuilder, silentLogger } from '../../../src/index.ts';
import type { AppState } from '../../../src/runtime/instrumentation.ts';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import { hasKafka, uniqueName } from '../../support/services.ts';
import { consumeCount, createTopics, nextEvent, produce, waitForCommitted } from '../../support/streams-harness.ts';

const OUTAGE_MS = 15_000;
const TOTAL = 4_000;

async function committedSum(transport: KafkaTransport, groupId: string, topic: string): Promise<number> {
  const admin = transport.admin();
  await admin.connect();
  try {
    return [...(await admin.committedOffsets(groupId, topic)).values()].reduce((sum, offset) => sum + offset, 0);
  } finally {
    await admin.disconnect();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Starts the broker again on its existing data (the script's start formats a fresh one). */
async function restart(options: BrokerOptions): Promise<void> {
  const lib = join(options.cacheDir, options.version, 'lib');
  const child = spawn(
    'java',
    [
      `-Xmx${options.heap}`,
      `-Xms${options.heap}`,
      '-XX:+UseG1GC',
      '-Djava.awt.headless=true',
      `-Dlog4j.configuration=file:${join(options.runDir, 'log4j.properties')}`,
      '-cp',
      `${lib}/*`,
      'kafka.Kafka',
      join(options.runDir, 'server.properties'),
    ],
    { detached: true, stdio: 'ignore' },
  );
  child.unref();
  // So that the script's stop finds and stops it.
  writeFileSync(join(options.runDir, 'broker.pid'), `${child.pid}\n`);
  const deadline = Date.now() + 90_000;
  while (!(await brokerAnswers(`127.0.0.1:${options.port}`))) {
    if (Date.now() > deadline) throw new Error('the restarted broker did not answer within 90 s');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const json = (topic: string, from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ topic, key: Buffer.from(`k${(from + i) % 7}`), value: Buffer.from(JSON.stringify({ id: from + i })) }));

describe.skipIf(!hasKafka)('exactly-once through a broker outage (a broker of its own)', () => {
  let options: BrokerOptions;
  let runDir: string;

  beforeAll(async () => {
    runDir = mkdtempSync(join(tmpdir(), 'kafka-outage-'));
    const port = await freePort();
    const controllerPort = await freePort();
    options = {
      ...brokerOptionsFromEnv({ ...process.env, KAFKA_RUN_DIR: runDir, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(controllerPort) }),
      log: () => undefined,
    };
    try {
      await startBroker(options);
    } catch (error) {
      // The script's error keeps the broker's own words apart; show them.
      throw new Error(`${(error as Error).message}\n${(error as { logTail?: string }).logTail ?? ''}`, { cause: error });
    }
  }, 120_000);

  afterAll(async () => {
    await stopBroker(options).catch(() => undefined);
    rmSync(runDir, { recursive: true, force: true });
  }, 60_000);

  it(`keeps running through a ${OUTAGE_MS / 1000} s outage and writes each output once`, { timeout: 180_000 }, async () => {
    const transport = new KafkaTransport({ brokers: [`127.0.0.1:${options.port}`], clientId: 'outage-test', logLevel: 'nothing' });
    const input = uniqueName('outage-in');
    const output = uniqueName('outage-out');
    await createTopics(transport, [
      { topic: input, partitions: 2 },
      { topic: output, partitions: 2 },
    ]);
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    const stream = builder.stream<string, { id: number }>(input);
    stream.to(output);
    // A slow side effect keeps the app busy (transactions open and committing) when the broker dies.
    stream.forEach(() => new Promise((resolve) => setTimeout(resolve, 5)), { concurrency: 1 });
    const applicationId = uniqueName('outage-app');
    const app = new StreamsApp(builder.build(), {
      applicationId,
      transport,
      processingGuarantee: 'exactly-once',
      logger: silentLogger(),
      transactionRetryBackoff: { initialMs: 200, maxMs: 2_000 },
      maxInFlight: 50,
      shutdownTimeoutMs: 10_000,
    });
    const states: AppState[] = [];
    app.onStateChange((state) => states.push(state));
    try {
      await app.start();
      await produce(transport, json(input, 0, TOTAL / 2));
      // Kill the broker in the middle of the work: after the first commits, long before the last.
      await nextEvent((event) => event.type === 'commit' && event.app === applicationId, 60_000, 'a first commit');
      expect(await committedSum(transport, applicationId, input)).toBeLessThan(TOTAL / 4);

      process.kill(Number(readFileSync(join(runDir, 'broker.pid'), 'utf8').trim()), 'SIGKILL');
      // The outage itself: nothing to wait for but time.
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      expect(app.state).toBe('running');
      await restart(options);

      await produce(transport, json(input, TOTAL / 2, TOTAL / 2));
      await waitForCommitted(transport, applicationId, input, 120_000);
      expect(states).not.toContain('failed');
      expect(app.state).toBe('running');
      const ids = (await consumeCount(transport, output, TOTAL, 60_000)).map((r) => (JSON.parse(r.value?.toString() ?? '{}') as { id: number }).id);
      expect(ids).toHaveLength(TOTAL);
      expect(new Set(ids).size).toBe(TOTAL);
    } finally {
      await app.stop();
    }
  });
});
