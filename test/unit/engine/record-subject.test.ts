/**
 * A task's node inputs hand records on without RxJS' per-call closure; they must behave as RxJS'
 * Subject does for everything a topology does with them.
 */
import { Subject, filter, map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { RecordSubject } from '../../../src/runtime/record-subject.ts';

function drive(make: () => Subject<number>): unknown[] {
  const seen: unknown[] = [];
  const subject = make();
  const first = subject.pipe(map((n) => n * 2)).subscribe({ next: (v) => seen.push(['a', v]), complete: () => seen.push('a done') });
  subject.pipe(filter((n) => n % 2 === 0)).subscribe({
    next: (v) => {
      seen.push(['b', v]);
      // Unsubscribing another subscriber while a value is being handed on.
      if (v === 4) first.unsubscribe();
    },
    complete: () => seen.push('b done'),
  });
  for (const n of [1, 2, 3, 4, 5, 6]) subject.next(n);
  subject.complete();
  subject.next(7);
  return seen;
}

describe('RecordSubject', () => {
  it('hands every value to every subscriber in order, as a Subject does, through unsubscribes and completion', () => {
    expect(drive(() => new RecordSubject<number>())).toEqual(drive(() => new Subject<number>()));
    expect(drive(() => new RecordSubject<number>())).toContainEqual(['b', 6]);
  });

  it('hands a value to a lone subscriber, and refuses values once unsubscribed like a Subject', () => {
    const subject = new RecordSubject<string>();
    const seen: string[] = [];
    subject.subscribe((v) => seen.push(v));
    subject.next('x');
    expect(seen).toEqual(['x']);
    subject.unsubscribe();
    expect(() => subject.next('y')).toThrow(/unsubscribed/i);
    expect(() => new Subject<string>().next('z')).not.toThrow();
  });
});
