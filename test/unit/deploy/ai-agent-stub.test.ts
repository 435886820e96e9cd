import { afterEach, describe, expect, it } from 'vitest';
import { startAiAgentStub, type AiAgentStub } from '../../../scripts/ai-agent-stub.ts';

let stub: AiAgentStub | undefined;

afterEach(async () => {
  await stub?.stop();
  stub = undefined;
});

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/ratings`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

describe('the AI-agent stub of the compose stack', () => {
  it('accepts enriched ratings with the right token, counts repeated idempotency keys, and rejects the rest', async () => {
    stub = await startAiAgentStub({ port: 0, token: 'dev-token' });
    const auth = { authorization: 'Bearer dev-token' };

    const first = await post(stub.url, '{"id":"r1"}', { ...auth, 'idempotency-key': 'r1' });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ accepted: true, duplicate: false });
    const again = await post(stub.url, '{"id":"r1"}', { ...auth, 'idempotency-key': 'r1' });
    expect(await again.json()).toEqual({ accepted: true, duplicate: true });

    expect((await post(stub.url, '{"id":"r2"}', { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post(stub.url, 'not json', auth)).status).toBe(400);
    expect((await fetch(`${stub.url}/ratings`, { headers: auth })).status).toBe(405);

    expect(stub.stats()).toEqual({ accepted: 2, duplicates: 1, rejected: 2 });
    const health = await fetch(`${stub.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await (await fetch(`${stub.url}/stats`)).json()).toEqual({ accepted: 2, duplicates: 1, rejected: 2 });
  });

  it('forgets the oldest keys beyond its memory, and checks no token when none is set', async () => {
    stub = await startAiAgentStub({ port: 0, rememberKeys: 2 });
    for (const key of ['a', 'b', 'c']) expect((await post(stub.url, '{}', { 'idempotency-key': key })).status).toBe(200);
    // 'a' was forgotten when 'c' came in; 'c' is still remembered.
    expect(await (await post(stub.url, '{}', { 'idempotency-key': 'a' })).json()).toEqual({ accepted: true, duplicate: false });
    expect(await (await post(stub.url, '{}', { 'idempotency-key': 'c' })).json()).toEqual({ accepted: true, duplicate: true });
  });
});
