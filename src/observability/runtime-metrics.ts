/**
 * Metrics of the stream-processing runtime, fed by its diagnostics channel (`RuntimeEvent`) and,
 * for what no event carries (in-flight records at any moment), by the apps given to `watch()`.
 */
import type { Gauge } from 'prom-client';
import type { AppState, RuntimeEvent } from '../runtime/instrumentation.ts';
import { LATENCY_BUCKETS, setOneHot, type MetricFactory } from './metric-factory.ts';

export const APP_STATES: readonly AppState[] = ['created', 'starting', 'restoring', 'running', 'stopping', 'stopped', 'failed'];

/** What the metrics read of a running app; `StreamsApp` is one. */
export interface WatchedApp {
  readonly applicationId: string;
  readonly state: AppState;
  readonly inFlight: number;
}

export class RuntimeMetrics {
  private readonly apps = new Set<WatchedApp>();
  private readonly recordsIn;
  private readonly nodeOut;
  private readonly written;
  private readonly deadLetters;
  private readonly skipped;
  private readonly latency;
  private readonly lag;
  private readonly committedOffset;
  private readonly commits;
  private readonly commitFailures;
  private readonly rebalances;
  private readonly inFlight: Gauge<'app'>;
  private readonly intakeWaits;
  private readonly state;
  private readonly errors;
  private readonly restoreRemaining;

  constructor(metrics: MetricFactory) {
    this.recordsIn = metrics.counter({ name: 'records_in_total', help: 'Input records taken in, per topic and partition (table topics included, changelogs not).', labels: ['app', 'topic', 'partition'] });
    this.nodeOut = metrics.counter({ name: 'node_records_out_total', help: 'Records a topology node passed on to its children.', labels: ['app', 'node'] });
    this.written = metrics.counter({ name: 'records_written_total', help: 'Records written to Kafka topics (outputs, repartition and changelog topics, dead letters) and acknowledged.', labels: ['app'] });
    this.deadLetters = metrics.counter({
      name: 'dead_letters_total',
      help: 'Records sent to the dead-letter topic, by failing node, stage (deserialization, processing, production) and error code.',
      labels: ['app', 'node', 'stage', 'code'],
    });
    this.skipped = metrics.counter({ name: 'records_skipped_total', help: 'Records dropped by a `continue` error policy, by node, stage and error code.', labels: ['app', 'node', 'stage', 'code'] });
    this.latency = metrics.histogram({
      name: 'record_latency_seconds',
      help: 'Time from an input record being taken in to everything derived from it being written, dead-lettered or dropped.',
      labels: ['app', 'topic'],
      buckets: LATENCY_BUCKETS,
    });
    this.lag = metrics.gauge({ name: 'consumer_lag', help: 'Records behind the high watermark in each input partition, as of the last batch read from it.', labels: ['app', 'topic', 'partition'] });
    this.committedOffset = metrics.gauge({ name: 'committed_offset', help: 'The last offset committed per input partition (the next offset to read).', labels: ['app', 'topic', 'partition'] });
    this.commits = metrics.counter({ name: 'commits_total', help: 'Offset commits (exactly-once: transactions) that succeeded.', labels: ['app'] });
    this.commitFailures = metrics.counter({ name: 'commit_failures_total', help: 'Offset commits that failed (retried at the next interval).', labels: ['app'] });
    this.rebalances = metrics.counter({ name: 'rebalances_total', help: 'Partition assignments and revocations this instance went through.', labels: ['app', 'change'] });
    this.inFlight = metrics.gauge({
      name: 'in_flight_records',
      help: 'Input records taken in and not yet done (watched apps: read at scrape).',
      labels: ['app'],
      collect: () => {
        for (const app of this.apps) this.inFlight.set({ app: app.applicationId }, app.inFlight);
      },
    });
    this.intakeWaits = metrics.counter({ name: 'intake_waits_total', help: 'Times intake waited because maxInFlight records were in flight (backpressure).', labels: ['app'] });
    this.state = metrics.gauge({ name: 'app_state', help: 'The app state: 1 for the current one (created, starting, restoring, running, stopping, stopped, failed), 0 for the others.', labels: ['app', 'state'] });
    this.errors = metrics.counter({ name: 'errors_total', help: 'Fatal errors that stopped the app.', labels: ['app'] });
    this.restoreRemaining = metrics.gauge({
      name: 'restore_remaining_offsets',
      help: 'Offsets of a table, global table or aggregation store partition still to read back before it is restored (0 once done).',
      labels: ['app', 'store', 'topic', 'partition'],
    });
  }

  /** Reads in-flight records and the state of `app` at each scrape; returns the unwatch. */
  watch(app: WatchedApp): () => void {
    this.apps.add(app);
    setOneHot(this.state, { app: app.applicationId }, 'state', APP_STATES, app.state);
    return () => this.apps.delete(app);
  }

  handle(event: RuntimeEvent): void {
    const { app } = event;
    switch (event.type) {
      case 'records.in':
        this.recordsIn.inc({ app, topic: event.topic, partition: String(event.partition) }, event.count);
        break;
      case 'node.out':
        this.nodeOut.inc({ app, node: event.node }, event.count);
        break;
      case 'records.written':
        this.written.inc({ app }, event.count);
        break;
      case 'record.completed':
        this.latency.observe({ app, topic: event.topic }, event.latencyMs / 1_000);
        break;
      case 'dead-letter':
        this.deadLetters.inc({ app, node: event.node, stage: event.stage, code: event.code });
        break;
      case 'record.skipped':
        this.skipped.inc({ app, node: event.node, stage: event.stage, code: event.code });
        break;
      case 'lag':
        this.lag.set({ app, topic: event.topic, partition: String(event.partition) }, event.lag);
        break;
      case 'commit':
        this.commits.inc({ app });
        for (const { topic, partition, offset } of event.offsets) this.committedOffset.set({ app, topic, partition: String(partition) }, offset);
        break;
      case 'commit.failed':
        this.commitFailures.inc({ app });
        break;
      case 'rebalance':
        this.rebalances.inc({ app, change: event.change });
        // A partition that moved to another instance is reported there; a stale value here would add up wrongly.
        if (event.change === 'revoked') {
          for (const { topic, partition } of event.partitions) {
            this.lag.remove({ app, topic, partition: String(partition) });
            this.committedOffset.remove({ app, topic, partition: String(partition) });
          }
        }
        break;
      case 'in-flight':
        if (event.paused) this.intakeWaits.inc({ app });
        break;
      case 'state':
        setOneHot(this.state, { app }, 'state', APP_STATES, event.to);
        break;
      case 'error':
        this.errors.inc({ app });
        break;
      case 'restore':
        this.restoreRemaining.set({ app, store: event.store, topic: event.topic, partition: String(event.partition) }, event.done ? 0 : Math.max(0, event.total - event.restored));
        break;
    }
  }
}
