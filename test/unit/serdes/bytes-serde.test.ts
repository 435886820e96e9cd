import { describe, expect, it } from 'vitest';
import { SerializationError } from '../../../src/errors/streams-error.ts';
import { bytesSerde, Serdes } from '../../../src/serdes/index.ts';
import { expectStreamsError } from './expect-error.ts';

const serde = bytesSerde();

describe('bytes serde', () => {
  it('is named bytes and is what Serdes.bytes() returns', () => {
    expect(serde.name).toBe('bytes');
    expect(Serdes.bytes()).toBe(serde);
  });

  it('passes buffers through untouched, including empty ones and invalid UTF-8', () => {
    for (const bytes of [Buffer.alloc(0), Buffer.from([0xff, 0x00, 0xfe]), Buffer.from('text')]) {
      expect(serde.serialize(bytes, 't')).toBe(bytes);
      expect(serde.deserialize(bytes, 't')).toBe(bytes);
    }
  });

  it('passes null through both ways', () => {
    expect(serde.serialize(null, 't')).toBeNull();
    expect(serde.deserialize(null, 't')).toBeNull();
  });

  it('accepts a plain Uint8Array as a view over the same memory', () => {
    const backing = new Uint8Array([9, 1, 2, 3, 9]);
    const view = backing.subarray(1, 4);
    const bytes = serde.serialize(view as Buffer, 't');
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect([...(bytes ?? [])]).toEqual([1, 2, 3]);
    expect(bytes?.buffer).toBe(backing.buffer);
  });

  it('rejects values that are not bytes', () => {
    expectStreamsError(() => serde.serialize('text' as unknown as Buffer, 't'), SerializationError, 'SERIALIZATION_FAILED', /expected a Buffer or Uint8Array, got string/);
  });
});
