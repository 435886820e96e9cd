/**
 * The input of a topology node inside a task: an RxJS `Subject` whose `next` hands the record to
 * its subscribers directly. RxJS' own `next` (its ES5 build is what Node loads) wraps every call in
 * a closure for its deprecated synchronous error mode and walks the observers with an iterator
 * object: two allocations per record per node, a measurable share of the engine's time. Errors,
 * completion and subscription are RxJS' own.
 */
import { ObjectUnsubscribedError, Subject } from 'rxjs';

export class RecordSubject<T> extends Subject<T> {
  override next(value: T): void {
    if (this.closed) throw new ObjectUnsubscribedError();
    if (this.isStopped) return;
    const observers = this.observers;
    // A task subscribes each input once; several subscribers get a copy to walk, so one that
    // unsubscribes while a record is handed on cannot make another miss it.
    if (observers.length === 1) (observers[0] as { next(value: T): void }).next(value);
    else for (const observer of observers.slice()) observer.next(value);
  }
}
