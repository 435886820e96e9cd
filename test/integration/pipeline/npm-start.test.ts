/**
 * `npm start` as a user runs it on a fresh clone: no configuration, no prepared PostgreSQL data.
 * It must print summary lines whose counts grow within 30 s, dead letters included, and stop
 * cleanly (exit 0, nothing on stderr) on SIGTERM to npm, as a process manager sends it, and on
 * Ctrl-C, which the terminal sends to the whole process group.
 *
 * The first run gets an empty PGlite cache directory of its own (the first-start path: initdb,
 * then the dump is saved); the second reuses it (the steady path: the dump is loaded).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSummary } from '../../../topologies/pipeline/summary.ts';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const cacheDir = mkdtempSync(join(tmpdir(), 'pglite-first-start-'));
const started: ChildProcess[] = [];

/** The environment of a shell with nothing configured: none of the variables that switch to real services. */
function cleanEnv(): NodeJS.ProcessEnv {
  const configured = new Set(['KAFKA_BROKERS', 'DATABASE_URL', 'OPENCLAW_URL', 'OPENCLAW_API_KEY', 'AI_AGENT_ENDPOINT', 'AI_AGENT_TOKEN', 'SCHEMA_REGISTRY_URL', 'LOG_LEVEL']);
  // `npm_*` variables are set by an enclosing `npm test`; a user's shell has none of them.
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !configured.has(name) && !name.startsWith('npm_')));
}

interface Run {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly stderr: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>;
  /** Resolves with the first `count` summary lines, each with when it arrived (ms after the spawn). */
  summaries(count: number, withinMs: number): Promise<Array<{ line: string; atMs: number }>>;
}

function npmStart(): Run {
  const spawnedAt = performance.now();
  // Its own process group, as a terminal gives a foreground job, so a Ctrl-C can be sent to all of it.
  const child = spawn('npm', ['start', '--', '--summary-ms', '1000', '--pglite-cache', cacheDir], { cwd: repo, env: cleanEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  const lines: string[] = [];
  const summaries: Array<{ line: string; atMs: number }> = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    lines.push(line);
    if (parseSummary(line) !== undefined) summaries.push({ line, atMs: performance.now() - spawnedAt });
    for (const wake of waiters) wake();
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, atMs: performance.now() })),
  );
  return {
    child,
    lines,
    stderr: () => stderr,
    exited,
    summaries: (count, withinMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${summaries.length} summary lines within ${withinMs} ms; output:\n${lines.join('\n')}\nstderr:\n${stderr}`)), withinMs);
        const check = () => {
          if (summaries.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(summaries.slice(0, count));
        };
        waiters.add(check);
        void exited.then(() => {
          if (summaries.length < count) {
            clearTimeout(timer);
            reject(new Error(`npm start exited before ${count} summary lines; output:\n${lines.join('\n')}\nstderr:\n${stderr}`));
          }
        });
        check();
      }),
  };
}

/** Each count strictly larger on every line than on the one before. */
function expectGrowth(found: Array<{ line: string }>): void {
  const counts = found.map(({ line }) => parseSummary(line));
  for (let i = 1; i < counts.length; i++) {
    const [before, after] = [counts[i - 1], counts[i]];
    expect(after?.ingested, found[i]?.line).toBeGreaterThan(before?.ingested ?? Infinity);
    expect(after?.enriched, found[i]?.line).toBeGreaterThan(before?.enriched ?? Infinity);
    expect(after?.aiOk, found[i]?.line).toBeGreaterThan(before?.aiOk ?? Infinity);
  }
  expect(counts.at(-1)?.deadLettered, found.at(-1)?.line).toBeGreaterThan(0);
}

afterAll(() => {
  // A run a failed assertion left behind: end its whole process group.
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  rmSync(cacheDir, { recursive: true, force: true });
});

describe('npm start, embedded, as on a fresh clone', () => {
  it('first start: growing counts within 30 s, dead letters, exit 0 on SIGTERM to npm with nothing on stderr', { timeout: 45_000 }, async () => {
    expect(readdirSync(cacheDir)).toEqual([]);
    const run = npmStart();
    const found = await run.summaries(3, 30_000);
    expect(run.lines.join('\n')).toContain('embedded PostgreSQL: first start');
    // The promise: growing counts (two lines that differ) within 30 s of the command.
    expect(found[1]?.atMs).toBeLessThan(30_000);
    expectGrowth(found);
    expect(readdirSync(cacheDir).filter((name) => name.endsWith('.tar'))).toHaveLength(1);

    const sentAt = performance.now();
    process.kill(run.child.pid as number, 'SIGTERM');
    const { code, atMs } = await run.exited;
    expect({ code, stderr: run.stderr() }).toEqual({ code: 0, stderr: '' });
    expect(atMs - sentAt).toBeLessThan(10_000);
    expect(run.lines.at(-1)).toMatch(/^rating pipeline: stopped cleanly in [\d.]+ s$/);
    process.stdout.write(`[npm start] first start: summaries at ${found.map((s) => (s.atMs / 1000).toFixed(1)).join(', ')} s; stopped in ${((atMs - sentAt) / 1000).toFixed(1)} s\n`);
  });

  it('later start: loads the prepared data, grows, and exits 0 on Ctrl-C to the process group', { timeout: 30_000 }, async () => {
    expect(existsSync(cacheDir) && readdirSync(cacheDir).some((name) => name.endsWith('.tar'))).toBe(true);
    const run = npmStart();
    const found = await run.summaries(2, 20_000);
    expect(run.lines.join('\n')).toMatch(/embedded PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres \(prepared data directory loaded/);
    expectGrowth(found);

    const sentAt = performance.now();
    // What a terminal does on Ctrl-C: SIGINT to every process of the foreground group (npm forwards it too).
    process.kill(-(run.child.pid as number), 'SIGINT');
    const { code, atMs } = await run.exited;
    expect({ code, stderr: run.stderr() }).toEqual({ code: 0, stderr: '' });
    expect(atMs - sentAt).toBeLessThan(10_000);
    process.stdout.write(`[npm start] later start: summaries at ${found.map((s) => (s.atMs / 1000).toFixed(1)).join(', ')} s; stopped in ${((atMs - sentAt) / 1000).toFixed(1)} s\n`);
  });
});
