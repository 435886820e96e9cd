import { describe } from 'vitest';
import { MemoryTransport } from '../../../src/index.ts';
import { definePipeProperties } from '../../conformance/pipe-properties.ts';

describe('pipe() properties on the memory transport', () => {
  definePipeProperties('memory', () => new MemoryTransport(), { numRuns: 100, timeoutMs: 240_000 });
});
