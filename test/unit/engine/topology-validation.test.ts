import { describe, expect, it } from 'vitest';
import { StreamsBuilder, TopologyError, type Serde } from '../../../src/index.ts';

function buildError(build: (builder: StreamsBuilder) => void, options: ConstructorParameters<typeof StreamsBuilder>[0] = {}): TopologyError {
  const builder = new StreamsBuilder(options);
  build(builder);
  try {
    builder.build();
  } catch (error) {
    expect(error).toBeInstanceOf(TopologyError);
    return error as TopologyError;
  }
  throw new Error('build() did not throw');
}

describe('topology validation at build time', () => {
  it('names the node and the option of an unknown serde', () => {
    const error = buildError((b) => b.stream('in', { keySerde: 'string', valueSerde: 'jsn' as 'json' }).to('out', { keySerde: 'string', valueSerde: 'json' }));
    expect(error.code).toBe('SERDE_UNKNOWN');
    expect(error.message).toContain('KSTREAM-SOURCE-0000000000');
    expect(error.message).toContain('valueSerde');
    expect(error.message).toContain('json');
  });

  it('names the sink whose serde is missing and says how to give one', () => {
    const error = buildError((b) => b.stream('in', { keySerde: 'string', valueSerde: 'json' }).to('out', { name: 'write-out' }));
    expect(error.code).toBe('TOPOLOGY_INVALID');
    expect(error.message).toMatch(/write-out: option keySerde is missing/);
  });

  it('rejects a sink with no topic', () => {
    const error = buildError((b) => b.stream('in').mapValues((v) => v, { name: 'm' }).to('', { name: 'nowhere' }), { defaultKeySerde: 'string', defaultValueSerde: 'string' });
    expect(error.message).toMatch(/nowhere: option topic is empty/);
  });

  it('rejects a cycle through a topic the topology both writes and reads', () => {
    const error = buildError(
      (b) => {
        b.stream('loop').mapValues((v) => v, { name: 'again' }).to('loop', { name: 'back' });
      },
      { defaultKeySerde: 'string', defaultValueSerde: 'string' },
    );
    expect(error.message).toMatch(/cycle \(.*again.*back.*\)/);
  });

  it('rejects two nodes with the same name and a topic read twice', () => {
    const options = { defaultKeySerde: 'string', defaultValueSerde: 'string' } as const;
    expect(buildError((b) => b.stream('in').mapValues((v) => v, { name: 'x' }).mapValues((v) => v, { name: 'x' }).to('o'), options).message).toMatch(/x: two nodes share this name/);
    expect(
      buildError((b) => {
        b.stream('in').to('a');
        b.stream('in').to('b');
      }, options).message,
    ).toMatch(/topic in is already read by KSTREAM-SOURCE-0000000000/);
  });

  it('rejects a forEach concurrency that is not a positive whole number', () => {
    const error = buildError((b) => b.stream('in').forEach(async () => {}, { name: 'sink', concurrency: 0 }), { defaultKeySerde: 'string', defaultValueSerde: 'string' });
    expect(error.message).toMatch(/sink: option concurrency must be a whole number >= 1/);
  });

  it('accepts a Serde object and reports its name in describe()', () => {
    const upper: Serde<string> = {
      name: 'upper',
      serialize: (value) => (value === null ? null : Buffer.from(value.toUpperCase())),
      deserialize: (data) => (data === null ? null : data.toString()),
    };
    const builder = new StreamsBuilder({ defaultKeySerde: 'string' });
    builder.stream<string, string>('in', { valueSerde: upper }).to('out', { valueSerde: upper });
    expect(builder.build().describe().toString()).toContain('serdes: string/upper');
  });
});
