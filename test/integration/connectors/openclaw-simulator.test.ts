/**
 * The OpenClaw simulator over real HTTP on 127.0.0.1: pagination, auth and every injected fault.
 * Needs no broker or database.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import {
  startOpenClawSimulator,
  type OpenClawSimulator,
  type OpenClawSimulatorOptions,
} from '../../../src/connectors/openclaw/simulator.ts';

const KEY = 'test-key';
const START = 1_700_000_000_000;
const running: OpenClawSimulator[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.stop()));
});

async function start(options: OpenClawSimulatorOptions = {}): Promise<OpenClawSimulator> {
  const sim = await startOpenClawSimulator({ apiKey: KEY, startTimestamp: START, seed: 7, ...options });
  running.push(sim);
  return sim;
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

async function get(sim: OpenClawSimulator, query = '', key: string | null = KEY, path = '/api/ratings'): Promise<Answer> {
  const headers: Record<string, string> = key === null ? {} : { authorization: `Bearer ${key}` };
  const response = await fetch(`${sim.url}${path}${query}`, { headers });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

interface Row {
  readonly id: string;
  readonly productId: string;
  readonly userId?: string;
  readonly score: number;
  readonly comment: string | null;
  readonly timestamp: number;
}

async function page(sim: OpenClawSimulator, query = ''): Promise<Row[]> {
  const answer = await get(sim, query);
  expect(answer.status).toBe(200);
  const body: unknown = JSON.parse(answer.text);
  expect(Array.isArray(body)).toBe(true);
  return body as Row[];
}

function isValid(row: Row): boolean {
  return (
    Number.isInteger(row.score) &&
    row.score >= 1 &&
    row.score <= 5 &&
    row.productId !== '' &&
    typeof row.userId === 'string' &&
    row.userId !== '' &&
    row.timestamp < Date.now() + 24 * 60 * 60 * 1000
  );
}

const cursorQuery = (cursor: { timestamp: number; id: string } | undefined, limit: number): string =>
  cursor === undefined ? `?limit=${limit}` : `?since=${cursor.timestamp}&after_id=${cursor.id}&limit=${limit}`;

/**
 * A client that follows the cursor: takes it from the last row of a page that validates and is not
 * before the current cursor, until a page brings nothing new. Returns every page it saw.
 */
async function walk(sim: OpenClawSimulator, limit: number): Promise<Row[][]> {
  const pages: Row[][] = [];
  let cursor: { timestamp: number; id: string } | undefined;
  for (;;) {
    const rows = await page(sim, cursorQuery(cursor, limit));
    pages.push(rows);
    const before = cursor;
    for (const row of rows) {
      const ahead = cursor === undefined || row.timestamp > cursor.timestamp || (row.timestamp === cursor.timestamp && row.id > cursor.id);
      if (ahead && isValid(row)) cursor = { timestamp: row.timestamp, id: row.id };
    }
    if (cursor === before) return pages;
    expect(pages.length).toBeLessThan(10_000);
  }
}

const sortedByCursor = (rows: readonly Row[]): boolean =>
  rows.every((row, i) => {
    const prev = rows[i - 1];
    return prev === undefined || prev.timestamp < row.timestamp || (prev.timestamp === row.timestamp && prev.id <= row.id);
  });

describe('OpenClaw simulator: pagination', () => {
  it('walks a fixed set exactly once, in order, when the client follows the (timestamp, id) cursor', async () => {
    const sim = await start({ total: 1000 });
    const all = sim.ratings();
    // Several ratings share a millisecond, so a cursor without after_id would repeat or skip some.
    expect(new Set(all.map((r) => r.timestamp)).size).toBeLessThan(700);
    const pages = await walk(sim, 37);
    const ids = pages.flat().map((r) => r.id);
    expect(ids).toEqual(all.map((r) => r.id));
    expect(pages.flat()).toEqual(all);
    expect(pages.every((p) => sortedByCursor(p) && p.length <= 37)).toBe(true);
    expect(pages.at(-1)).toEqual([]);
    expect(sim.stats().ratingsServed).toBe(1000);
  });

  it('filters by since and after_id at a shared millisecond, and caps limit at 1000', async () => {
    const sim = await start({ total: 1500 });
    const all = sim.ratings();
    const tie = all.findIndex((r, i) => all[i + 1]?.timestamp === r.timestamp && all[i + 2]?.timestamp === r.timestamp);
    const t = all[tie]?.timestamp ?? -1;
    const firstAtT = all.findIndex((r) => r.timestamp === t);
    const fromT = await page(sim, `?since=${t}&limit=5`);
    expect(fromT).toEqual(all.slice(firstAtT, firstAtT + 5));
    const afterFirst = await page(sim, `?since=${t}&after_id=${all[firstAtT]?.id}&limit=5`);
    expect(afterFirst).toEqual(all.slice(firstAtT + 1, firstAtT + 6));
    expect(await page(sim, `?since=${all.at(-1)?.timestamp}&after_id=${all.at(-1)?.id}`)).toEqual([]);
    expect((await page(sim)).length).toBe(100);
    expect((await page(sim, '?limit=5000')).length).toBe(1000);
    expect(await page(sim, `?since=${(all.at(-1)?.timestamp ?? 0) + 1}`)).toEqual([]);
  });

  it('answers 400 to a query it cannot read', async () => {
    const sim = await start({ total: 10 });
    for (const query of ['?limit=0', '?limit=ten', '?since=yesterday', '?after_id=r000000001', '?since=1.5']) {
      const answer = await get(sim, query);
      expect({ query, status: answer.status }).toEqual({ query, status: 400 });
      expect(JSON.parse(answer.text)).toMatchObject({ error: 'bad_request' });
    }
  });

  it('grows a live set with the clock, lazily', async () => {
    let now = START;
    const sim = await start({ ratePerSecond: 50, now: () => now });
    expect((await page(sim, '?limit=1000')).length).toBe(1);
    now = START + 1000;
    const rows = await page(sim, '?limit=1000');
    expect(rows.length).toBe(51);
    expect(rows.at(-1)?.timestamp).toBe(START + 1000);
    now = START + 2000;
    expect(await page(sim, `?since=${START + 1000}&after_id=${rows.at(-1)?.id}&limit=1000`)).toHaveLength(50);
  });

  it('answers health, unknown paths and other methods', async () => {
    const sim = await start({ total: 1 });
    expect((await get(sim, '', null, '/healthz')).status).toBe(200);
    expect((await get(sim, '', KEY, '/api/other')).status).toBe(404);
    const post = await fetch(`${sim.url}/api/ratings`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` } });
    expect(post.status).toBe(405);
    await post.text();
  });
});

describe('OpenClaw simulator: auth', () => {
  it('answers 401 without a key or with a wrong one, and after revokeKey; 403 after revokeKey(403)', async () => {
    const sim = await start({ total: 5 });
    const missing = await get(sim, '', null);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(JSON.parse(missing.text)).toMatchObject({ error: 'unauthorized' });
    expect((await get(sim, '', 'wrong-key')).status).toBe(401);
    expect((await get(sim, '', KEY)).status).toBe(200);
    sim.revokeKey();
    expect((await get(sim, '', KEY)).status).toBe(401);
    sim.revokeKey(403);
    const forbidden = await get(sim, '', KEY);
    expect(forbidden.status).toBe(403);
    expect(JSON.parse(forbidden.text)).toMatchObject({ error: 'forbidden' });
    sim.reinstateKey();
    expect((await get(sim, '', KEY)).status).toBe(200);
    expect(sim.stats().byStatus).toEqual({ 200: 2, 401: 3, 403: 1 });
    expect(sim.stats().requests).toBe(6);
  });
});

describe('OpenClaw simulator: faults', () => {
  it('injects 500, 502 and 503', async () => {
    const sim = await start({ total: 5, faults: { serverError: 1 } });
    const statuses = new Set<number>();
    for (let i = 0; i < 30; i += 1) statuses.add((await get(sim)).status);
    expect([...statuses].sort()).toEqual([500, 502, 503]);
    expect(sim.stats().faults.serverError).toBe(30);
  });

  it('injects 429 with Retry-After in seconds', async () => {
    const sim = await start({ total: 5, faults: { tooManyRequests: 1 }, retryAfterSeconds: 7 });
    const answer = await get(sim);
    expect(answer.status).toBe(429);
    expect(answer.headers.get('retry-after')).toBe('7');
    expect(sim.stats().faults.tooManyRequests).toBe(1);
  });

  it('answers slowly, with a normal page', async () => {
    const sim = await start({ total: 5, faults: { slow: 1 }, slowDelayMs: 300 });
    const began = performance.now();
    const rows = await page(sim);
    expect(performance.now() - began).toBeGreaterThanOrEqual(290);
    expect(rows).toEqual(sim.ratings());
    expect(sim.stats().faults.slow).toBe(1);
  });

  it('stops promptly while a slow response is pending, cutting it off', async () => {
    const sim = await start({ total: 5, faults: { slow: 1 }, slowDelayMs: 60_000 });
    const pending = fetch(`${sim.url}/api/ratings`, { headers: { authorization: `Bearer ${KEY}` } });
    while (sim.stats().faults.slow === 0) await new Promise((resolve) => setImmediate(resolve));
    const began = performance.now();
    await sim.stop();
    await sim.stop();
    expect(performance.now() - began).toBeLessThan(5_000);
    await expect(pending).rejects.toThrow();
  });

  it('sends a truncated JSON body', async () => {
    const sim = await start({ total: 5, faults: { malformedJson: 1 } });
    const answer = await get(sim);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/json');
    expect(answer.text.startsWith('[')).toBe(true);
    expect(() => JSON.parse(answer.text)).toThrow(SyntaxError);
    expect(sim.stats().faults.malformedJson).toBe(1);
    expect(sim.stats().ratingsServed).toBe(0);
  });

  it('sends an object where an array belongs', async () => {
    const sim = await start({ total: 5, faults: { wrongShape: 1 } });
    const answer = await get(sim);
    expect(answer.status).toBe(200);
    const body: unknown = JSON.parse(answer.text);
    expect(Array.isArray(body)).toBe(false);
    expect(body).toEqual({ data: sim.ratings() });
    expect(sim.stats().faults.wrongShape).toBe(1);
  });

  it('mixes in invalid ratings whose ids are known in advance', async () => {
    const sim = await start({ total: 600, invalidRate: 0.2 });
    const invalid = sim.expectedInvalid();
    const valid = sim.expectedValid();
    expect(invalid.length).toBeGreaterThan(60);
    expect([...valid, ...invalid].sort()).toEqual(sim.ratings().map((r) => r.id));
    const seen = new Map((await walk(sim, 50)).flat().map((r) => [r.id, r]));
    expect([...seen.keys()].sort()).toEqual(sim.ratings().map((r) => r.id));
    const rejected = [...seen.values()].filter((r) => !isValid(r)).map((r) => r.id).sort();
    expect(rejected).toEqual(invalid);
    expect(invalid.every((id) => sim.isInvalid(id)) && !valid.some((id) => sim.isInvalid(id))).toBe(true);
    const rows = [...seen.values()];
    expect(rows.some((r) => r.score === 0) && rows.some((r) => r.score === 7)).toBe(true);
    expect(rows.some((r) => r.productId === '') && rows.some((r) => !('userId' in r))).toBe(true);
    expect(rows.some((r) => r.timestamp > Date.now() + 365 * 24 * 60 * 60 * 1000)).toBe(true);
    expect(sim.stats().faults.invalidRecords).toBeGreaterThanOrEqual(invalid.length);
  });

  it('repeats a rating inside a page, yet the walk still covers the set with known ratings only', async () => {
    const sim = await start({ total: 200, faults: { duplicate: 1 } });
    const pages = await walk(sim, 10);
    const known = new Map(sim.ratings().map((r) => [r.id, r]));
    for (const rows of pages.filter((p) => p.length > 0)) {
      const ids = rows.map((r) => r.id);
      expect(ids.length - new Set(ids).size).toBe(1);
      expect(rows.length).toBeLessThanOrEqual(10);
      expect(sortedByCursor(rows)).toBe(true);
      expect(rows.every((r) => JSON.stringify(known.get(r.id)) === JSON.stringify(r))).toBe(true);
    }
    expect([...new Set(pages.flat().map((r) => r.id))]).toEqual([...known.keys()]);
    expect(sim.stats().faults.duplicate).toBe(pages.filter((p) => p.length > 0).length);
  });

  it('starts pages with ratings from before the cursor, yet the walk still covers the set once per new rating', async () => {
    const sim = await start({ total: 200, faults: { overlap: 1 } });
    const pages = await walk(sim, 10);
    const known = new Map(sim.ratings().map((r) => [r.id, r]));
    let repeated = 0;
    const seen = new Set<string>();
    for (const rows of pages) {
      const old = rows.filter((r) => seen.has(r.id)).length;
      repeated += old;
      expect(rows.length).toBeLessThanOrEqual(10);
      expect(sortedByCursor(rows)).toBe(true);
      if (seen.size > 0 && rows.length > 0) {
        expect(old).toBeGreaterThanOrEqual(1);
        expect(old).toBeLessThanOrEqual(3);
        expect(rows.slice(0, old).every((r) => seen.has(r.id))).toBe(true);
      }
      for (const r of rows) {
        expect(JSON.stringify(known.get(r.id))).toBe(JSON.stringify(r));
        seen.add(r.id);
      }
    }
    expect([...seen]).toEqual([...known.keys()]);
    expect(repeated).toBeGreaterThan(0);
    expect(sim.stats().faults.overlap).toBe(pages.filter((p) => p.length > 0).length - 1);
  });

  it('forces the next requests to fail with failNext, then serves normally', async () => {
    const sim = await start({ total: 5 });
    sim.failNext('serverError', 'tooManyRequests', 'wrongShape');
    expect((await get(sim)).status).toBeGreaterThanOrEqual(500);
    expect((await get(sim)).status).toBe(429);
    expect(Array.isArray(JSON.parse((await get(sim)).text))).toBe(false);
    expect(await page(sim)).toEqual(sim.ratings());
  });

  it('injects the same faults for the same seed and request sequence, and others for another seed', async () => {
    const faults = { serverError: 0.2, tooManyRequests: 0.2, malformedJson: 0.2, wrongShape: 0.2, duplicate: 0.3, overlap: 0.3 };
    const run = async (seed: number) => {
      const sim = await start({ total: 300, seed, faults });
      const answers: string[] = [];
      for (let i = 0; i < 40; i += 1) {
        const answer = await get(sim, `?since=${START + i * 7}&limit=6`);
        answers.push(`${answer.status} ${answer.text}`);
      }
      return { answers, faults: sim.stats().faults };
    };
    const first = await run(21);
    expect(await run(21)).toEqual(first);
    expect((await run(22)).answers).not.toEqual(first.answers);
    const injected = Object.values(first.faults).reduce((a, b) => a + b, 0);
    expect(injected).toBeGreaterThan(10);
  });
});

describe('OpenClaw simulator: command line', () => {
  it('prints its URL, serves ratings with the given key, and stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'scripts/openclaw-simulator.ts', '--port', '0', '--total', '3', '--api-key', 'cli-key', '--seed', '5'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
      expect(line).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const response = await fetch(`${line}/api/ratings`, { headers: { authorization: 'Bearer cli-key' } });
      const rows = (await response.json()) as Row[];
      expect(rows.map((r) => r.id)).toEqual(['r000000001', 'r000000002', 'r000000003']);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toMatch(/stopped on SIGTERM/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
