import { describe, expect, it } from 'vitest';
import { SchemaError } from '../../../src/errors/streams-error.ts';
import { loadAvroSchema, parseAvroSchema } from '../../../src/serdes/index.ts';
import { expectStreamsError } from './expect-error.ts';
import { avroFixture, RATING_EVENT_AVSC } from './rating-event.ts';

describe('loading Avro schema files', () => {
  it('returns the avsc type of an .avsc file', () => {
    const type = loadAvroSchema(RATING_EVENT_AVSC);
    expect(type.name).toBe('com.ubos.openclaw.RatingEvent');
    expect(type.typeName).toBe('record');
  });

  it('names a missing file', () => {
    const path = avroFixture('does-not-exist.avsc');
    const error = expectStreamsError(() => loadAvroSchema(path), SchemaError, 'SCHEMA_LOAD_FAILED', /Cannot read Avro schema file .*does-not-exist\.avsc: file not found/);
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('names a directory that is not a file', () => {
    expectStreamsError(() => loadAvroSchema(avroFixture('')), SchemaError, 'SCHEMA_LOAD_FAILED', /Cannot read Avro schema file .*avro\/?: .*EISDIR/);
  });

  it('names a file that is not JSON', () => {
    const error = expectStreamsError(
      () => loadAvroSchema(avroFixture('not-json.avsc')),
      SchemaError,
      'SCHEMA_LOAD_FAILED',
      /Avro schema file .*not-json\.avsc is not valid JSON: /,
    );
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it('names a file whose JSON is not a valid schema, with avsc reason', () => {
    const error = expectStreamsError(
      () => loadAvroSchema(avroFixture('invalid-schema.avsc')),
      SchemaError,
      'SCHEMA_LOAD_FAILED',
      /Invalid Avro schema in file .*invalid-schema\.avsc: undefined type name: decimalish/,
    );
    expect(error.cause).toBeInstanceOf(Error);
  });
});

describe('parsing Avro schemas', () => {
  it('accepts a schema object', () => {
    expect(parseAvroSchema({ type: 'enum', name: 'Colour', symbols: ['RED'] }).name).toBe('Colour');
  });

  it.each([
    ['null', null],
    ['a number', 3],
    ['a record without fields', { type: 'record', name: 'Empty' }],
    ['a field with an invalid default', { type: 'record', name: 'D', fields: [{ name: 'n', type: 'int', default: 'x' }] }],
  ])('rejects %s with a SchemaError', (_label, schema) => {
    expectStreamsError(() => parseAvroSchema(schema, 'test'), SchemaError, 'SCHEMA_LOAD_FAILED', /Invalid Avro schema in test: /);
  });
});
