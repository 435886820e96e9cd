/**
 * Store keys have one identity per key bytes: two keys share an identity exactly when their
 * serialized bytes are equal. The string serde's fast path (the string itself) must agree with
 * the bytes, and keys the serde refuses must still be refused.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonSerde, stringSerde } from '../../../src/index.ts';
import { keyIdentity } from '../../../src/state/store-key.ts';

describe('keyIdentity', () => {
  it('gives two string keys the same identity exactly when their UTF-8 bytes are equal', () => {
    const identity = keyIdentity(stringSerde(), 'users');
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        expect(identity(a) === identity(b)).toBe(Buffer.from(a, 'utf8').equals(Buffer.from(b, 'utf8')));
      }),
    );
    expect(identity('été')).not.toBe(identity('ete'));
  });

  it('refuses what the string serde refuses: a lone surrogate, a null key, a number', () => {
    const identity = keyIdentity(stringSerde(), 'users');
    expect(() => identity('a\uD800b')).toThrow(/surrogate/);
    expect(() => identity(null as unknown as string)).toThrow(/null key/);
    expect(() => identity(7 as unknown as string)).toThrow(/expected a string/);
  });

  it('identifies other keys by their serialized bytes', () => {
    const identity = keyIdentity(jsonSerde<{ id: number }>(), 'users');
    expect(identity({ id: 1 })).toBe(identity({ id: 1 }));
    expect(identity({ id: 1 })).not.toBe(identity({ id: 2 }));
  });
});
