import { describe, expect, it } from 'vitest';
import { DeserializationError, SerializationError } from '../../../src/errors/streams-error.ts';
import { Serdes, stringSerde } from '../../../src/serdes/index.ts';
import { expectStreamsError } from './expect-error.ts';

const serde = stringSerde();

describe('string serde', () => {
  it('is named string and is what Serdes.string() returns', () => {
    expect(serde.name).toBe('string');
    expect(Serdes.string()).toBe(serde);
  });

  it.each([
    ['ascii', 'hello'],
    ['the empty string', ''],
    ['accents and CJK', 'crème brûlée 評価'],
    ['astral code points (emoji)', '⭐️⭐️⭐️ 👍🏽'],
    ['a NUL character', 'a\u0000b'],
  ])('round-trips %s as UTF-8', (_label, text) => {
    const bytes = serde.serialize(text, 'ratings');
    expect(bytes).toEqual(Buffer.from(text, 'utf8'));
    expect(serde.deserialize(bytes, 'ratings')).toBe(text);
  });

  it('passes null through both ways (a tombstone)', () => {
    expect(serde.serialize(null, 'users')).toBeNull();
    expect(serde.deserialize(null, 'users')).toBeNull();
  });

  it('keeps the empty string distinct from null', () => {
    expect(serde.serialize('', 't')).toEqual(Buffer.alloc(0));
    expect(serde.deserialize(Buffer.alloc(0), 't')).toBe('');
  });

  it('rejects bytes that are not UTF-8 instead of replacing them with U+FFFD', () => {
    const error = expectStreamsError(
      () => serde.deserialize(Buffer.from([0x61, 0xc3, 0x28]), 'ratings'),
      DeserializationError,
      'DESERIALIZATION_FAILED',
      /Cannot deserialize string from topic "ratings": payload is not valid UTF-8.*\(payload 3 bytes: 61c328\)/,
    );
    expect(error.cause).toBeInstanceOf(TypeError);
    expect(error.context).toEqual({ topic: 'ratings' });
  });

  it.each([
    ['a truncated multi-byte sequence', [0xe2, 0x82]],
    ['an overlong encoding', [0xc0, 0xaf]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ])('rejects %s', (_label, bytes) => {
    expect(() => serde.deserialize(Buffer.from(bytes), 't')).toThrow(DeserializationError);
  });

  it('rejects a string with a lone surrogate, which has no UTF-8 form', () => {
    expectStreamsError(
      () => serde.serialize('ok \uD83D then', 't'),
      SerializationError,
      'SERIALIZATION_FAILED',
      /lone UTF-16 surrogate at index 3/,
    );
  });

  it('rejects a value that is not a string, naming its kind', () => {
    expectStreamsError(() => serde.serialize(42 as unknown as string, 't'), SerializationError, 'SERIALIZATION_FAILED', /expected a string, got integer/);
  });

  it('shows at most 16 bytes of a bad payload', () => {
    const payload = Buffer.concat([Buffer.from('secret-'.repeat(20)), Buffer.from([0xff])]);
    const error = expectStreamsError(() => serde.deserialize(payload, 't'), DeserializationError, 'DESERIALIZATION_FAILED', /141 bytes: /);
    expect(error.message).toContain(`${payload.subarray(0, 16).toString('hex')}…`);
    expect(error.message).not.toContain(payload.subarray(0, 17).toString('hex'));
    expect(error.message).not.toContain('secret-secret');
  });
});

describe('string serde and byte-order marks', () => {
  it('keeps a leading U+FEFF, which the platform decoder would drop by default', () => {
    const serde = stringSerde();
    for (const text of ['\ufeff', '\ufeffabc', 'a\ufeff']) {
      expect(serde.deserialize(serde.serialize(text, 't'), 't')).toBe(text);
    }
  });
});
