/**
 * A custom step made of ordinary RxJS operators over records (`KStream.pipe` / `KStream.transform`),
 * with lineage kept right although the runtime cannot see inside the operators.
 *
 * The problem: an input that went into the operators and has not come out may have been dropped
 * (`filter`), be held (`bufferCount`), or be in async work (`mergeMap`); from outside these look the
 * same, and committing its offset in the first case is right and in the others loses it. What RxJS
 * does guarantee is completion: once an operator chain's source completes, the chain emits
 * everything it still holds and completes after its last async work. So the step runs the
 * operators in epochs:
 *
 * - Inputs go into the current epoch's chain. The step holds a reference on each input until that
 *   chain completes, so its commit waits for everything the chain might still derive from it, however
 *   the operators drop, hold, reorder or multiply records.
 * - An output must be derived from inputs of its epoch (`record.withValue()` / `withKey()` or
 *   `combineRecords()`); it takes references of its own and goes on.
 * - An epoch ends (its source completes, and a fresh chain takes the next inputs) when its oldest
 *   input has been held for `maxHoldMs`, when the task asks (before an exactly-once commit, when
 *   the in-flight bound is reached, on close). So operator state (a `scan` accumulator, a partial
 *   buffer, `distinct` keys) lasts one epoch; state meant to outlive that belongs in a table.
 *   Operators that complete on their own (`take(n)`, `first()`, `takeWhile`) end the step, as they
 *   end any RxJS pipeline: later records are dropped (until the task is recreated).
 * - Outputs keep epoch order: those of a newer epoch wait until the older ones completed. Under
 *   exactly-once an epoch's outputs wait until it completed, so an error can take them back.
 * - Errors are attributed to the record that caused them. When the operators fail, their chain is
 *   gone with whatever it held, and the culprit is unknown (an error thrown while one input is pushed
 *   in may come from a batch that input completed; async work fails later): the epoch's outputs not
 *   yet passed on are dropped and each of its inputs is run again alone, in order, in a fresh chain.
 *   Those that fail alone go to the error policy; the others come out as usual. Under
 *   at-least-once, outputs the epoch had already passed on may so come out twice.
 * - An epoch that does not complete within `completionTimeoutMs` of being ended is torn down and
 *   the inputs it still holds go to the error policy as timed out: a hung call, or an operator that
 *   never completes (`mergeMap(() => NEVER)`), cannot stall the partition.
 */
import { Observable, Subject, type OperatorFunction, type Subscription } from 'rxjs';
import { ProcessingError, StreamsError, toError } from '../errors/streams-error.ts';
import { isAlive, releaseLineage, retainLineage } from '../runtime/lineage.ts';
import { isStreamRecord } from '../runtime/stream-record.ts';
import type { AnyRecord, NodeContext } from '../topology/graph.ts';

export interface PipeStepOptions {
  /** Default 1000. */
  readonly maxHoldMs?: number;
  /** Default 30000. */
  readonly completionTimeoutMs?: number;
}

type EpochState = 'open' | 'ending' | 'isolating' | 'done';

interface Epoch {
  state: EpochState;
  /** Inputs the step holds a reference for, by stamp (insertion order is arrival order). */
  readonly held: Map<number, AnyRecord>;
  /** Outputs (with their own references) not yet passed on. */
  readonly queued: AnyRecord[];
  subject: Subject<AnyRecord> | undefined;
  subscription: Subscription | undefined;
  holdTimer: Subscription | undefined;
  completionTimer: Subscription | undefined;
  /** While isolating: the inputs still to run alone, oldest first. */
  readonly isolation: AnyRecord[];
}

export function pipeStep(
  context: NodeContext,
  makeOperator: (context: NodeContext) => OperatorFunction<AnyRecord, unknown>,
  options: PipeStepOptions = {},
): OperatorFunction<AnyRecord, AnyRecord> {
  const maxHoldMs = options.maxHoldMs ?? 1_000;
  const completionTimeoutMs = options.completionTimeoutMs ?? 30_000;
  return (source) =>
    new Observable<AnyRecord>((subscriber) => {
      const epochs: Epoch[] = [];
      let nextStamp = 0;
      let tornDown = false;
      let finished = false;

      const isHead = (epoch: Epoch) => epochs[0] === epoch;
      const newEpoch = (): Epoch => ({
        state: 'open',
        held: new Map(),
        queued: [],
        subject: undefined,
        subscription: undefined,
        holdTimer: undefined,
        completionTimer: undefined,
        isolation: [],
      });

      const stopTimers = (epoch: Epoch) => {
        epoch.holdTimer?.unsubscribe();
        epoch.completionTimer?.unsubscribe();
        epoch.holdTimer = undefined;
        epoch.completionTimer = undefined;
      };

      /** Passes on what may go: the head epoch's queue (all of it once done), then the next epochs'. */
      const drain = () => {
        while (!tornDown && epochs.length > 0) {
          const head = epochs[0] as Epoch;
          if (head.state === 'done' || !context.transactional) {
            for (const out of head.queued.splice(0)) subscriber.next(out);
          }
          if (head.state !== 'done') return;
          epochs.shift();
        }
      };

      const emit = (epoch: Epoch, out: AnyRecord) => {
        if (isHead(epoch) && !context.transactional && epoch.state !== 'isolating') subscriber.next(out);
        else epoch.queued.push(out);
      };

      /**
       * Builds a chain for `epoch` and subscribes it; the operators' outputs must come from `allowed`
       * inputs. Returns the error when the operators could not even be built.
       */
      const subscribeChain = (epoch: Epoch, allowed: Map<number, AnyRecord>, onEnd: (error?: unknown) => void): Error | undefined => {
        const subject = new Subject<AnyRecord>();
        epoch.subject = subject;
        let ended = false;
        const end = (error?: unknown) => {
          if (ended) return;
          ended = true;
          onEnd(error);
        };
        const onOutput = (out: unknown) => {
          if (ended) return;
          const problem = checkOutput(context.nodeName, out, allowed);
          if (problem !== undefined) {
            epoch.subscription?.unsubscribe();
            end(problem);
            return;
          }
          const record = out as AnyRecord;
          retainLineage(record.lineage);
          emit(epoch, record.withLineage(record.lineage, []));
        };
        try {
          const operator = makeOperator(context);
          epoch.subscription = subject.pipe(operator).subscribe({ next: onOutput, error: (error: unknown) => end(error ?? new Error('no reason given')), complete: () => end() });
        } catch (error) {
          // A factory or operator that throws while being built or subscribed: the records fail with
          // it, through the error policy, instead of crashing the process.
          ended = true;
          epoch.subject = undefined;
          return new ProcessingError(`${context.nodeName}: building the pipe() operators failed: ${toError(error).message}`, { cause: error, context: { node: context.nodeName } });
        }
        return undefined;
      };

      const failRecord = (record: AnyRecord, error: unknown) => {
        const wrapped =
          error instanceof StreamsError
            ? error
            : new ProcessingError(`${context.nodeName}: pipe() operators failed: ${toError(error).message}`, { cause: error, context: { node: context.nodeName } });
        context.fail(record, wrapped);
      };

      /** A new current epoch, or the error that kept its operators from being built. */
      const startEpoch = (): Epoch | Error => {
        const epoch = newEpoch();
        const broken = subscribeChain(epoch, epoch.held, (error) => (error === undefined ? onEpochComplete(epoch) : onEpochError(epoch, error)));
        if (broken !== undefined) return broken;
        epochs.push(epoch);
        return epoch;
      };

      const onEpochComplete = (epoch: Epoch) => {
        // Operators that complete on their own (take, first, takeWhile) have ended the step, as
        // they would end any RxJS pipeline: later records are dropped.
        if (epoch.state === 'open') finished = true;
        stopTimers(epoch);
        epoch.subject = undefined;
        epoch.state = 'done';
        // Nothing can come out for these inputs any more: their outputs took references of their own.
        for (const record of epoch.held.values()) releaseLineage(record.lineage);
        epoch.held.clear();
        drain();
      };

      // The chain's error is not routed itself: run alone, each input meets its own error again (or
      // none, when only the combination failed, and then its outputs come out).
      const onEpochError = (epoch: Epoch, _error: unknown) => {
        stopTimers(epoch);
        epoch.subject = undefined;
        // Outputs not yet passed on are taken back; running their inputs again makes them anew.
        for (const out of epoch.queued.splice(0)) releaseLineage(out.lineage);
        // Even an error thrown while one input was pushed in may come from others (a batch that
        // input completed), so every input the chain held is run again alone.
        epoch.state = 'isolating';
        epoch.isolation.push(...epoch.held.values());
        epoch.held.clear();
        isolateNext(epoch);
      };

      /** Runs the failed epoch's inputs one at a time, each in a chain of its own. */
      const isolateNext = (epoch: Epoch) => {
        while (!tornDown && epoch.state === 'isolating') {
          const record = epoch.isolation.shift();
          if (record === undefined) {
            epoch.state = 'done';
            drain();
            return;
          }
          const alone = new Map([[record.stamps[0] as number, record]]);
          let settled = false;
          let synchronous = true;
          const probe = newEpoch();
          const broken = subscribeChain(probe, alone, (error) => {
            if (settled) return;
            settled = true;
            epoch.completionTimer?.unsubscribe();
            epoch.completionTimer = undefined;
            // The probe's outputs belong to the failed epoch's place in the order.
            if (error === undefined) {
              for (const out of probe.queued.splice(0)) emit(epoch, out);
              releaseLineage(record.lineage);
            } else {
              for (const out of probe.queued.splice(0)) releaseLineage(out.lineage);
              failRecord(record, error);
            }
            if (!synchronous) isolateNext(epoch);
          });
          if (broken !== undefined) {
            failRecord(record, broken);
            continue;
          }
          probe.subject?.next(record);
          probe.subject?.complete();
          if (!settled) {
            epoch.completionTimer = context.scheduler.schedule(() => {
              probe.subscription?.unsubscribe();
              probe.subscription = undefined;
              if (settled) return;
              settled = true;
              for (const out of probe.queued.splice(0)) releaseLineage(out.lineage);
              failRecord(record, timedOut(context.nodeName, completionTimeoutMs));
              isolateNext(epoch);
            }, completionTimeoutMs);
            epoch.subscription = probe.subscription;
            synchronous = false;
            return;
          }
          synchronous = false;
        }
      };

      /** Completes the epoch's source: the operators emit what they hold, then complete. */
      const end = (epoch: Epoch) => {
        if (epoch.state !== 'open') return;
        epoch.state = 'ending';
        epoch.holdTimer?.unsubscribe();
        epoch.holdTimer = undefined;
        epoch.completionTimer = context.scheduler.schedule(() => {
          if (epoch.state !== 'ending') return;
          epoch.subscription?.unsubscribe();
          epoch.subject = undefined;
          epoch.state = 'done';
          for (const out of epoch.queued.splice(0)) releaseLineage(out.lineage);
          const stuck = [...epoch.held.values()];
          epoch.held.clear();
          for (const record of stuck) failRecord(record, timedOut(context.nodeName, completionTimeoutMs));
          drain();
        }, completionTimeoutMs);
        epoch.subject?.complete();
      };

      const current = (): Epoch | undefined => {
        const last = epochs[epochs.length - 1];
        return last?.state === 'open' ? last : undefined;
      };

      const unregisterFlush = context.onFlush(() => {
        const epoch = current();
        if (epoch !== undefined && epoch.held.size > 0) end(epoch);
      });

      const upstream = source.subscribe({
        next(record) {
          if (finished) {
            releaseLineage(record.lineage);
            return;
          }
          const stamp = nextStamp++;
          const stamped = record.withLineage(record.lineage, [stamp]);
          const epoch = current() ?? startEpoch();
          if (epoch instanceof Error) {
            failRecord(stamped, epoch);
            return;
          }
          epoch.held.set(stamp, stamped);
          if (epoch.held.size === 1 && epoch.state === 'open') {
            epoch.holdTimer = context.scheduler.schedule(() => end(epoch), maxHoldMs);
          }
          if (epoch.state !== 'open' || epoch.subject === undefined) return;
          epoch.subject.next(stamped);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });

      return () => {
        tornDown = true;
        upstream.unsubscribe();
        unregisterFlush();
        // The task is closing: nothing held here will be passed on; its inputs are read again.
        for (const epoch of epochs.splice(0)) {
          stopTimers(epoch);
          epoch.subscription?.unsubscribe();
          for (const out of epoch.queued.splice(0)) releaseLineage(out.lineage);
          for (const record of [...epoch.held.values(), ...epoch.isolation.splice(0)]) releaseLineage(record.lineage);
          epoch.held.clear();
        }
      };
    });
}

/** Why an output cannot be passed on, or undefined when it can. */
function checkOutput(node: string, out: unknown, allowed: ReadonlyMap<number, AnyRecord>): Error | undefined {
  if (!isStreamRecord(out)) {
    return new ProcessingError(
      `${node}: a pipe() operator emitted ${out === null ? 'null' : typeof out}, not a record; derive outputs with record.withValue()/withKey() or combineRecords()`,
      { context: { node } },
    );
  }
  if (out.stamps.length === 0 || !out.stamps.every((stamp) => allowed.has(stamp)) || !isAlive(out.lineage)) {
    return new ProcessingError(
      `${node}: a pipe() operator emitted a record not derived from the inputs it holds; derive outputs with record.withValue()/withKey() or combineRecords(), and keep no records across epochs`,
      { context: { node } },
    );
  }
  return undefined;
}

function timedOut(node: string, ms: number): ProcessingError {
  return new ProcessingError(
    `${node}: the pipe() operators still held this record ${ms} ms after they were asked to complete (a hung async call, or an operator that never completes)`,
    { cause: new StreamsError('timed out', { code: 'TIMED_OUT' }), context: { node } },
  );
}
