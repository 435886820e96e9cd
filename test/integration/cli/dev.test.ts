/**
 * `rating-streams dev` (a child process) runs what `npm start` runs: with nothing configured, the
 * whole pipeline embedded, printing summary lines whose counts grow, and stopping cleanly on SIGTERM.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSummary } from '../../../topologies/pipeline/summary.ts';
import { emptyDirectory, runCli, startCli } from '../../support/cli.ts';

async function until(condition: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('rating-streams dev', () => {
  // One PGlite data directory for the file: prepared by the first run, loaded by the later ones.
  const cache = mkdtempSync(join(tmpdir(), 'cli-dev-pglite-'));
  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  it('runs the embedded pipeline with the options after --, and stops cleanly on SIGTERM', async () => {
    const dev = startCli(['dev', '--', '--summary-ms', '1000', '--rate', '50', '--users', '200', '--pglite-cache', cache]);
    const ingested = () =>
      dev
        .stdout()
        .split('\n')
        .map((line) => parseSummary(line)?.ingested ?? 0);
    await until(() => Math.max(0, ...ingested()) > 0, 90_000, () => `a summary with ingested ratings:\n${dev.stdout().slice(-1_500)}\n${dev.stderr().slice(-1_500)}`);
    expect(dev.stdout()).toContain('rating pipeline: starting; embedded:');
    dev.child.kill('SIGTERM');
    const result = await dev.result;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/rating pipeline: stopped cleanly/);
  }, 120_000);

  it('passes a bad pipeline option through to the pipeline, which refuses it with exit code 2', async () => {
    const result = await runCli(['dev', '--', '--rate', 'fast']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--rate must be a number from 1 to 5000 (got fast)');
  }, 30_000);

  it('hands the pipeline .env and a secret from its _FILE, never printing it; an unreadable secret file is exit code 2', async () => {
    const cwd = emptyDirectory();
    writeFileSync(join(cwd, 'key'), 'dev-file-key-0001\n');
    writeFileSync(join(cwd, '.env'), 'OPENCLAW_URL=http://127.0.0.1:1\n');
    const run = await runCli(['dev', '--', '--duration-ms', '2000', '--pglite-cache', cache], { cwd, env: { OPENCLAW_API_KEY_FILE: join(cwd, 'key') } });
    expect(run.code).toBe(0);
    // The pipeline took both: it polls that URL with the key instead of starting its simulator.
    expect(run.stdout).toMatch(/rating pipeline: starting; embedded: in-memory transport, PostgreSQL \(PGlite\), AI-agent stub; real: OpenClaw http:\/\/127\.0\.0\.1:1/);
    expect(`${run.stdout}${run.stderr}`).not.toContain('dev-file-key-0001');
    const unreadable = await runCli(['dev'], { cwd, env: { OPENCLAW_API_KEY_FILE: join(cwd, 'nope') } });
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr).toContain(`OPENCLAW_API_KEY_FILE names ${join(cwd, 'nope')}, which cannot be read (ENOENT)`);
  }, 60_000);
});
