import { describe, expect, it } from 'vitest';
import { describePayload } from '../../../src/serdes/index.ts';

describe('describing a payload in an error message', () => {
  it('gives the length and the whole payload in hex when it is at most 16 bytes', () => {
    expect(describePayload(Buffer.alloc(0))).toBe('0 bytes');
    expect(describePayload(Buffer.from('{"a":'))).toBe('5 bytes: 7b2261223a');
    expect(describePayload(Buffer.alloc(16, 0xab))).toBe(`16 bytes: ${'ab'.repeat(16)}`);
  });

  it('cuts longer payloads after 16 bytes', () => {
    expect(describePayload(Buffer.alloc(1_000_000, 0x01))).toBe(`1000000 bytes: ${'01'.repeat(16)}…`);
  });

  it('previews a view from its own offset, not the start of the shared memory', () => {
    const shared = Buffer.from([0xff, 0xff, 0x01, 0x02]);
    expect(describePayload(shared.subarray(2))).toBe('2 bytes: 0102');
  });
});
