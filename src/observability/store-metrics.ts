/**
 * Size and cache metrics of state stores, read at each scrape from providers such as
 * `() => app.storeStats()`. One scrape calls each provider once, however many families it feeds
 * (a PostgreSQL store's size is a query).
 */
import type { Counter, Gauge } from 'prom-client';
import type { StoreStats } from '../runtime/state-stores.ts';
import type { MetricFactory } from './metric-factory.ts';

/** What a provider returns per store and partition: `StreamsApp.storeStats()`'s shape. */
export type StoreStatsLike = Pick<StoreStats, 'name' | 'partition' | 'approximateSize'> & {
  readonly cache: Pick<NonNullable<StoreStats['cache']>, 'hits' | 'misses' | 'evictions'> | undefined;
};

export type StoreStatsProvider = () => readonly StoreStatsLike[] | Promise<readonly StoreStatsLike[]>;

type Labels = 'app' | 'store' | 'partition';

export class StoreMetrics {
  private readonly providers = new Map<StoreStatsProvider, string>();
  private scraping: Promise<void> | undefined;
  private readonly entries: Gauge<Labels>;
  private readonly hits: Counter<Labels>;
  private readonly misses: Counter<Labels>;
  private readonly evictions: Counter<Labels>;
  private readonly hitRatio: Gauge<Labels>;

  constructor(metrics: MetricFactory) {
    const collect = () => this.scrape();
    const labels: Labels[] = ['app', 'store', 'partition'];
    this.entries = metrics.gauge({ name: 'store_entries', help: 'Live keys in a state store partition (approximate; partition -1 is a global table). The partitions of a PostgreSQL store share one table and each reports its size.', labels, collect });
    this.hits = metrics.counter({ name: 'store_cache_hits_total', help: "Lookups answered by a store's LRU cache.", labels, collect });
    this.misses = metrics.counter({ name: 'store_cache_misses_total', help: "Lookups a store's LRU cache had to pass to the store behind it.", labels, collect });
    this.evictions = metrics.counter({ name: 'store_cache_evictions_total', help: "Entries a store's LRU cache dropped to stay within its bound.", labels, collect });
    this.hitRatio = metrics.gauge({ name: 'store_cache_hit_ratio', help: 'hits / (hits + misses) of a store cache since the store opened; absent before its first lookup.', labels, collect });
  }

  watch(provider: StoreStatsProvider, app: string): () => void {
    this.providers.set(provider, app);
    return () => this.providers.delete(provider);
  }

  /** Every family of one scrape shares the one read started by the first. */
  private scrape(): Promise<void> {
    this.scraping ??= this.read().finally(() => {
      this.scraping = undefined;
    });
    return this.scraping;
  }

  private async read(): Promise<void> {
    const read = await Promise.all(
      [...this.providers].map(async ([provider, app]) => {
        try {
          return { app, stats: await provider() };
        } catch {
          // A statistics read must not fail the scrape: the store's figures are left out this time.
          return { app, stats: [] };
        }
      }),
    );
    for (const family of [this.entries, this.hits, this.misses, this.evictions, this.hitRatio]) family.reset();
    for (const { app, stats } of read) {
      for (const store of stats) {
        const labels = { app, store: store.name, partition: String(store.partition) };
        if (store.approximateSize !== undefined) this.entries.set(labels, store.approximateSize);
        const cache = store.cache;
        if (cache === undefined) continue;
        this.hits.inc(labels, cache.hits);
        this.misses.inc(labels, cache.misses);
        this.evictions.inc(labels, cache.evictions);
        if (cache.hits + cache.misses > 0) this.hitRatio.set(labels, cache.hits / (cache.hits + cache.misses));
      }
    }
  }
}
