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
 *   yet passed on are dropped and each of its inputs is run again alone, in a chain of its own (up
 *   to `ISOLATION_PARALLELISM` at once, all within one `completionTimeoutMs`). Those that fail alone
 *   go to the error policy; the outputs of the others come out, in input order. Under
 *   at-least-once, outputs the epoch had already passed on may so come out twice.
 * - The `transform()` factory runs once per task; the operator function it returns runs once per
 *   epoch (and per record run alone), so per-task resources belong in the factory.
 * - An epoch that does not complete within `completionTimeoutMs` of being ended is torn down and
 *   the inputs it still holds go to the error policy as timed out: a hung call, or an operator that
 *   never completes (`mergeMap(() => NEVER)`), cannot stall the partition.
 */
import { Observable, type OperatorFunction, type Subscription } from 'rxjs';
import { StreamsError, toError } from '../errors/streams-error.ts';
import { releaseLineage } from '../runtime/lineage.ts';
import type { AnyRecord, NodeContext } from '../topology/graph.ts';
import { OperatorChain, stepError, type EarlyEnd } from './operator-chain.ts';

export interface PipeStepOptions {
  /** Default 1000. */
  readonly maxHoldMs?: number;
  /** Default 30000. */
  readonly completionTimeoutMs?: number;
}

/** How many records of a failed epoch run alone at the same time. */
const ISOLATION_PARALLELISM = 16;

type EpochState = 'open' | 'ending' | 'isolating' | 'done';

interface Probe {
  readonly record: AnyRecord;
  chain: OperatorChain | undefined;
  readonly outputs: AnyRecord[];
  /** undefined while running; then how it ended. */
  result: { readonly error?: Error } | undefined;
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
  /** While isolating: every input run alone, in input order, and the next one to start. */
  probes: Probe[];
  nextProbe: number;
  startingProbes: boolean;
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
      let draining = false;
      let drainAgain = false;
      let operator: OperatorFunction<AnyRecord, unknown> | Error | undefined;

      /** The task's operator function: the factory runs once, on the first record. */
      const operatorFunction = (): OperatorFunction<AnyRecord, unknown> | Error => {
        if (operator === undefined) {
          try {
            operator = makeOperator(context);
          } catch (error) {
            operator = stepError(context.nodeName, `building the pipe() operators failed: ${toError(error).message}`, error);
          }
        }
        return operator;
      };

      const startChain = (callbacks: Parameters<typeof OperatorChain.start>[2]): OperatorChain | EarlyEnd => {
        const built = operatorFunction();
        return built instanceof Error ? { error: built } : OperatorChain.start(context, built, callbacks);
      };

      const stopTimers = (epoch: Epoch) => {
        epoch.holdTimer?.unsubscribe();
        epoch.completionTimer?.unsubscribe();
        epoch.holdTimer = undefined;
        epoch.completionTimer = undefined;
      };

      const emit = (epoch: Epoch, out: AnyRecord) => {
        epoch.queued.push(out);
        if (epochs[0] === epoch) drain();
      };

      /**
       * Passes on what may go: the head epoch's queue (all of it once done), then the next epochs'.
       * Passing a record on may re-enter the step (a sink that feeds the input synchronously); the
       * nested call only asks for another round, so the list is never walked by two loops at once.
       */
      const drain = () => {
        if (draining) {
          drainAgain = true;
          return;
        }
        draining = true;
        try {
          do {
            drainAgain = false;
            while (!tornDown && epochs.length > 0) {
              const head = epochs[0] as Epoch;
              if (head.state === 'done' || (!context.transactional && head.state !== 'isolating')) {
                while (head.queued.length > 0) subscriber.next(head.queued.shift() as AnyRecord);
              }
              if (head.state !== 'done' || head.queued.length > 0) break;
              epochs.shift();
            }
          } while (drainAgain && !tornDown);
        } finally {
          draining = false;
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
          probes: [],
          nextProbe: 0,
          startingProbes: false,
        };
        const chain = startChain({
          input: (stamp) => epoch.held.get(stamp),
          inputs: () => epoch.held.values(),
          output: (out) => emit(epoch, out),
          restart: () => {
            for (const out of epoch.queued.splice(0)) releaseLineage(out.lineage);
          },
          end: (error) => (error === undefined ? onEpochComplete(epoch) : isolate(epoch)),
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

      /**
       * The chain failed: its own error is not routed. Run alone, each input meets its own error
       * again (or none, when only the combination failed, and then its outputs come out).
       */
      const isolate = (epoch: Epoch) => {
        stopTimers(epoch);
        // Outputs not yet passed on are taken back; running their inputs again makes them anew.
        for (const out of epoch.queued.splice(0)) releaseLineage(out.lineage);
        epoch.state = 'isolating';
        epoch.probes = [...epoch.held.values()].map((record) => ({ record, chain: undefined, outputs: [], result: undefined }));
        epoch.held.clear();
        epoch.completionTimer = context.scheduler.schedule(() => {
          for (const probe of epoch.probes) {
            if (probe.result !== undefined) continue;
            probe.chain?.dispose();
            probe.result = { error: timedOut() };
          }
          epoch.nextProbe = epoch.probes.length;
          settleIsolation(epoch);
        }, completionTimeoutMs);
        startProbes(epoch);
      };

      const startProbes = (epoch: Epoch) => {
        // A probe that ends synchronously asks for more from inside this loop: it only returns, and
        // the loop goes on, so a long isolation never nests one call per record.
        if (epoch.startingProbes) return;
        epoch.startingProbes = true;
        try {
          startMoreProbes(epoch);
        } finally {
          epoch.startingProbes = false;
        }
        settleIsolation(epoch);
      };

      const startMoreProbes = (epoch: Epoch) => {
        const running = () => epoch.probes.filter((probe) => probe.result === undefined && probe.chain !== undefined).length;
        while (!tornDown && epoch.state === 'isolating' && epoch.nextProbe < epoch.probes.length && running() < ISOLATION_PARALLELISM) {
          const probe = epoch.probes[epoch.nextProbe++] as Probe;
          const stamp = probe.record.stamps[0];
          const chain = startChain({
            input: (s) => (s === stamp ? probe.record : undefined),
            inputs: () => [probe.record],
            output: (out) => probe.outputs.push(out),
            restart: () => {
              for (const out of probe.outputs.splice(0)) releaseLineage(out.lineage);
            },
            end: (error) => {
              probe.result = error === undefined ? {} : { error };
              startProbes(epoch);
            },
          });
          if (!(chain instanceof OperatorChain)) {
            // Built and ended at once: failed, or completed dropping the record.
            probe.result = 'error' in chain ? { error: chain.error } : {};
            continue;
          }
          probe.chain = chain;
          chain.push(probe.record);
          chain.complete();
        }
      };

      /** Once every input ran alone: outputs in input order, failures to the error policy. */
      const settleIsolation = (epoch: Epoch) => {
        if (epoch.state !== 'isolating' || epoch.nextProbe < epoch.probes.length || epoch.probes.some((probe) => probe.result === undefined)) return;
        epoch.completionTimer?.unsubscribe();
        epoch.completionTimer = undefined;
        const probes = epoch.probes;
        epoch.probes = [];
        epoch.state = 'done';
        for (const probe of probes) {
          const error = probe.result?.error;
          if (error === undefined) {
            epoch.queued.push(...probe.outputs);
            releaseLineage(probe.record.lineage);
          } else {
            for (const out of probe.outputs) releaseLineage(out.lineage);
            failRecord(probe.record, error);
          }
        }
        drain();
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
          const records = [...epoch.queued.splice(0), ...epoch.held.values()];
          for (const probe of epoch.probes.splice(0)) {
            probe.chain?.dispose();
            records.push(...probe.outputs, probe.record);
          }
          epoch.held.clear();
          for (const record of records) releaseLineage(record.lineage);
        }
      };
    });
}
