/**
 * Metrics of the sources and sinks beside the topology: HTTP sinks (each attempt and circuit change
 * from the connectors' diagnostics channel; retries, outcomes and waiting calls read from the
 * watched sinks), REST pollers and change-data-capture publishers (read from the watched ones at
 * each scrape).
 */
import type { Counter, Gauge } from 'prom-client';
import type { ConnectorEvent } from '../connectors/connector-events.ts';
import type { HttpCircuitState, HttpSinkHandle } from '../connectors/http-sink.ts';
import type { PollerHealth, PollerState, PollerStats } from '../connectors/rest-poller.ts';
import { LATENCY_BUCKETS, setOneHot, type MetricFactory } from './metric-factory.ts';

export const CIRCUIT_STATES: readonly HttpCircuitState[] = ['closed', 'half-open', 'open', 'isolated'];
export const POLLER_STATES: readonly PollerState[] = ['created', 'starting', 'polling', 'backing-off', 'unauthorized', 'fenced', 'stopped', 'failed'];

/** What the metrics read of a REST poller; `RestPoller` is one. */
export interface WatchedPoller {
  readonly name: string;
  readonly state: PollerState;
  stats(): PollerStats;
  health(now?: number): PollerHealth;
}

/** What the metrics read of a change-data-capture publisher; `UsersCdc` is one. */
export interface WatchedCdc {
  readonly name: string;
  readonly metrics: { readonly published: number; readonly batches: number; readonly snapshotRows: number };
}

/** Poller counters: metric name (without prefix) and help, by `PollerStats` field. */
const POLLER_COUNTERS: ReadonlyArray<readonly [keyof PollerStats, string, string]> = [
  ['requests', 'poller_requests_total', 'Requests the poller sent (each retry counts).'],
  ['pages', 'poller_pages_total', 'Pages of new items written (each in one transaction with the cursor).'],
  ['itemsEmitted', 'poller_items_emitted_total', 'Items written to Kafka (valid or dead-lettered).'],
  ['duplicatesDropped', 'poller_duplicates_dropped_total', 'Items dropped as already emitted.'],
  ['retries', 'poller_retries_total', 'Requests retried after a network error, timeout or 5xx.'],
  ['malformedResponses', 'poller_malformed_responses_total', 'Answers that were not a JSON array.'],
  ['rateLimited', 'poller_rate_limited_total', 'Answers of 429 (the poller waited for Retry-After).'],
  ['transactionsFailed', 'poller_transactions_failed_total', 'Page transactions that failed (the page is asked for again).'],
];

export class ConnectorMetrics {
  private readonly sinks = new Set<HttpSinkHandle>();
  private readonly pollers = new Set<WatchedPoller>();
  private readonly cdcs = new Set<WatchedCdc>();
  private readonly requests;
  private readonly duration;
  private readonly circuit;
  private readonly circuitOpened;
  private readonly waiting: Gauge<'sink'>;
  private readonly outcomes: Counter<'sink' | 'outcome'>;
  private readonly retries: Counter<'sink'>;
  private readonly pollerState: Gauge<'poller' | 'state'>;
  private readonly cursorAge: Gauge<'poller'>;

  constructor(metrics: MetricFactory, now: () => number) {
    this.requests = metrics.counter({ name: 'http_requests_total', help: 'HTTP sink attempts by answer status (`network`, `timeout` when there was none).', labels: ['sink', 'status'] });
    this.duration = metrics.histogram({ name: 'http_request_duration_seconds', help: 'Duration of each HTTP sink attempt.', labels: ['sink'], buckets: LATENCY_BUCKETS });
    this.circuit = metrics.gauge({ name: 'http_circuit_state', help: "An HTTP sink's circuit breaker: 1 for the current state (closed, half-open, open, isolated), 0 for the others.", labels: ['sink', 'state'] });
    this.circuitOpened = metrics.counter({ name: 'http_circuit_opened_total', help: "Times an HTTP sink's circuit opened.", labels: ['sink'] });
    this.waiting = metrics.gauge({
      name: 'http_waiting_for_circuit',
      help: 'Calls of a watched HTTP sink waiting for its circuit to close (backpressure).',
      labels: ['sink'],
      collect: () => {
        for (const sink of this.sinks) this.waiting.set({ sink: sink.name }, sink.stats().waitingForCircuit);
      },
    });
    this.outcomes = metrics.counter({
      name: 'http_deliveries_total',
      help: 'Records a watched HTTP sink delivered or failed for good (outcome delivered|failed).',
      labels: ['sink', 'outcome'],
      collect: () => {
        this.outcomes.reset();
        for (const sink of this.sinks) {
          const stats = sink.stats();
          this.outcomes.inc({ sink: sink.name, outcome: 'delivered' }, stats.delivered);
          this.outcomes.inc({ sink: sink.name, outcome: 'failed' }, stats.failed);
        }
      },
    });
    this.retries = metrics.counter({
      name: 'http_retries_total',
      help: 'Attempts a watched HTTP sink retried after a retriable failure.',
      labels: ['sink'],
      collect: () => {
        this.retries.reset();
        for (const sink of this.sinks) this.retries.inc({ sink: sink.name }, sink.stats().retries);
      },
    });
    this.pollerState = metrics.gauge({
      name: 'poller_state',
      help: 'A REST poller: 1 for the current state (created, starting, polling, backing-off, unauthorized, fenced, stopped, failed), 0 for the others.',
      labels: ['poller', 'state'],
      collect: () => {
        this.pollerState.reset();
        for (const poller of this.pollers) setOneHot(this.pollerState, { poller: poller.name }, 'state', POLLER_STATES, poller.state);
      },
    });
    this.cursorAge = metrics.gauge({
      name: 'poller_cursor_age_seconds',
      help: "Now minus the timestamp of the last item written (the poller's cursor): how far behind the source it is. Absent until there is a cursor.",
      labels: ['poller'],
      collect: () => {
        this.cursorAge.reset();
        for (const poller of this.pollers) {
          const age = poller.health(now()).cursorAgeMs;
          if (age !== undefined) this.cursorAge.set({ poller: poller.name }, age / 1_000);
        }
      },
    });
    for (const [field, name, help] of POLLER_COUNTERS) {
      const counter: Counter<'poller'> = metrics.counter({
        name,
        help,
        labels: ['poller'],
        collect: () => {
          counter.reset();
          for (const poller of this.pollers) counter.inc({ poller: poller.name }, poller.stats()[field]);
        },
      });
    }
    const cdcCounters: ReadonlyArray<readonly [keyof WatchedCdc['metrics'], string, string]> = [
      ['published', 'cdc_changes_published_total', 'Row changes (and snapshot rows) published to Kafka.'],
      ['batches', 'cdc_batches_total', 'Batches published, each in one transaction with the cursor.'],
      ['snapshotRows', 'cdc_snapshot_rows_total', 'Rows published by the initial snapshot.'],
    ];
    for (const [field, name, help] of cdcCounters) {
      const counter: Counter<'cdc'> = metrics.counter({
        name,
        help,
        labels: ['cdc'],
        collect: () => {
          counter.reset();
          for (const cdc of this.cdcs) counter.inc({ cdc: cdc.name }, cdc.metrics[field]);
        },
      });
    }
  }

  handle(event: ConnectorEvent): void {
    switch (event.type) {
      case 'http.request':
        this.requests.inc({ sink: event.sink, status: event.status });
        this.duration.observe({ sink: event.sink }, event.durationMs / 1_000);
        break;
      case 'http.circuit':
        setOneHot(this.circuit, { sink: event.sink }, 'state', CIRCUIT_STATES, event.state);
        if (event.state === 'open') this.circuitOpened.inc({ sink: event.sink });
        break;
    }
  }

  watchHttpSink(sink: HttpSinkHandle): () => void {
    this.sinks.add(sink);
    setOneHot(this.circuit, { sink: sink.name }, 'state', CIRCUIT_STATES, sink.stats().circuit);
    this.circuitOpened.inc({ sink: sink.name }, 0);
    return () => this.sinks.delete(sink);
  }

  watchPoller(poller: WatchedPoller): () => void {
    this.pollers.add(poller);
    return () => this.pollers.delete(poller);
  }

  watchCdc(cdc: WatchedCdc): () => void {
    this.cdcs.add(cdc);
    return () => this.cdcs.delete(cdc);
  }
}
