/**
 * The compose stack's AI-agent stand-in, run as its own process the way the compose file runs it:
 * it prints its URL, answers its health check, takes enriched ratings (deduplicated by
 * Idempotency-Key, bearer token checked), reports its counters and stops on SIGTERM with exit 0.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../../scripts/ai-agent-stub.ts', import.meta.url));

describe('the AI-agent stub process of the compose stack', () => {
  it('serves /healthz, /stats and POST /ratings with a token, and exits 0 on SIGTERM', { timeout: 30_000 }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], { env: { ...process.env, PORT: '0', HOST: '127.0.0.1', AI_AGENT_TOKEN: 'dev-token' }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const [line] = (await once(child.stdout, 'data')) as [Buffer];
      const url = line.toString().trim();
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/ratings$/);
      const base = new URL(url).origin;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);

      const post = (key: string, token: string) => fetch(url, { method: 'POST', body: '{"id":"r1"}', headers: { 'content-type': 'application/json', 'idempotency-key': key, authorization: `Bearer ${token}` } });
      expect(await (await post('r1', 'dev-token')).json()).toEqual({ status: 'accepted' });
      expect(await (await post('r1', 'dev-token')).json()).toEqual({ status: 'duplicate' });
      expect((await post('r2', 'wrong')).status).toBe(401);
      expect(await (await fetch(`${base}/stats`)).json()).toMatchObject({ accepted: 1, duplicates: 1, invalid: 1 });
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });
});
