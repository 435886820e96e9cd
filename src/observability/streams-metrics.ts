/**
 * Prometheus metrics for apps, stores and connectors in this process, on a registry of their own.
 *
 * Runtime and HTTP-sink events arrive through the diagnostics channels, so every app in the
 * process is counted (labelled `app`) from the moment this object exists, unless `apps` narrows it;
 * what no event carries (in-flight records, store sizes, poller state) is read at each scrape from
 * what you `watch…()`.
 *
 * @example
 * const metrics = new StreamsMetrics({ processMetrics: true });
 * metrics.watchApp(app);
 * metrics.watchStores(() => app.storeStats(), app.applicationId);
 * const text = await metrics.metrics(); // Prometheus text format
 */
import { Registry, collectDefaultMetrics } from 'prom-client';
import { subscribeConnectorEvents } from '../connectors/connector-events.ts';
import type { HttpSinkHandle } from '../connectors/http-sink.ts';
import { subscribeRuntimeEvents } from '../runtime/instrumentation.ts';
import { ConnectorMetrics, type WatchedCdc, type WatchedPoller } from './connector-metrics.ts';
import { METRIC_PREFIX, MetricFactory } from './metric-factory.ts';
import { RuntimeMetrics, type WatchedApp } from './runtime-metrics.ts';
import { StoreMetrics, type StoreStatsProvider } from './store-metrics.ts';

export interface StreamsMetricsOptions {
  /** Count runtime events of these application ids only; default every app in the process. */
  readonly apps?: readonly string[];
  /** Also export Node.js process metrics (CPU, memory, event-loop lag, GC) with the same prefix; default false. */
  readonly processMetrics?: boolean;
  /** Labels added to every series, e.g. `{ instance: hostname() }`. */
  readonly defaultLabels?: Readonly<Record<string, string>>;
  /** The clock of the poller's cursor age; default `Date.now`. */
  readonly now?: () => number;
}

export class StreamsMetrics {
  /** This object's own registry; prom-client's global one is never touched. */
  readonly registry = new Registry();
  private readonly runtime: RuntimeMetrics;
  private readonly connectors: ConnectorMetrics;
  private readonly stores: StoreMetrics;
  private readonly unsubscribe: Array<() => void> = [];

  constructor(options: StreamsMetricsOptions = {}) {
    if (options.defaultLabels) this.registry.setDefaultLabels({ ...options.defaultLabels });
    const factory = new MetricFactory(this.registry);
    this.runtime = new RuntimeMetrics(factory);
    this.connectors = new ConnectorMetrics(factory, options.now ?? Date.now);
    this.stores = new StoreMetrics(factory);
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
    const apps = options.apps === undefined ? undefined : new Set(options.apps);
    this.unsubscribe.push(
      subscribeRuntimeEvents((event) => {
        if (apps === undefined || apps.has(event.app)) this.runtime.handle(event);
      }),
      subscribeConnectorEvents((event) => this.connectors.handle(event)),
    );
  }

  /** The `Content-Type` of `metrics()`. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text format. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** In-flight records and the state of `app`, read at each scrape. Returns the unwatch. */
  watchApp(app: WatchedApp): () => void {
    return this.runtime.watch(app);
  }

  /** Store sizes and cache counters from `provider` (e.g. `() => app.storeStats()`), labelled `app`. Returns the unwatch. */
  watchStores(provider: StoreStatsProvider, app: string): () => void {
    return this.stores.watch(provider, app);
  }

  /** Circuit, waiting calls, deliveries and retries of an HTTP sink (what `toHttp()` returns). Returns the unwatch. */
  watchHttpSink(sink: HttpSinkHandle): () => void {
    return this.connectors.watchHttpSink(sink);
  }

  /** State, cursor age and counters of a REST poller. Returns the unwatch. */
  watchPoller(poller: WatchedPoller): () => void {
    return this.connectors.watchPoller(poller);
  }

  /** Counters of a change-data-capture publisher (`UsersCdc`). Returns the unwatch. */
  watchCdc(cdc: WatchedCdc): () => void {
    return this.connectors.watchCdc(cdc);
  }

  /** Stops listening to the channels (the hot path is free again once nobody else listens). */
  close(): void {
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe();
  }
}
