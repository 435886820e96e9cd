import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { StreamsBuilder } from '../../../src/index.ts';

/** The sample topology shown in the README ("Compose a topology"). */
function sampleTopology() {
  const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
  const ratings = builder.stream<string, { userId: string; score: number }>('ratings');
  const { valid, invalid } = ratings
    .split({ name: 'check' })
    .branch((_key, rating) => rating.score >= 1 && rating.score <= 5, { name: 'valid' })
    .defaultBranch({ name: 'invalid' });
  invalid.to('ratings_dlq');
  valid
    .selectKey((_key, rating) => rating.userId)
    .repartition({ name: 'by-user' })
    .mapValues((rating) => ({ ...rating, scaled: rating.score / 5 }))
    .to('ratings_scaled');
  return builder.build();
}

describe('Topology.describe()', () => {
  it('prints sub-topologies, sources, processors and sinks as text', () => {
    expect(sampleTopology().describe().toString()).toBe(
      [
        'Topologies:',
        '  Sub-topology: 0',
        '    Source:    KSTREAM-SOURCE-0000000000 (stream, topic: ratings, serdes: string/json)',
        '      --> check',
        '    Processor: check (split)',
        '      --> check-valid, check-invalid',
        '      <-- KSTREAM-SOURCE-0000000000',
        '    Processor: check-valid (branch)',
        '      --> KSTREAM-KEY-SELECT-0000000002',
        '      <-- check',
        '    Processor: check-invalid (branch)',
        '      --> KSTREAM-SINK-0000000001',
        '      <-- check',
        '    Sink:      KSTREAM-SINK-0000000001 (to, topic: ratings_dlq, serdes: string/json)',
        '      <-- check-invalid',
        '    Processor: KSTREAM-KEY-SELECT-0000000002 (selectKey)',
        '      --> by-user-sink',
        '      <-- check-valid',
        '    Sink:      by-user-sink (repartition, topic: by-user-repartition [internal], serdes: string/json)',
        '      <-- KSTREAM-KEY-SELECT-0000000002',
        '  Sub-topology: 1',
        '    Source:    by-user-source (repartition, topic: by-user-repartition [internal], serdes: string/json)',
        '      --> KSTREAM-MAPVALUES-0000000003',
        '    Processor: KSTREAM-MAPVALUES-0000000003 (mapValues)',
        '      --> KSTREAM-SINK-0000000004',
        '      <-- by-user-source',
        '    Sink:      KSTREAM-SINK-0000000004 (to, topic: ratings_scaled, serdes: string/json)',
        '      <-- KSTREAM-MAPVALUES-0000000003',
        '',
      ].join('\n'),
    );
  });

  it('is shown in the README as it prints', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(sampleTopology().describe().toString().trimEnd());
  });

  it('returns the same facts as plain data', () => {
    const { subtopologies } = sampleTopology().describe();
    expect(subtopologies.map((sub) => sub.nodes.filter((n) => n.kind === 'source').map((n) => n.topic))).toEqual([['ratings'], ['by-user-repartition']]);
    expect(subtopologies[0]?.nodes.find((n) => n.name === 'check')?.successors).toEqual(['check-valid', 'check-invalid']);
  });

  it('draws a Mermaid flowchart with one subgraph per sub-topology and the topics between them', () => {
    const mermaid = sampleTopology().describe().toMermaid();
    expect(mermaid.startsWith('flowchart TD\n')).toBe(true);
    expect(mermaid).toContain('subgraph sub0["Sub-topology 0"]');
    expect(mermaid).toContain('subgraph sub1["Sub-topology 1"]');
    expect(mermaid).toContain('topic_ratings --> KSTREAM_SOURCE_0000000000');
    expect(mermaid).toContain('by_user_sink --> topic_by_user_repartition');
    expect(mermaid).toContain('topic_by_user_repartition --> by_user_source');
    expect(mermaid).toContain('check --> check_valid');
  });
});
