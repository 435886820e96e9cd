import { describe, expect, it } from 'vitest';
import { optionsFromArgs } from '../../../scripts/openclaw-simulator.ts';

describe('the OpenClaw simulator command line', () => {
  it('reads the documented flags into simulator options', () => {
    const options = optionsFromArgs(
      ['--port', '0', '--rate', '50', '--api-key', 'dev-key', '--users', '1000', '--products', '200', '--seed', '9', '--slow-ms', '20'],
    );
    expect(options).toEqual({
      port: 0,
      ratePerSecond: 50,
      apiKey: 'dev-key',
      users: 1000,
      products: 200,
      seed: 9,
      slowDelayMs: 20,
      faults: {},
    });
  });

  it('spreads --fault-rate over the request faults and invalid ratings; a fault flag of its own wins', () => {
    const options = optionsFromArgs(['--fault-rate', '0.7', '--slow-rate', '0', '--total', '10']);
    const share = expect.closeTo(0.1, 12);
    expect(options).toEqual({
      port: 8080,
      total: 10,
      invalidRate: share,
      faults: { serverError: share, tooManyRequests: share, slow: 0, malformedJson: share, wrongShape: share, duplicate: share, overlap: share },
    });
  });

  it('refuses a number flag that is not a number, and unknown flags', () => {
    expect(() => optionsFromArgs(['--rate', 'fast'])).toThrow(/--rate must be a number/);
    expect(() => optionsFromArgs(['--rat', '5'])).toThrow(/Unknown option/);
    expect(optionsFromArgs(['-h'])).toBe('help');
  });
});
