/**
 * What happens to a record that failed, per stage (deserialization, processing, production):
 * - `dead-letter` (default): its original input bytes and headers go to the dead-letter topic with
 *   error headers; the input offset counts as done once the dead-letter record is acknowledged.
 * - `continue`: log (secrets scrubbed) and skip it.
 * - `fail`: stop the app. The record is never marked done, so its offset and everything after it
 *   stay uncommitted and are read again on the next start.
 *
 * A dead-letter record larger than `maxDeadLetterBytes` is written with its value (and a long key)
 * truncated, marked by `dlq.payload.truncated`; if the output still refuses it as too large (a
 * dead-letter topic with a lower `max.message.bytes`), it is written once more with no value. Only
 * a failure of that is fatal: one oversized record must not stop the app on every restart.
 */
import { buildDeadLetter, DEFAULT_MAX_DEAD_LETTER_BYTES, fitDeadLetter, truncateDeadLetter, type ErrorStage } from '../errors/dead-letter.ts';
import { redactSecrets } from '../errors/redact.ts';
import { ProcessingError, StreamsError, toError } from '../errors/streams-error.ts';
import { publish } from './instrumentation.ts';
import { releaseLineage, retainLineage, type Lineage, type Origin } from './lineage.ts';
import type { Logger } from './logger.ts';
import type { RecordOutput } from './record-output.ts';
import type { OutgoingRecord } from '../transport/transport.ts';

export type ErrorPolicy = 'dead-letter' | 'continue' | 'fail';
export type ErrorPolicies = Readonly<Partial<Record<ErrorStage, ErrorPolicy>>>;

export interface ErrorRouterOptions {
  readonly app: string;
  readonly policies: ErrorPolicies;
  readonly deadLetterTopic: string;
  readonly output: RecordOutput;
  readonly logger: Logger;
  readonly now: () => number;
  readonly secrets: readonly string[];
  /** Dead-letter records above this many bytes (key, value, headers) are truncated; default 900 KiB. */
  readonly maxDeadLetterBytes?: number;
  /** Called once for a `fail` policy, or when a dead-letter record itself cannot be written. */
  readonly onFatal: (error: Error) => void;
}

export class ErrorRouter {
  constructor(private readonly options: ErrorRouterOptions) {}

  policyFor(stage: ErrorStage): ErrorPolicy {
    return this.options.policies[stage] ?? 'dead-letter';
  }

  /** Routes a failed record; `lineage` holds the references the failed record owned. `policy` overrides the stage's. */
  /** An error no policy can absorb (a state store that failed): the app stops. */
  fatal(error: Error): void {
    this.options.onFatal(error);
  }

  handle(stage: ErrorStage, node: string, lineage: Lineage, thrown: unknown, policy: ErrorPolicy = this.policyFor(stage)): void {
    const error = contextualize(stage, node, lineage, thrown);
    const code = error instanceof StreamsError ? error.code : 'PROCESSING_FAILED';
    if (policy === 'fail') {
      this.options.onFatal(error);
      return;
    }
    if (policy === 'continue') {
      this.options.logger.warn(
        { node, stage, code, error: redactSecrets(error.message, this.options.secrets), ...sourceOf(lineage[0]) },
        'record skipped after an error',
      );
      publish({ type: 'record.skipped', app: this.options.app, node, stage, code });
      releaseLineage(lineage);
      return;
    }
    const origins = distinct(lineage);
    // One dead-letter record per input the failed record came from; each write releases once.
    retainLineage(lineage, origins.length - 1);
    for (const origin of origins) {
      const deadLetter = buildDeadLetter({
        raw: origin.raw,
        error,
        stage,
        node,
        deadLetterTopic: this.options.deadLetterTopic,
        now: this.options.now(),
        secrets: this.options.secrets,
      });
      this.writeDeadLetter(fitDeadLetter(deadLetter, this.options.maxDeadLetterBytes ?? DEFAULT_MAX_DEAD_LETTER_BYTES), lineage, node, origin);
      publish({
        type: 'dead-letter',
        app: this.options.app,
        node,
        stage,
        code,
        topic: origin.raw.topic,
        partition: origin.raw.partition,
        offset: origin.raw.offset,
      });
    }
  }

  private writeDeadLetter(record: OutgoingRecord, lineage: Lineage, node: string, origin: Origin, lastResort = false): void {
    this.options.output.write(record, lineage, (writeError) => {
      if (!lastResort && isTooLarge(writeError)) {
        this.options.logger.warn(
          { node, ...sourceOf(origin), error: redactSecrets(writeError.message, this.options.secrets) },
          'dead-letter record too large; writing it without its value',
        );
        this.writeDeadLetter(truncateDeadLetter(record, LAST_RESORT), lineage, node, origin, true);
        return;
      }
      this.options.onFatal(
        new StreamsError(`could not write to the dead-letter topic ${this.options.deadLetterTopic}: ${writeError.message}`, {
          code: 'PRODUCTION_FAILED',
          cause: writeError,
          context: { node, topic: origin.raw.topic, partition: origin.raw.partition, offset: origin.raw.offset },
        }),
      );
    });
  }
}

/** Whether the error, or one it wraps, says the record is too large for the producer or the broker. */
function isTooLarge(error: unknown): boolean {
  for (let link = error, depth = 0; link instanceof Error && depth < 10; link = link.cause, depth++) {
    if (link instanceof StreamsError && link.code === 'RECORD_TOO_LARGE') return true;
  }
  return false;
}

/** A truncated dead-letter record the output still refuses as too large goes again without a value and its own headers. */
const LAST_RESORT = { keyBytes: 256, valueBytes: 0, dropHeaders: true } as const;

function distinct(lineage: Lineage): Origin[] {
  return [...new Set(lineage)];
}

function sourceOf(origin: Origin | undefined) {
  return origin ? { topic: origin.raw.topic, partition: origin.raw.partition, offset: origin.raw.offset } : {};
}

/** Wraps plain exceptions of user code so every routed error has a code and the record's context. */
function contextualize(stage: ErrorStage, node: string, lineage: Lineage, thrown: unknown): Error {
  if (thrown instanceof StreamsError) return thrown;
  const cause = toError(thrown);
  const origin = lineage[0];
  return new ProcessingError(`${node} failed during ${stage}: ${cause.message}`, {
    cause,
    context: { node, ...sourceOf(origin) },
  });
}
