import { describe, expect, it } from 'vitest';
import type { NodeDescription, SubtopologyDescription } from '../../../src/index.ts';
import { mermaidLabel, renderMermaid } from '../../../src/topology/mermaid.ts';
import { productRatingTrends } from '../../../topologies/product-rating-trends.ts';

function node(name: string, kind: NodeDescription['kind'], type: string, successors: string[], extra: Partial<NodeDescription> = {}): NodeDescription {
  return { name, kind, type, successors, predecessors: [], ...extra };
}

/** The ids declared by `id[`, `id(`, `id[/`, `id[(`, `id[[` at the start of a line, and the subgraph ids. */
function declaredIds(chart: string): string[] {
  return chart
    .split('\n')
    .map((line) => /^\s*(?:subgraph\s+)?([A-Za-z0-9_]+)[[(]/.exec(line)?.[1])
    .filter((id): id is string => id !== undefined);
}

/** Every `a --> b` and `a -.- b` as [a, b]. */
const edges = (chart: string) => [...chart.matchAll(/^\s*(\S+) (?:-->|-\.-) (\S+)$/gm)].map((m) => [m[1], m[2]]);

describe('renderMermaid', () => {
  it('draws each sub-topology as a subgraph of its nodes, with topics between sub-topologies and stores beside their nodes', () => {
    const chart = productRatingTrends().describe().toMermaid();
    const lines = chart.split('\n');
    expect(lines[0]).toBe('flowchart TD');
    expect(lines.filter((l) => l.startsWith('  subgraph '))).toEqual(['  subgraph sub0["Sub-topology 0"]', '  subgraph sub1["Sub-topology 1"]']);
    expect(lines.filter((l) => l === '  end')).toHaveLength(2);
    // Sources are stadiums, sinks parallelograms, processors boxes, topics cylinders, stores subroutines.
    expect(chart).toContain('    ratings_source(["ratings-source<br/>stream"])');
    expect(chart).toContain('    stats_sink[/"stats-sink<br/>to"/]');
    expect(chart).toContain('    low_average["low-average<br/>filter"]');
    expect(chart).toContain('  topic_ratings[("ratings")]');
    expect(chart).toContain('  store_product_rating_window_store[["store: product-rating-window-store"]]');
    // The repartition topic is one node: written by sub-topology 0, read by 1, drawn dashed as internal.
    expect(edges(chart)).toEqual(
      expect.arrayContaining([
        ['topic_ratings', 'ratings_source'],
        ['ratings_by_product_sink', 'topic_ratings_by_product_repartition'],
        ['topic_ratings_by_product_repartition', 'ratings_by_product_source'],
        ['stats_sink', 'topic_product_rating_stats'],
        ['alerts_sink', 'topic_rating_alerts'],
        ['product_rating_window', 'store_product_rating_window_store'],
        ['to_stats', 'low_average'],
      ]),
    );
    expect(chart).toContain('  class topic_ratings_by_product_repartition internalTopic');
    // Every id is declared once, and every edge joins declared ids.
    const ids = declaredIds(chart);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [from, to] of edges(chart)) expect(ids, `${from} --> ${to}`).toEqual(expect.arrayContaining([from, to]));
  });

  it('gives names that clean up alike, or clash with keywords and subgraph ids, ids of their own', () => {
    const sub: SubtopologyDescription = {
      id: 0,
      nodes: [
        node('a-b', 'source', 'stream', ['a.b'], { topic: 'in' }),
        node('a.b', 'processor', 'map', ['end']),
        node('end', 'processor', 'filter', ['sub0']),
        node('sub0', 'sink', 'to', [], { topic: 'a-b' }),
      ],
    };
    const chart = renderMermaid({ subtopologies: [sub] });
    const ids = declaredIds(chart);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(['sub0', 'a_b', 'a_b_2', 'n_end', 'sub0_2', 'topic_in', 'topic_a_b']);
    expect(edges(chart)).toEqual(
      expect.arrayContaining([
        ['a_b', 'a_b_2'],
        ['a_b_2', 'n_end'],
        ['n_end', 'sub0_2'],
        ['sub0_2', 'topic_a_b'],
      ]),
    );
    expect(chart).not.toMatch(/^\s*end\[/m);
  });

  it('escapes what Mermaid would read inside a label', () => {
    expect(mermaidLabel('say "hi" <b> #1')).toBe('say #quot;hi#quot; #lt;b#gt; #35;1');
    const chart = renderMermaid({ subtopologies: [{ id: 0, nodes: [node('x"<y>', 'processor', 'map', [])] }] });
    expect(chart).toContain('x__y_["x#quot;#lt;y#gt;<br/>map"]');
  });

  it('marks a global sub-topology and draws no class line when no topic is internal', () => {
    const chart = renderMermaid({ subtopologies: [{ id: 2, global: true, nodes: [node('products', 'source', 'globalTable', [], { topic: 'products', store: 'products' })] }] });
    expect(chart).toContain('subgraph sub2["Sub-topology 2 (global)"]');
    expect(chart).toContain('products -.- store_products');
    expect(chart).not.toContain('classDef');
  });
});
