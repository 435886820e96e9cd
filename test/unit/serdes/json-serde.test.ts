import { describe, expect, it } from 'vitest';
import { DeserializationError, SerializationError } from '../../../src/errors/streams-error.ts';
import { jsonSerde, Serdes } from '../../../src/serdes/index.ts';
import { expectStreamsError } from './expect-error.ts';

interface User {
  readonly id: string;
  readonly name: string;
}

function isUser(value: unknown): value is User {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return typeof candidate.id === 'string' && typeof candidate.name === 'string';
}

function parseUser(value: unknown): User {
  if (!isUser(value)) throw new Error('a user needs string id and name');
  return { id: value.id, name: value.name.trim() };
}

const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');

describe('json serde', () => {
  const serde = jsonSerde();

  it('is named json, also from Serdes.json()', () => {
    expect(serde.name).toBe('json');
    expect(Serdes.json().name).toBe('json');
  });

  it.each([
    ['an object', { id: 'u1', tags: ['a', 'b'], nested: { n: 1.5, ok: true, none: null } }],
    ['unicode text', { text: 'crème brûlée 評価 👍🏽' }],
    ['the empty string', ''],
    ['an empty array', []],
    ['a number', 42],
    ['false', false],
  ])('round-trips %s', (_label, value) => {
    const bytes = serde.serialize(value, 't');
    expect(bytes).toEqual(utf8(JSON.stringify(value)));
    expect(serde.deserialize(bytes, 't')).toEqual(value);
  });

  it('passes null through both ways, and decodes the payload null to null', () => {
    expect(serde.serialize(null, 't')).toBeNull();
    expect(serde.deserialize(null, 't')).toBeNull();
    expect(serde.deserialize(utf8('null'), 't')).toBeNull();
    expect(serde.deserialize(utf8(' null\n'), 't')).toBeNull();
  });

  it('escapes lone surrogates so the output is still valid UTF-8 and round-trips', () => {
    const value = { text: 'half \uD800 pair' };
    expect(serde.deserialize(serde.serialize(value, 't'), 't')).toEqual(value);
  });

  describe('deserialize failures', () => {
    it('rejects bytes that are not UTF-8', () => {
      const error = expectStreamsError(
        () => serde.deserialize(Buffer.from([0x22, 0xff, 0x22]), 'users'),
        DeserializationError,
        'DESERIALIZATION_FAILED',
        /Cannot deserialize json from topic "users": payload is not valid UTF-8/,
      );
      expect(error.cause).toBeInstanceOf(TypeError);
    });

    it('rejects an empty payload instead of reading it as null', () => {
      expectStreamsError(() => serde.deserialize(Buffer.alloc(0), 't'), DeserializationError, 'DESERIALIZATION_FAILED', /payload is empty/);
      expectStreamsError(() => serde.deserialize(utf8('  \n'), 't'), DeserializationError, 'DESERIALIZATION_FAILED', /payload is empty/);
    });

    it.each([
      ['truncated JSON', '{"id": "u1"', /not valid JSON/],
      ['trailing garbage', '{"id":"u1"} x', /not valid JSON/],
      ['a bare word', 'hello', /not valid JSON/],
      ['single quotes', "{'id': 1}", /not valid JSON/],
    ])('rejects %s with the parser reason as cause', (_label, text, message) => {
      const error = expectStreamsError(() => serde.deserialize(utf8(text), 't'), DeserializationError, 'DESERIALIZATION_FAILED', message);
      expect(error.cause).toBeInstanceOf(SyntaxError);
    });

    it("does not copy V8's excerpt of the input into the message", () => {
      const payload = utf8('{"password":"hunter2", "b": }');
      const error = expectStreamsError(() => serde.deserialize(payload, 't'), DeserializationError, 'DESERIALIZATION_FAILED', /not valid JSON/);
      expect(error.message).not.toContain('hunter2');
      expect(error.message).toContain(`payload 29 bytes: ${payload.subarray(0, 16).toString('hex')}…`);
    });
  });

  describe('validate', () => {
    it('returns the value a type guard accepts', () => {
      const users = jsonSerde({ validate: isUser });
      const user: User | null = users.deserialize(utf8('{"id":"u1","name":"Ada"}'), 'users');
      expect(user).toEqual({ id: 'u1', name: 'Ada' });
    });

    it('reports a guard rejection by the guard name', () => {
      const users = jsonSerde({ validate: isUser });
      expectStreamsError(
        () => users.deserialize(utf8('{"id":7}'), 'users'),
        DeserializationError,
        'DESERIALIZATION_FAILED',
        /Cannot deserialize json from topic "users": value rejected by isUser/,
      );
    });

    it('returns what a parser returns', () => {
      const users = jsonSerde({ validate: parseUser });
      expect(users.deserialize(utf8('{"id":"u1","name":" Ada "}'), 'users')).toEqual({ id: 'u1', name: 'Ada' });
    });

    it('reports a parser failure with its reason and keeps it as cause', () => {
      const users = jsonSerde({ validate: parseUser });
      const error = expectStreamsError(
        () => users.deserialize(utf8('[]'), 'users'),
        DeserializationError,
        'DESERIALIZATION_FAILED',
        /value rejected by parseUser: a user needs string id and name/,
      );
      expect((error.cause as Error).message).toBe('a user needs string id and name');
    });

    it('names an anonymous validator "validate"', () => {
      const numbers = jsonSerde<number>({ validate: (value): value is number => typeof value === 'number' });
      expectStreamsError(() => numbers.deserialize(utf8('"1"'), 't'), DeserializationError, 'DESERIALIZATION_FAILED', /rejected by validate/);
    });

    it('is not called for null', () => {
      const users = jsonSerde({ validate: parseUser });
      expect(users.deserialize(utf8('null'), 't')).toBeNull();
    });
  });

  describe('serialize failures', () => {
    it('rejects a BigInt, keeping the TypeError as cause', () => {
      const error = expectStreamsError(
        () => serde.serialize({ amount: 10n }, 'orders'),
        SerializationError,
        'SERIALIZATION_FAILED',
        /Cannot serialize json for topic "orders": JSON cannot represent the value \(Do not know how to serialize a BigInt\)/,
      );
      expect(error.cause).toBeInstanceOf(TypeError);
    });

    it('rejects a circular structure on one line', () => {
      const node: Record<string, unknown> = { id: 'n' };
      node.self = node;
      const error = expectStreamsError(() => serde.serialize(node, 't'), SerializationError, 'SERIALIZATION_FAILED', /circular structure/);
      expect(error.message).not.toContain('\n');
    });

    it.each([
      ['undefined', undefined, /value of type undefined/],
      ['a function', () => 1, /value of type function/],
      ['a symbol', Symbol('s'), /value of type symbol/],
    ])('rejects %s, which JSON.stringify turns into nothing', (_label, value, message) => {
      expectStreamsError(() => serde.serialize(value, 't'), SerializationError, 'SERIALIZATION_FAILED', message);
    });

    it('wraps an exception thrown by a toJSON method', () => {
      const broken = { toJSON: () => { throw new RangeError('no'); } };
      const error = expectStreamsError(() => serde.serialize(broken, 't'), SerializationError, 'SERIALIZATION_FAILED', /\(no\)/);
      expect(error.cause).toBeInstanceOf(RangeError);
    });
  });
});

describe('json serde and byte-order marks', () => {
  it('accepts JSON text that starts with a byte-order mark, as RFC 8259 allows', () => {
    expect(jsonSerde().deserialize(Buffer.from('\ufeff{"a":1}'), 't')).toEqual({ a: 1 });
  });
});
