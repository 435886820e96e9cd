/**
 * The AI-agent stub over real loopback HTTP: it takes each idempotency key once, answers repeats
 * without a second effect, injects the faults it is asked for, and refuses malformed requests.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startAiAgentStub, type AiAgentStub, type AiAgentStubOptions } from '../../../src/connectors/openclaw/ai-agent-stub.ts';

let stub: AiAgentStub | undefined;

afterEach(async () => {
  await stub?.stop();
  stub = undefined;
});

async function start(options: AiAgentStubOptions = {}): Promise<AiAgentStub> {
  stub = await startAiAgentStub(options);
  return stub;
}

function post(url: string, key: string | undefined, body: string = JSON.stringify({ id: key }), headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { 'idempotency-key': key }), ...headers } });
}

describe('AI-agent stub', () => {
  it('accepts a key once and answers its repeats as duplicates, without a second effect', async () => {
    const seen: Array<[string, unknown]> = [];
    const agent = await start({ onAccepted: (key, body) => seen.push([key, body]) });
    expect(agent.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/ratings$/);

    const first = await post(agent.url, 'r1');
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ status: 'accepted' });
    const again = await post(agent.url, 'r1');
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual({ status: 'duplicate' });
    expect((await post(agent.url, 'r2')).status).toBe(200);

    expect(agent.stats()).toEqual({ requests: 3, accepted: 2, duplicates: 1, unavailable: 0, rejected: 0, invalid: 0 });
    expect(seen).toEqual([['r1', { id: 'r1' }], ['r2', { id: 'r2' }]]);
    expect(agent.hasAccepted('r1')).toBe(true);
    expect(agent.hasAccepted('r3')).toBe(false);
  });

  it('refuses malformed requests, counting them as invalid', async () => {
    const agent = await start({ token: 'secret-token', maxBodyBytes: 64 });
    const auth = { authorization: 'Bearer secret-token' };
    expect((await post(agent.url, 'k', undefined, {})).status).toBe(401);
    expect((await post(agent.url, undefined, '{}', auth)).status).toBe(400);
    expect((await post(agent.url, 'k', 'not json', auth)).status).toBe(400);
    expect((await post(agent.url, 'k', JSON.stringify({ text: 'x'.repeat(100) }), auth)).status).toBe(413);
    expect((await post(agent.url.replace('/ratings', '/other'), 'k', '{}', auth)).status).toBe(404);
    expect((await fetch(agent.url, { headers: auth })).status).toBe(405);
    expect((await post(agent.url, 'k', '{}', auth)).status).toBe(200);
    expect(agent.stats()).toMatchObject({ requests: 7, accepted: 1, invalid: 6 });
  });

  it('injects 503s per request and 422s per key, as often as asked', async () => {
    const down = await start({ unavailableRate: 1 });
    expect((await post(down.url, 'r1')).status).toBe(503);
    expect(down.stats()).toMatchObject({ unavailable: 1, accepted: 0 });
    await down.stop();

    const picky = await start({ rejectRate: 0.5, seed: 7 });
    const keys = Array.from({ length: 40 }, (_, i) => `r${i}`);
    const firstAnswers = await Promise.all(keys.map(async (key) => (await post(picky.url, key)).status));
    const rejected = keys.filter((_, i) => firstAnswers[i] === 422);
    // Roughly half, and the same keys every time: a permanent refusal, as a real validation error.
    expect(rejected.length).toBeGreaterThan(8);
    expect(rejected.length).toBeLessThan(32);
    for (const key of rejected) expect((await post(picky.url, key)).status).toBe(422);
    expect(picky.stats()).toMatchObject({ accepted: keys.length - rejected.length, rejected: rejected.length * 2 });
  });

  it('lets a retry through a transient 503, once', async () => {
    const agent = await start({ unavailableRate: 0.5, seed: 3 });
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 20 && statuses.at(-1) !== 200; attempt++) statuses.push((await post(agent.url, 'r1')).status);
    expect(statuses.at(-1)).toBe(200);
    expect((await post(agent.url, 'r1')).status).toBe(200);
    expect(agent.stats()).toMatchObject({ accepted: 1, duplicates: 1, unavailable: statuses.length - 1 });
  });

  it('remembers only the newest rememberKeys keys', async () => {
    const agent = await start({ rememberKeys: 2 });
    for (const key of ['a', 'b', 'c']) await post(agent.url, key);
    expect(['a', 'b', 'c'].map((key) => agent.hasAccepted(key))).toEqual([false, true, true]);
    await post(agent.url, 'a');
    expect(agent.stats()).toMatchObject({ accepted: 4, duplicates: 0 });
  });

  it('refuses options that cannot work, naming them', async () => {
    await expect(startAiAgentStub({ unavailableRate: 2 })).rejects.toThrow(/unavailableRate must be a probability in 0\.\.1, got 2/);
    await expect(startAiAgentStub({ rejectRate: -0.1 })).rejects.toThrow(/rejectRate must be a probability/);
    await expect(startAiAgentStub({ path: 'ratings' })).rejects.toThrow(/path must start with '\/'/);
    await expect(startAiAgentStub({ rememberKeys: 0 })).rejects.toThrow(/rememberKeys must be a whole number >= 1/);
  });

  it('stops once, closing its port', async () => {
    const agent = await start();
    await Promise.all([agent.stop(), agent.stop()]);
    await expect(post(agent.url, 'r1')).rejects.toThrow();
  });
});
