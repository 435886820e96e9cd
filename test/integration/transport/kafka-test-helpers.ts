/**
 * Shared pieces of the Kafka transport tests: a transport on the run's broker whose log lines are
 * kept for assertions, random topics, and waiting on events instead of sleeping.
 */
import { KafkaTransport, type KafkaTransportOptions } from '../../../src/transport/kafka/index.ts';
import { kafkaBrokers, uniqueName } from '../../support/services.ts';

export interface TestTransport {
  readonly transport: KafkaTransport;
  /** Every log line the transport wrote, as parsed JSON. */
  readonly logs: Record<string, unknown>[];
}

export function testTransport(options: Partial<KafkaTransportOptions> = {}): TestTransport {
  const logs: Record<string, unknown>[] = [];
  const transport = new KafkaTransport({
    brokers: kafkaBrokers(),
    clientId: uniqueName('transport-test'),
    writeLog: (line) => {
      logs.push(JSON.parse(line) as Record<string, unknown>);
      if (process.env['KAFKA_TEST_LOG']) process.stderr.write(`${line}\n`);
    },
    ...options,
  });
  return { transport, logs };
}

/** Creates a fresh topic and returns its name. */
export async function createTopic(transport: KafkaTransport, partitions = 1, prefix = 'transport'): Promise<string> {
  const topic = uniqueName(prefix);
  const admin = transport.admin();
  await admin.connect();
  try {
    await admin.createTopics([{ topic, partitions }]);
  } finally {
    await admin.disconnect();
  }
  return topic;
}

export { produce } from '../../support/streams-harness.ts';

export function text(value: string): Buffer {
  return Buffer.from(value, 'utf8');
}

/**
 * An append-only list of events that a test can wait on: `waitFor` resolves as soon as the
 * predicate holds, or fails after the timeout saying what was seen.
 */
export class EventLog<T> {
  readonly events: T[] = [];
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  push(event: T): void {
    this.events.push(event);
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.check()) return true;
      waiter.resolve();
      return false;
    });
  }

  waitFor(predicate: (events: readonly T[]) => boolean, description: string, timeoutMs = 60_000): Promise<void> {
    if (predicate(this.events)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter.resolve !== done);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${description}; saw ${JSON.stringify(this.events)}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ check: () => predicate(this.events), resolve: done });
    });
  }
}
