import { describe, expect, it } from 'vitest';
import { decideAvailability, isCi, ServiceUnavailableError } from '../support/infra-policy.ts';

describe('what a run does when a service is missing', () => {
  it('reads CI the way CI systems set it', () => {
    expect(isCi({ CI: 'true' })).toBe(true);
    expect(isCi({ CI: '1' })).toBe(true);
    expect(isCi({ CI: 'false' })).toBe(false);
    expect(isCi({ CI: '0' })).toBe(false);
    expect(isCi({})).toBe(false);
  });

  it('fails the run under CI=true, naming the service and how to start it', () => {
    const decide = () => decideAvailability('Kafka', { error: new Error('ECONNREFUSED') }, 'Run npm run kafka:start.', { CI: 'true' });
    expect(decide).toThrow(ServiceUnavailableError);
    expect(decide).toThrow(/Kafka is not reachable: ECONNREFUSED\. Run npm run kafka:start\./);
  });

  it('skips with the reason outside CI', () => {
    expect(decideAvailability('PostgreSQL', { error: new Error('down') }, 'Start it.', {})).toEqual({
      ok: false,
      reason: 'PostgreSQL is not reachable: down. Start it.',
    });
  });

  it('hands over the value when the service is there', () => {
    expect(decideAvailability('Kafka', { value: { brokers: ['127.0.0.1:9092'] } }, '', { CI: 'true' })).toEqual({
      ok: true,
      value: { brokers: ['127.0.0.1:9092'] },
    });
  });
});
