import { expect } from 'vitest';
import type { StreamsError } from '../../../src/errors/streams-error.ts';

type ErrorClass = abstract new (...args: never[]) => StreamsError;

/** Runs `fn`, asserts it threw `errorClass` with `code`, and returns the error for further checks. */
export function expectStreamsError<E extends StreamsError>(
  fn: () => unknown,
  errorClass: ErrorClass & (abstract new (...args: never[]) => E),
  code: string,
  message: RegExp,
): E {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(errorClass);
  const error = thrown as E;
  expect(error.code).toBe(code);
  expect(error.message).toMatch(message);
  return error;
}
