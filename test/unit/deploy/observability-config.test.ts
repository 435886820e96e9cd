import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { StreamsMetrics } from '../../../src/observability/index.ts';
import { z } from 'zod';
import { CLI, DOCKER_DIR, PROCESSES } from '../../support/deploy/repo.ts';
import { asList, loadCompose } from '../../support/deploy/compose.ts';

const prometheusText = readFileSync(join(DOCKER_DIR, 'prometheus/prometheus.yml'), 'utf8');
const prometheus = z
  .object({
    global: z.object({ scrape_interval: z.string(), evaluation_interval: z.string() }).strict(),
    scrape_configs: z.array(
      z
        .object({
          job_name: z.string(),
          static_configs: z.array(z.object({ targets: z.array(z.string()) }).strict()).optional(),
          dns_sd_configs: z.array(z.object({ names: z.array(z.string()), type: z.literal('A'), port: z.number() }).strict()).optional(),
        })
        .strict(),
    ),
  })
  .strict()
  .parse(parse(prometheusText));

const panelSchema = z.object({
  title: z.string(),
  type: z.string(),
  datasource: z.object({ type: z.literal('prometheus'), uid: z.string() }),
  targets: z.array(z.object({ expr: z.string(), datasource: z.object({ uid: z.string() }) })).min(1),
});
const dashboard = z
  .object({ uid: z.string(), title: z.string(), panels: z.array(panelSchema).min(1) })
  .parse(JSON.parse(readFileSync(join(DOCKER_DIR, 'grafana/dashboards/rating-streams.json'), 'utf8')));

const datasources = z
  .object({ apiVersion: z.literal(1), datasources: z.array(z.object({ uid: z.string(), type: z.string(), url: z.string() })) })
  .parse(parse(readFileSync(join(DOCKER_DIR, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8')));
const providers = z
  .object({ apiVersion: z.literal(1), providers: z.array(z.object({ type: z.literal('file'), options: z.object({ path: z.string() }) })) })
  .parse(parse(readFileSync(join(DOCKER_DIR, 'grafana/provisioning/dashboards/rating-streams.yml'), 'utf8')));

const compose = loadCompose();

/** The metric names listed in prometheus.yml's comment (`# metric: <name> ...`). */
const listed = [...prometheusText.matchAll(/^# metric: (\S+)/gm)].map((m) => m[1] ?? '');

/** Metric names a PromQL expression reads, a histogram's `_bucket`/`_sum`/`_count` series folded into its name. */
const metricsIn = (expr: string) => [...expr.matchAll(/\brating_streams_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''));

describe('Prometheus and Grafana for the compose stack', () => {
  it('scrapes every pipeline process at its OPS_PORT, by compose service name', () => {
    const scraped = new Map<string, number>();
    for (const job of prometheus.scrape_configs) {
      for (const target of job.static_configs?.flatMap((c) => c.targets) ?? []) {
        const [host, port] = target.split(':');
        scraped.set(host ?? '', Number(port));
      }
      for (const sd of job.dns_sd_configs ?? []) for (const name of sd.names) scraped.set(name, sd.port);
    }
    const processServices = Object.entries(compose).filter(([, s]) => PROCESSES.some((p) => JSON.stringify(asList(s.command)) === JSON.stringify(['run', p.topology])));
    expect(processServices).toHaveLength(PROCESSES.length);
    for (const [name, service] of processServices) {
      expect(scraped.get(name), name).toBe(Number(service.environment?.['OPS_PORT']));
      expect(service.entrypoint, `${name} runs the image's CLI entrypoint ${CLI.join(' ')}`).toBeUndefined();
    }
    expect([...scraped.keys()].sort()).toEqual(processServices.map(([name]) => name).sort());
  });

  it('lists in prometheus.yml exactly the rating_streams_ metrics the dashboard queries', () => {
    expect(listed).toContain('rating_streams_dead_letters_total');
    expect(listed.every((name) => name.startsWith('rating_streams_'))).toBe(true);
    const used = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricsIn(t.expr))));
    expect([...used].sort()).toEqual([...listed].sort());
  });

  it('queries only metrics the engine exports (StreamsMetrics)', async () => {
    const metrics = new StreamsMetrics();
    try {
      const exported = new Set(metrics.registry.getMetricsAsArray().map((metric) => metric.name));
      expect(listed.filter((name) => !exported.has(name))).toEqual([]);
    } finally {
      metrics.close();
    }
  });

  it('has a panel for throughput, lag, dead letters, latency and sink errors', () => {
    const byTitle = new Map(dashboard.panels.map((p) => [p.title, p.targets.map((t) => t.expr).join(' ')]));
    expect(byTitle.get('Throughput')).toContain('rate(rating_streams_records_in_total');
    expect(byTitle.get('Consumer lag')).toContain('rating_streams_consumer_lag');
    expect(byTitle.get('Dead letters')).toMatch(/sum by \([^)]*stage, code\) \(rate\(rating_streams_dead_letters_total/);
    expect(byTitle.get('Processing latency')).toContain('histogram_quantile(0.99, sum by (le');
    expect(byTitle.get('HTTP sink errors')).toContain('rating_streams_http_requests_total{status!~"2.."}');
  });

  it('wires Grafana to the compose Prometheus and loads the dashboard from where compose mounts it', () => {
    const [source] = datasources.datasources;
    expect(new URL(source?.url ?? '').hostname).toBe('prometheus');
    expect(Object.keys(compose)).toContain('prometheus');
    for (const panel of dashboard.panels) {
      expect(panel.datasource.uid, panel.title).toBe(source?.uid);
      for (const target of panel.targets) expect(target.datasource.uid, panel.title).toBe(source?.uid);
    }
    const mount = compose['grafana']?.volumes?.find((v) => v.startsWith('./grafana/dashboards:'));
    expect(mount?.split(':')[1]).toBe(providers.providers[0]?.options.path);
  });
});
