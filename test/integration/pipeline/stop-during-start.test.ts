/**
 * Ctrl-C while `npm start` is still starting, at its longest step: a first start's initdb. The
 * process must stay responsive (initdb runs in a child process), let initdb finish so the saved
 * data directory is kept, exit 0, and leave no process behind.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const cacheDir = mkdtempSync(join(tmpdir(), 'pglite-stop-during-start-'));

afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

function processGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start stopped during start-up', () => {
  it('Ctrl-C during the first start\'s initdb: says so at once, lets initdb finish, keeps its result, exits 0', { timeout: 60_000 }, async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !['KAFKA_BROKERS', 'DATABASE_URL', 'OPENCLAW_URL', 'OPENCLAW_API_KEY', 'AI_AGENT_ENDPOINT', 'LOG_LEVEL'].includes(name)));
    const child = spawn(process.execPath, ['--import', 'tsx', 'topologies/pipeline/main.ts', '--pglite-cache', cacheDir], { cwd: repo, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const pgid = child.pid as number;
    const lines: Array<{ line: string; at: number }> = [];
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const firstStart = new Promise<void>((resolve) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        lines.push({ line, at: performance.now() });
        if (line.startsWith('embedded PostgreSQL: first start')) resolve();
      });
    });
    try {
      await firstStart;
      const sentAt = performance.now();
      // Ctrl-C: the terminal signals the whole process group (initdb's child process included).
      process.kill(-pgid, 'SIGINT');
      const code = await exited;
      const acknowledged = lines.find(({ line }) => line.startsWith('rating pipeline: SIGINT, stopping'));
      expect(acknowledged, lines.map((l) => l.line).join('\n')).toBeDefined();
      // Answered while initdb was still running, not after it.
      expect((acknowledged?.at ?? Infinity) - sentAt).toBeLessThan(1_000);
      expect(lines.map((l) => l.line)).toContain('embedded PostgreSQL: letting initdb finish first (a few seconds), so that later starts can skip it');
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(lines.at(-1)?.line).toMatch(/^rating pipeline: stopped cleanly in [\d.]+ s$/);
      expect(existsSync(cacheDir) && readdirSync(cacheDir).filter((name) => name.endsWith('.tar'))).toHaveLength(1);
      expect(processGroupAlive(pgid)).toBe(false);
    } finally {
      if (processGroupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
    }
  });
});
