import { describe, expect, it } from 'vitest';
import { TopologyError } from '../../../src/errors/streams-error.ts';
import { BUILT_IN_SERDE_NAMES, isSerde, resolveSerde, type Serde, Serdes } from '../../../src/serdes/index.ts';
import { expectStreamsError } from './expect-error.ts';

describe('resolving serde options', () => {
  it.each(BUILT_IN_SERDE_NAMES)('resolves the name %s to the built-in serde', (name) => {
    expect(resolveSerde(name).name).toBe(name);
  });

  it('types a resolved name by what it decodes to', () => {
    const strings: Serde<string> = resolveSerde('string');
    const bytes: Serde<Buffer> = resolveSerde('bytes');
    expect(strings.deserialize(Buffer.from('x'), 't')).toBe('x');
    expect(bytes.deserialize(Buffer.from('x'), 't')).toEqual(Buffer.from('x'));
  });

  it('returns a Serde object as it is', () => {
    const custom: Serde<number> = {
      name: 'int32',
      serialize: (value) => (value === null ? null : Buffer.from(new Int32Array([value]).buffer)),
      deserialize: (data) => (data === null ? null : data.readInt32LE(0)),
    };
    const resolved: Serde<number> = resolveSerde(custom);
    expect(resolved).toBe(custom);
    expect(resolveSerde(Serdes.json())).toBeDefined();
  });

  it('rejects an unknown name with SERDE_UNKNOWN, listing the known ones', () => {
    expectStreamsError(
      () => resolveSerde('avro' as 'json'),
      TopologyError,
      'SERDE_UNKNOWN',
      /unknown serde "avro"; known serdes: string, json, bytes, or pass a Serde object/,
    );
  });

  it('names the node and option when told them', () => {
    const error = expectStreamsError(
      () => resolveSerde('strnig' as 'string', { node: 'KSTREAM-SOURCE-0000000000', option: 'keySerde' }),
      TopologyError,
      'SERDE_UNKNOWN',
      /^KSTREAM-SOURCE-0000000000 keySerde: unknown serde "strnig"/,
    );
    expect(error.context.node).toBe('KSTREAM-SOURCE-0000000000');
  });

  it.each([
    ['undefined', undefined, /unknown serde undefined/],
    ['null', null, /unknown serde null/],
    ['an object that is not a serde', { name: 'half', serialize: () => null }, /unknown serde \(a object without name\/serialize\/deserialize\)/],
    ['a prototype property name', 'toString', /unknown serde "toString"/],
  ])('rejects %s', (_label, spec, message) => {
    expectStreamsError(() => resolveSerde(spec as unknown as 'json'), TopologyError, 'SERDE_UNKNOWN', message);
  });

  it('recognises the Serde shape', () => {
    expect(isSerde(Serdes.string())).toBe(true);
    expect(isSerde({ name: 'x', serialize: () => null })).toBe(false);
    expect(isSerde('string')).toBe(false);
  });
});
