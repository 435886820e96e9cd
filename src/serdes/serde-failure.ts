import { DeserializationError, SerializationError, withoutStack } from '../errors/streams-error.ts';

/** How many payload bytes an error message may show: enough to recognise a format, never the record. */
const PREVIEW_BYTES = 16;

/**
 * Describes a payload for an error message without including it: its length and a hex preview of
 * at most the first 16 bytes.
 *
 * Messages end up in logs and dead-letter headers, so they must stay short and must not copy the
 * record (which may hold personal data); the dead-letter record keeps the full bytes anyway.
 *
 * @example describePayload(Buffer.from('{"a":')) // '5 bytes: 7b2261223a'
 */
export function describePayload(data: Uint8Array): string {
  if (data.length === 0) return '0 bytes';
  const head = Buffer.from(data.buffer, data.byteOffset, Math.min(PREVIEW_BYTES, data.length)).toString('hex');
  return `${data.length} bytes: ${head}${data.length > PREVIEW_BYTES ? '…' : ''}`;
}

/**
 * Names the kind of a JavaScript value (`string`, `array`, `non-integer number`, ...) without
 * showing the value itself.
 *
 * Used in "expected X, got Y" messages: the kind is what a developer needs to fix the producer,
 * and unlike the value it cannot leak a secret.
 */
export function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (Buffer.isBuffer(value)) return 'Buffer';
  if (typeof value === 'number') return describeNumber(value);
  return typeof value;
}

function describeNumber(value: number): string {
  if (!Number.isFinite(value)) return 'non-finite number';
  if (!Number.isInteger(value)) return 'non-integer number';
  if (!Number.isSafeInteger(value)) return 'integer beyond 2^53 (unsafe)';
  return 'integer';
}

/** The message of anything thrown, on one line, for the "because" part of our own messages. */
export function reasonOf(thrown: unknown): string {
  if (thrown instanceof Error) return oneLine(thrown.message);
  return typeof thrown === 'string' ? oneLine(thrown) : `non-Error thrown (${describeKind(thrown)})`;
}

/** Log lines and Kafka headers read better without embedded newlines (V8's circular-JSON message has three). */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

/**
 * Builds the `DeserializationError` every serde throws: names the serde, the topic and the reason,
 * and previews the payload (never all of it).
 *
 * @example throw deserializationFailure('string', 'ratings', data, 'payload is not valid UTF-8', err);
 */
export function deserializationFailure(
  serde: string,
  topic: string,
  data: Uint8Array,
  reason: string,
  cause?: unknown,
): DeserializationError {
  const make = () =>
    new DeserializationError(`Cannot deserialize ${serde} from topic "${topic}": ${reason} (payload ${describePayload(data)})`, {
      cause,
      context: { topic },
    });
  // Without a cause the serde looked at the bytes and refused them: a verdict on the data, for
  // which the runtime's call stack says nothing (and capturing it was most of a dead letter's cost).
  // A cause (a decoder that threw) keeps its stack, and so does this error.
  return cause === undefined ? withoutStack(make) : make();
}

/**
 * Builds the `SerializationError` every serde throws: names the serde, the topic and what is wrong
 * with the value (its kind or field paths, never its content).
 */
export function serializationFailure(serde: string, topic: string, reason: string, cause?: unknown): SerializationError {
  return new SerializationError(`Cannot serialize ${serde} for topic "${topic}": ${reason}`, {
    cause,
    context: { topic },
  });
}
