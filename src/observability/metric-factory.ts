/**
 * Builds metric families on one registry (never prom-client's global one), every name prefixed
 * `rating_streams_`: two apps, or two tests, in one process each get their own.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export const METRIC_PREFIX = 'rating_streams_';

interface Family<L extends string> {
  /** Without the prefix. */
  readonly name: string;
  readonly help: string;
  readonly labels: readonly L[];
  /** Runs before each scrape reads the family (e.g. to read live stats). */
  readonly collect?: () => void | Promise<void>;
}

export class MetricFactory {
  constructor(private readonly registry: Registry) {}

  counter<L extends string>(family: Family<L>): Counter<L> {
    return new Counter<L>({ ...this.common(family), ...(family.collect ? { collect: family.collect } : {}) });
  }

  gauge<L extends string>(family: Family<L>): Gauge<L> {
    return new Gauge<L>({ ...this.common(family), ...(family.collect ? { collect: family.collect } : {}) });
  }

  histogram<L extends string>(family: Family<L> & { readonly buckets: readonly number[] }): Histogram<L> {
    return new Histogram<L>({ ...this.common(family), buckets: [...family.buckets] });
  }

  private common<L extends string>(family: Family<L>): { name: string; help: string; labelNames: L[]; registers: Registry[] } {
    return { name: `${METRIC_PREFIX}${family.name}`, help: family.help, labelNames: [...family.labels], registers: [this.registry] };
  }
}

/** Sets a one-hot enum gauge: 1 for `current`, 0 for every other state. */
export function setOneHot<L extends string>(gauge: Gauge<L>, labels: Partial<Record<L, string>>, stateLabel: L, states: readonly string[], current: string): void {
  for (const state of states) gauge.set({ ...labels, [stateLabel]: state } as Partial<Record<L, string>>, state === current ? 1 : 0);
}

/** Latency buckets in seconds, 1 ms to 1 min. */
export const LATENCY_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
