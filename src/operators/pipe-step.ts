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
 *   the in-flight bound is reached, on close), or when the operators complete on their own
 *   (`take(n)`, `first()`, `catchError(() => EMPTY)`). So operator state (a `scan` accumulator, a
 *   partial buffer, `distinct` keys, a `take` count) lasts one epoch; state meant to outlive that
 *   belongs in a table. A step never ends for good: a long-running stream is not black-holed by an
 *   operator that completed once.
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
import { Observable, type OperatorFunction, type Subscription } from 'rxjs';
import { StreamsError } from '../errors/streams-error.ts';
import { releaseLineage } from '../runtime/lineage.ts';
import type { AnyRecord, NodeContext } from '../topology/graph.ts';
import { OperatorChain, stepError, type EarlyEnd } from './operator-chain.ts';

export interface PipeStepOptions {
  /** Default 1000. */
  readonly maxHoldMs?: number;
  /** Default 30000. */
  readonly completionTimeoutMs?: number;
}

type EpochState = 'open' | 'ending' | 'isolating' | 'done';

interface Probe {
  readonly record: AnyRecord;
  readonly chain: OperatorChain;
  readonly outputs: AnyRecord[];
}

interface Epoch {
  state: EpochState;
  chain: OperatorChain | undefined;
  /** Inputs the step holds a reference for, by stamp (insertion order is arrival order). */
  readonly held: Map<number, AnyRecord>;
  /** Outputs (with their own references) not yet passed on. */
  readonly queued: AnyRecord[];
  holdTimer: Subscription | undefined;
  completionTimer: Subscription | undefined;
  /** While isolating: the inputs still to run alone, oldest first, and the one running now. */
  readonly isolation: AnyRecord[];
  probe: Probe | undefined;
  looping: boolean;
}

export function pipeStep(
  context: NodeContext,
  makeOperator: (context: NodeContext) => OperatorFunction<AnyRecord, unknown>,
  options: PipeStepOptions = {},
): OperatorFunction<AnyRecord, AnyRecord> {
  const maxHoldMs = options.maxHoldMs ?? 1_000;
  const completionTimeoutMs = options.completionTimeoutMs ?? 30_000;
  const timedOut = () =>
    stepError(
      context.nodeName,
      `the pipe() operators still held this record ${completionTimeoutMs} ms after they were asked to complete (a hung async call, or an operator that never completes)`,
      new StreamsError('timed out', { code: 'TIMED_OUT' }),
    );
  const failRecord = (record: AnyRecord, error: Error) => {
    context.fail(record, error instanceof StreamsError ? error : stepError(context.nodeName, `pipe() operators failed: ${error.message}`, error));
  };

  return (source) =>
    new Observable<AnyRecord>((subscriber) => {
      const epochs: Epoch[] = [];
      let nextStamp = 0;
      let tornDown = false;

      const stopTimers = (epoch: Epoch) => {
        epoch.holdTimer?.unsubscribe();
        epoch.completionTimer?.unsubscribe();
        epoch.holdTimer = undefined;
        epoch.completionTimer = undefined;
      };

      const emit = (epoch: Epoch, out: AnyRecord) => {
        if (epochs[0] === epoch && !context.transactional && epoch.state !== 'isolating') subscriber.next(out);
        else epoch.queued.push(out);
      };

      /** Passes on what may go: the head epoch's queue (all of it once done), then the next epochs'. */
      const drain = () => {
        while (!tornDown && epochs.length > 0) {
          const head = epochs[0] as Epoch;
          if (head.state === 'done' || (!context.transactional && head.state !== 'isolating')) {
            for (const out of head.queued.splice(0)) subscriber.next(out);
          }
          if (head.state !== 'done') return;
          epochs.shift();
        }
      };

      const startEpoch = (): Epoch | EarlyEnd => {
        const epoch: Epoch = {
          state: 'open',
          chain: undefined,
          held: new Map(),
          queued: [],
          holdTimer: undefined,
          completionTimer: undefined,
          isolation: [],
          probe: undefined,
          looping: false,
        };
        const chain = OperatorChain.start(context, makeOperator, (stamp) => epoch.held.has(stamp), {
          output: (out) => emit(epoch, out),
          end: (error) => (error === undefined ? onEpochComplete(epoch) : onEpochError(epoch)),
        });
        if (!(chain instanceof OperatorChain)) return chain;
        epoch.chain = chain;
        epochs.push(epoch);
        return epoch;
      };

      const onEpochComplete = (epoch: Epoch) => {
        stopTimers(epoch);
        epoch.state = 'done';
        // Nothing can come out for these inputs any more: their outputs took references of their own.
        for (const record of epoch.held.values()) releaseLineage(record.lineage);
        epoch.held.clear();
        drain();
      };

      // The chain's own error is not routed: run alone, each input meets its own error again (or
      // none, when only the combination failed, and then its outputs come out).
      const onEpochError = (epoch: Epoch) => {
        stopTimers(epoch);
        // Outputs not yet passed on are taken back; running their inputs again makes them anew.
        for (const out of epoch.queued.splice(0)) releaseLineage(out.lineage);
        epoch.state = 'isolating';
        epoch.isolation.push(...epoch.held.values());
        epoch.held.clear();
        isolateNext(epoch);
      };

      /** Runs the failed epoch's inputs one at a time, each in a chain of its own. */
      const isolateNext = (epoch: Epoch) => {
        if (epoch.looping) return;
        epoch.looping = true;
        try {
          while (!tornDown && epoch.state === 'isolating' && epoch.probe === undefined) {
            const record = epoch.isolation.shift();
            if (record === undefined) {
              epoch.state = 'done';
              drain();
              return;
            }
            const stamp = record.stamps[0];
            const outputs: AnyRecord[] = [];
            const chain = OperatorChain.start(context, makeOperator, (s) => s === stamp, {
              output: (out) => outputs.push(out),
              end: (error) => {
                settleProbe(epoch, error);
                isolateNext(epoch);
              },
            });
            if (!(chain instanceof OperatorChain)) {
              if ('error' in chain) failRecord(record, chain.error);
              else releaseLineage(record.lineage);
              continue;
            }
            epoch.probe = { record, chain, outputs };
            chain.push(record);
            chain.complete();
            if (epoch.probe !== undefined) {
              epoch.completionTimer = context.scheduler.schedule(() => {
                epoch.probe?.chain.dispose();
                settleProbe(epoch, timedOut());
                isolateNext(epoch);
              }, completionTimeoutMs);
            }
          }
        } finally {
          epoch.looping = false;
        }
      };

      const settleProbe = (epoch: Epoch, error: Error | undefined) => {
        const probe = epoch.probe;
        if (probe === undefined) return;
        epoch.probe = undefined;
        epoch.completionTimer?.unsubscribe();
        epoch.completionTimer = undefined;
        if (error === undefined) {
          for (const out of probe.outputs) emit(epoch, out);
          releaseLineage(probe.record.lineage);
        } else {
          for (const out of probe.outputs) releaseLineage(out.lineage);
          failRecord(probe.record, error);
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
          epoch.chain?.dispose();
          epoch.state = 'done';
          for (const out of epoch.queued.splice(0)) releaseLineage(out.lineage);
          const stuck = [...epoch.held.values()];
          epoch.held.clear();
          for (const record of stuck) failRecord(record, timedOut());
          drain();
        }, completionTimeoutMs);
        epoch.chain?.complete();
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
          const stamp = nextStamp++;
          const stamped = record.withLineage(record.lineage, [stamp]);
          let epoch = current();
          if (epoch === undefined) {
            const started = startEpoch();
            if (!('held' in started)) {
              // The operators could not be built, or complete before taking anything: the record
              // fails with their error, or is dropped as they drop everything.
              if ('error' in started) failRecord(stamped, started.error);
              else releaseLineage(stamped.lineage);
              return;
            }
            epoch = started;
          }
          epoch.held.set(stamp, stamped);
          if (epoch.held.size === 1) {
            const opened = epoch;
            epoch.holdTimer = context.scheduler.schedule(() => end(opened), maxHoldMs);
          }
          epoch.chain?.push(stamped);
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
          epoch.chain?.dispose();
          const probe = epoch.probe;
          epoch.probe = undefined;
          probe?.chain.dispose();
          const outputs = [...epoch.queued.splice(0), ...(probe?.outputs ?? [])];
          const inputs = [...epoch.held.values(), ...epoch.isolation.splice(0), ...(probe === undefined ? [] : [probe.record])];
          epoch.held.clear();
          for (const record of [...outputs, ...inputs]) releaseLineage(record.lineage);
        }
      };
    });
}
