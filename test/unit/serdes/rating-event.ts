import type { RatingEvent } from '../../../src/connectors/openclaw/rating-event.ts';
import { fileURLToPath } from 'node:url';

/** The fixture schema's path, as loadAvroSchema takes it. */
export const RATING_EVENT_AVSC = fileURLToPath(new URL('../../fixtures/avro/rating-event.avsc', import.meta.url));

/** Path of another file in test/fixtures/avro. */
export const avroFixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/avro/${name}`, import.meta.url));

/** The record the fixture describes, as the pipeline's code types it. */
export type { RatingEvent };

export const sampleRating = (overrides: Partial<RatingEvent> = {}): RatingEvent => ({
  id: 'r-1',
  productId: 'p-42',
  userId: 'u-7',
  score: 4,
  comment: 'solid',
  timestamp: 1_718_000_000_123,
  ...overrides,
});
