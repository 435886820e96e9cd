/**
 * What happens to a record that failed, per stage (deserialization, processing, production):
 * - `dead-letter` (default): its original input bytes and headers go to the dead-letter topic with
 *   error headers; the input offset counts as done once the dead-letter record is acknowledged.
 * - `continue`: log (secrets scrubbed) and skip it.
 * - `fail`: stop the app. The record is never marked done, so its offset and everything after it
 *   stay uncommitted and are read again on the next start.
 */
import { buildDeadLetter, type ErrorStage } from '../errors/dead-letter.ts';
import { redactSecrets } from '../errors/redact.ts';
import { ProcessingError, StreamsError, toError } from '../errors/streams-error.ts';
import { publish } from './instrumentation.ts';
import { releaseLineage, retainLineage, type Lineage, type Origin } from './lineage.ts';
import type { Logger } from './logger.ts';
import type { RecordOutput } from './record-output.ts';

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
  /** Called once for a `fail` policy, or when a dead-letter record itself cannot be written. */
  readonly onFatal: (error: Error) => void;
}

export class ErrorRouter {
  constructor(private readonly options: ErrorRouterOptions) {}

  policyFor(stage: ErrorStage): ErrorPolicy {
    return this.options.policies[stage] ?? 'dead-letter';
  }

  /** Routes a failed record; `lineage` holds the references the failed record owned. `policy` overrides the stage's. */
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
      this.options.output.write(deadLetter, lineage, (writeError) => {
        this.options.onFatal(
          new StreamsError(`could not write to the dead-letter topic ${this.options.deadLetterTopic}: ${writeError.message}`, {
            code: 'PRODUCTION_FAILED',
            cause: writeError,
            context: { node, topic: origin.raw.topic, partition: origin.raw.partition, offset: origin.raw.offset },
          }),
        );
      });
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
}

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
