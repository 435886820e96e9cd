/**
 * `node dist/scripts/ai-agent-stub.js` (or `tsx scripts/ai-agent-stub.ts`): the AI-agent stand-in
 * (`startAiAgentStub`, the one `npm start` runs) as a process of its own, for the compose stack.
 *
 * - `POST /ratings` with a JSON body and an `Idempotency-Key`: 200 `{ "status": "accepted" }`, or
 *   `{ "status": "duplicate" }` for a key it already took; 400 for a body that is not JSON or a
 *   missing key; 401 when `AI_AGENT_TOKEN` is set and the bearer token differs.
 * - `GET /healthz`: 200 `{ "status": "ok" }`. `GET /stats`: the counters.
 *
 * Environment: `PORT` (8090), `HOST` (0.0.0.0), `AI_AGENT_TOKEN` (unset: no check). Prints its URL;
 * stops on SIGTERM / SIGINT and prints its counters.
 */
import { pathToFileURL } from 'node:url';
import { startAiAgentStub } from '../src/connectors/openclaw/ai-agent-stub.ts';

async function main(): Promise<void> {
  const env = process.env;
  const port = Number(env['PORT'] ?? '8090');
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    process.stderr.write(`ai-agent-stub: PORT must be a port number (got ${env['PORT']})\n`);
    process.exit(2);
  }
  const token = env['AI_AGENT_TOKEN'];
  const stub = await startAiAgentStub({ port, host: env['HOST'] ?? '0.0.0.0', ...(token ? { token } : {}) });
  process.stdout.write(`${stub.url}\n`);
  const stop = () =>
    void stub.stop().finally(() => {
      process.stdout.write(`${JSON.stringify(stub.stats())}\n`);
      process.exit(0);
    });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
