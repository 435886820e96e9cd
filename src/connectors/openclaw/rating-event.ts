/**
 * The OpenClaw `RatingEvent`: its Avro schema (`topologies/schemas/rating-event.avsc`, the published
 * contract of the `ratings` topic) and the rules the schema cannot state. `validateRating` says
 * every reason an item is not a valid rating, so a dead-lettered one tells its producer all that is
 * wrong at once.
 */
import { fileURLToPath } from 'node:url';
import type { Type } from 'avsc';
import { loadAvroSchema } from '../../serdes/avro-schema.ts';

export interface RatingEvent {
  readonly id: string;
  readonly productId: string;
  readonly userId: string;
  /** 1..5. */
  readonly score: number;
  readonly comment: string | null;
  /** Epoch milliseconds. */
  readonly timestamp: number;
}

/** Path of the schema file. */
export const RATING_EVENT_SCHEMA_PATH = fileURLToPath(new URL('../../../topologies/schemas/rating-event.avsc', import.meta.url));

let schemaType: Type | undefined;

/** The avsc type of the schema file (loaded once). */
export function ratingEventType(): Type {
  schemaType ??= loadAvroSchema(RATING_EVENT_SCHEMA_PATH);
  return schemaType;
}

export interface RatingRules {
  /** How far in the future a timestamp may be (clock skew); default one day. */
  readonly maxFutureMs?: number;
  /** The current time; default `Date.now()`. */
  readonly now?: number;
  /**
   * The item was decoded by the strict Avro serde of this very schema, so its fields already have
   * the schema's types and only the rules beyond it are checked. Default false (JSON may hold anything).
   */
  readonly decodedWithSchema?: boolean;
}

export type RatingCheck = { readonly ok: true; readonly rating: RatingEvent } | { readonly ok: false; readonly reasons: readonly string[] };

const DAY_MS = 86_400_000;

/**
 * Checks an item against the schema, then the rules: score an integer in 1..5, non-empty ids, a
 * timestamp not further in the future than `maxFutureMs`. Extra fields are ignored (the API may
 * add some); an absent `comment` counts as `null`.
 */
export function validateRating(item: unknown, rules: RatingRules = {}): RatingCheck {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    return { ok: false, reasons: [`expected a rating object, got ${item === null ? 'null' : Array.isArray(item) ? 'an array' : typeof item}`] };
  }
  const fields = item as Record<string, unknown>;
  const candidate = {
    id: fields['id'],
    productId: fields['productId'],
    userId: fields['userId'],
    score: fields['score'],
    comment: fields['comment'] === undefined ? null : fields['comment'],
    timestamp: fields['timestamp'],
  };
  const reasons: string[] = [];
  if (rules.decodedWithSchema !== true) {
    ratingEventType().isValid(candidate, {
      errorHook: (path, value) => {
        reasons.push(`${path.join('.') || 'record'}: ${describe(value)} does not match the schema type`);
      },
    });
  }
  if (reasons.length === 0) {
    const now = rules.now ?? Date.now();
    const maxFuture = rules.maxFutureMs ?? DAY_MS;
    for (const name of ['id', 'productId', 'userId'] as const) if ((candidate[name] as string).trim() === '') reasons.push(`${name}: must not be empty`);
    const score = candidate.score as number;
    if (score < 1 || score > 5) reasons.push(`score: ${score} is outside 1..5`);
    const timestamp = candidate.timestamp as number;
    if (timestamp < 0) reasons.push(`timestamp: ${timestamp} is before 1970`);
    else if (timestamp > now + maxFuture) reasons.push(`timestamp: ${new Date(timestamp).toISOString()} is more than ${Math.round(maxFuture / 60_000)} min in the future`);
  }
  if (reasons.length > 0) return { ok: false, reasons };
  return { ok: true, rating: candidate as RatingEvent };
}

function describe(value: unknown): string {
  if (value === undefined) return 'a missing value';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 60)}...` : text;
}
