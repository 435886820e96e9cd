import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { redactSecrets, safeError } from '../../../src/index.ts';
import { redactingLogger } from '../../../src/runtime/logger.ts';

describe('secrets never reach logs', () => {
  it('scrubs bearer tokens, passwords in URLs, key=value secrets and given values', () => {
    const text = 'GET https://api.example/ratings Authorization: Bearer abc.def-123 db postgres://app:s3cret@db:5432/x apiKey=k-999 and token "tok-1"';
    const clean = redactSecrets(text, ['tok-1']);
    for (const secret of ['abc.def-123', 's3cret', 'k-999', 'tok-1']) expect(clean).not.toContain(secret);
    expect(clean).toContain('postgres://app:[REDACTED]@db:5432/x');
  });

  it('logs errors as scrubbed data without the properties that carry request headers', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = redactingLogger(pino({ level: 'info' }, sink), ['the-api-key']);
    const error = Object.assign(new Error('request failed with the-api-key in the URL'), {
      code: 'ERR_BAD_RESPONSE',
      config: { headers: { Authorization: 'Bearer leaked-token' } },
      cause: new Error('password=hunter2'),
    });
    logger.child({ app: 'x' }).error({ err: error }, 'sink failed');
    const logged = lines.join('');
    expect(logged).toContain('sink failed');
    expect(logged).toContain('ERR_BAD_RESPONSE');
    for (const secret of ['the-api-key', 'leaked-token', 'hunter2']) expect(logged).not.toContain(secret);
    expect(safeError(error).cause?.message).toBe('password=[REDACTED]');
  });
});
