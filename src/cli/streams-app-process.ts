/**
 * What every Streams app process does around its topology: a Kafka transport, the `StreamsApp`,
 * its metrics and checks registered with the host, and an end when the app fails.
 */
import type { HealthCheck } from '../observability/health-checks.ts';
import type { Topology } from '../topology/topology.ts';
import { EXIT } from './exit-codes.ts';
import type { ProcessEnd, ProcessHost, RunningProcess } from './pipeline-process.ts';

export interface StreamsAppProcessOptions {
  /** Names the process in logs and messages. */
  readonly name: string;
  readonly topology: Topology;
  readonly brokers: readonly string[];
  readonly applicationId: string;
  readonly processingGuarantee: 'exactly-once' | 'at-least-once';
  readonly deadLetterTopic: string;
  /** Secrets the topology holds (a token of an HTTP sink), scrubbed from dead letters and checks. */
  readonly secrets?: readonly string[];
  /** More readiness checks (e.g. an HTTP sink's circuit). */
  readonly ready?: readonly HealthCheck[];
  /** Runs after the app stopped (e.g. closing a database pool). */
  readonly afterStop?: () => Promise<void>;
}

export async function runStreamsAppProcess(options: StreamsAppProcessOptions, host: ProcessHost): Promise<RunningProcess> {
  const [{ KafkaTransport }, { StreamsApp }, ops] = await Promise.all([
    import('../transport/kafka/index.ts'),
    import('../runtime/streams-app.ts'),
    import('../observability/index.ts'),
  ]);
  const secrets = options.secrets ?? [];
  const transport = new KafkaTransport({ brokers: options.brokers, clientId: options.name, logLevel: 'nothing' });
  const app = new StreamsApp(options.topology, {
    applicationId: options.applicationId,
    transport,
    processingGuarantee: options.processingGuarantee,
    deadLetterTopic: options.deadLetterTopic,
    logger: host.logger(options.name),
    secrets,
  });
  host.metrics.watchApp(app);
  host.metrics.watchStores(() => app.storeStats(), app.applicationId);
  const ended = new Promise<ProcessEnd>((resolve) => {
    app.onStateChange((state) => {
      if (state === 'failed') resolve({ code: EXIT.failure, reason: app.error?.message ?? 'the app failed' });
    });
  });
  // Registered before the start, so /readyz says 503 while tables and stores are restored.
  host.register({
    name: options.name,
    checks: { live: [ops.appAlive(app, secrets)], ready: [ops.appReady(app), ops.brokerConnected(transport), ...(options.ready ?? [])] },
    stop: async () => {
      try {
        await app.stop();
      } finally {
        await options.afterStop?.();
      }
    },
  });
  await app.start();
  return { ended };
}
