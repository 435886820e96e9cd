import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isCi } from '../../support/infra-policy.ts';
import { hasKafka } from '../../support/services.ts';

/** A port the OS says is free right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}

const hasKcat = spawnSync('kcat', ['-V'], { encoding: 'utf8' }).status === 0;
if (!hasKcat && !isCi()) process.stderr.write('kcat not found: install it with `apt-get install kcat` to run the non-JavaScript client check\n');

// A second broker on its own ports and run directory, driven exactly as a person would drive it.
describe.skipIf(!hasKafka)('npm run kafka:start / kafka:stop', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'kafka-run-'));
  const port = await freePort();
  const controllerPort = await freePort();
  const env = { ...process.env, KAFKA_RUN_DIR: runDir, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(controllerPort) };
  const npm = (script: string) => spawnSync('npm', ['run', '-s', script], { env, encoding: 'utf8', timeout: 120_000 });

  afterAll(() => {
    npm('kafka:stop');
    rmSync(runDir, { recursive: true, force: true });
  });

  it('starts a broker that a non-JavaScript client sees, is harmless twice, and stops freeing its ports', () => {
    const first = npm('kafka:start');
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout.trim()).toBe(`127.0.0.1:${port}`);

    const second = npm('kafka:start');
    expect(second.status, second.stderr).toBe(0);
    expect(second.stderr).toContain('already running');

    // Under CI kcat must be there (.ci/run installs it); elsewhere it is optional.
    if (hasKcat || isCi()) {
      const kcat = spawnSync('kcat', ['-L', '-b', `127.0.0.1:${port}`, '-m', '10'], { encoding: 'utf8' });
      expect(kcat.status, kcat.stderr).toBe(0);
      expect(kcat.stdout).toMatch(new RegExp(`broker 1 at 127\\.0\\.0\\.1:${port}`));
    }

    const stop = npm('kafka:stop');
    expect(stop.status, stop.stderr).toBe(0);
    expect(stop.stdout).toContain('Kafka broker stopped');
  });

  it('leaves both ports free after stopping, and stopping again is harmless', async () => {
    expect(await portInUse(port)).toBe(false);
    expect(await portInUse(controllerPort)).toBe(false);
    const again = npm('kafka:stop');
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('was not running');
  });
});
