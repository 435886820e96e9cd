/**
 * Parsers for the text of environment variables. Each takes a non-empty string (unset and empty
 * are handled by the variable) and fails with no message of its own: the message comes from the
 * variable's `expected`, so it reads the same whatever zod would have said.
 */
import { z } from 'zod';
import type { Parser } from './variable.ts';

export const text: Parser<string> = z.string();

/** A whole number from `min` to `max` written in decimal digits (no `1e3`, no `0x10`, no `1.0`). */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): Parser<number> {
  return z
    .string()
    .trim()
    .regex(/^-?\d+$/)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
}

/** A finite decimal number. */
export const finiteNumber: Parser<number> = z
  .string()
  .trim()
  .regex(/^-?(?:\d+\.?\d*|\.\d+)$/)
  .transform(Number)
  .pipe(z.number());

export function oneOf<const T extends readonly [string, ...string[]]>(values: T): Parser<T[number]> {
  return z.enum(values);
}

/** A Kafka topic name: letters, digits, `.`, `_` and `-`, at most 249 characters, not `.` or `..`. */
export const topicName: Parser<string> = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,249}$/)
  .refine((name) => name !== '.' && name !== '..');

/** Letters, digits, `.`, `_` and `-`: names that become transactional ids, cursor keys and topic prefixes. */
export const identifier: Parser<string> = z.string().regex(/^[A-Za-z0-9._-]{1,200}$/);

/** `host:port[,host:port...]`, spaces around the commas allowed. */
export const brokerList: Parser<readonly string[]> = z
  .string()
  .transform((value) => value.split(',').map((broker) => broker.trim()))
  .pipe(z.array(z.string().regex(/^[^\s:/]+:\d{1,5}$/)).min(1));

function urlWithProtocol(protocols: readonly string[]): Parser<string> {
  return z.string().refine((value) => {
    try {
      const url = new URL(value);
      return protocols.includes(url.protocol) && url.hostname !== '';
    } catch {
      return false;
    }
  });
}

export const httpUrl: Parser<string> = urlWithProtocol(['http:', 'https:']);
export const postgresUrl: Parser<string> = urlWithProtocol(['postgres:', 'postgresql:']);
