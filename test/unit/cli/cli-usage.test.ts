/**
 * `rating-streams` run as a user runs it (a child process), for what needs no broker: help, usage
 * errors, configuration errors and `describe`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emptyDirectory, runCli } from '../../support/cli.ts';
import { ratingsEnrichment } from '../../../topologies/ratings-enrichment.ts';
import { productRatingTrends } from '../../../topologies/product-rating-trends.ts';

const COMMANDS = ['run', 'describe', 'dev', 'simulator', 'topics', 'topics create', 'dlq', 'dlq inspect', 'dlq replay'];

describe('rating-streams --help', () => {
  it('prints the usage of the program and of every command, with exit code 0', async () => {
    const [top, ...results] = await Promise.all([runCli(['--help']), ...COMMANDS.map((command) => runCli([...command.split(' '), '--help']))]);
    expect(top?.code).toBe(0);
    for (const command of ['run', 'describe', 'dev', 'simulator', 'topics', 'dlq']) expect(top?.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    expect(top?.stdout).toContain('Exit codes:');
    COMMANDS.forEach((command, i) => {
      const result = results[i];
      expect(result?.code, command).toBe(0);
      expect(result?.stdout, command).toContain(`Usage: rating-streams ${command}`);
    });
    const byCommand = Object.fromEntries(COMMANDS.map((command, i) => [command, results[i]?.stdout ?? '']));
    expect(byCommand['topics create']).toContain('--replication-factor <n>');
    expect(byCommand['dlq replay']).toMatch(/--to <topic>[\s\S]*--dry-run[\s\S]*--reason <regex>[\s\S]*--since <time>[\s\S]*--limit <n>/);
    expect(byCommand['simulator']).toContain('--fault-rate <P>');
    expect(byCommand['describe']).toContain('--format <format>');
  }, 60_000);

  it('exits 2 on an unknown command, an unknown option, a bad option value and an unknown topology', async () => {
    const results = await Promise.all([
      runCli(['deploy']),
      runCli(['topics', 'create', '--partitons', '3']),
      runCli(['topics', 'create', '--partitions', 'three']),
      runCli(['dlq', 'inspect', '--since', 'yesterday']),
      runCli(['dlq', 'inspect', '--stage', 'parsing']),
      runCli(['run', 'ratings-enrichmnet']),
      runCli(['describe', 'users-cdc']),
    ]);
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 2, 2, 2, 2]);
    expect(results[0]?.stderr).toContain("unknown command 'deploy'");
    expect(results[1]?.stderr).toContain("unknown option '--partitons'");
    expect(results[2]?.stderr).toContain('expected a whole number from 1');
    expect(results[3]?.stderr).toContain('expected an ISO 8601 time');
    expect(results[4]?.stderr).toContain('expected deserialization, processing, production (got parsing)');
    expect(results[5]?.stderr).toContain('unknown topology "ratings-enrichmnet": expected one of openclaw-ingest, users-cdc, ratings-enrichment, product-rating-trends');
    expect(results[6]?.stderr).toContain('users-cdc is a connector, not a Streams topology');
  }, 60_000);
});

describe('rating-streams run with a bad configuration', () => {
  it('exits 2 before starting anything, with one message naming each bad or missing variable of every process', async () => {
    const cwd = emptyDirectory();
    // From .env: a bad poll interval; the real environment wins for RATING_FORMAT.
    writeFileSync(join(cwd, '.env'), 'POLL_INTERVAL_MS=soon\nRATING_FORMAT=xml\n');
    const result = await runCli(['run', 'openclaw-ingest', 'ratings-enrichment'], {
      cwd,
      env: { KAFKA_BROKERS: '127.0.0.1', PROCESSING_GUARANTEE: 'sometimes', OPS_PORT: '-1', USERS_CACHE_ENTRIES: '0', RATING_FORMAT: 'json', AI_AGENT_ENDPOINT: 'not a url' },
    });
    expect(result.code).toBe(2);
    expect(result.stdout).not.toContain('RUNNING');
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toBe('rating-streams: the configuration of openclaw-ingest, ratings-enrichment has 8 problems:');
    expect(lines.slice(1, -1).sort()).toEqual(
      [
        '  - OPS_PORT must be a port number from 0 to 65535, 0 for no ops server (got -1)',
        '  - KAFKA_BROKERS must be host:port pairs separated by commas, e.g. 127.0.0.1:9092 (got 127.0.0.1)',
        '  - OPENCLAW_URL is not set: expected an http(s) URL, e.g. http://127.0.0.1:8080',
        "  - OPENCLAW_API_KEY is not set: expected the OpenClaw API's bearer key; or set OPENCLAW_API_KEY_FILE to a file holding it",
        '  - POLL_INTERVAL_MS must be a whole number of milliseconds >= 1 (got soon)',
        '  - PROCESSING_GUARANTEE must be exactly-once or at-least-once (got sometimes)',
        '  - USERS_CACHE_ENTRIES must be a whole number >= 1 (got 0)',
        '  - AI_AGENT_ENDPOINT must be an http(s) URL, e.g. http://127.0.0.1:8090/ratings (got "not a url")',
      ].sort(),
    );
    expect(lines.at(-1)).toBe('Set these in the environment or in .env (see .env.example).');
  }, 30_000);

  it('reads a secret from its _FILE and never prints it, also when another variable is wrong or the secret itself is', async () => {
    const cwd = emptyDirectory();
    const keyFile = join(cwd, 'openclaw-key');
    writeFileSync(keyFile, 'sk-live-DO-NOT-PRINT-4711\n');
    const databaseFile = join(cwd, 'database-url');
    writeFileSync(databaseFile, 'mysql://admin:pw-DO-NOT-PRINT@db.internal/ratings');
    const result = await runCli(['run', 'openclaw-ingest', 'users-cdc'], {
      cwd,
      env: { OPENCLAW_API_KEY_FILE: keyFile, DATABASE_URL_FILE: databaseFile, OPENCLAW_URL: 'http://127.0.0.1:1', POLL_PAGE_SIZE: '0' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('POLL_PAGE_SIZE must be a whole number from 1 to 100000 (got 0)');
    expect(result.stderr).toContain('DATABASE_URL must be a postgres:// or postgresql:// URL (its value is not shown: a secret, read from DATABASE_URL_FILE)');
    // The key was read (no "not set" for it) and appears nowhere.
    expect(result.stderr).not.toContain('OPENCLAW_API_KEY');
    expect(`${result.stdout}${result.stderr}`).not.toContain('DO-NOT-PRINT');
  }, 30_000);
});

describe('rating-streams describe', () => {
  it('prints the text description of the topology the process runs, with the environment’s topic names', async () => {
    const [enrichment, trends] = await Promise.all([
      runCli(['describe', 'ratings-enrichment']),
      runCli(['describe', 'product-rating-trends'], { env: { RATINGS_TOPIC: 'ratings-v2', PRODUCT_STATS_TOPIC: 'stats-v2', RATING_FORMAT: 'json' } }),
    ]);
    expect(enrichment.code).toBe(0);
    expect(enrichment.stdout).toBe(ratingsEnrichment().topology.describe().toString());
    expect(trends.code).toBe(0);
    expect(trends.stdout).toBe(productRatingTrends({ inputTopic: 'ratings-v2', statsTopic: 'stats-v2', ratingFormat: 'json' }).describe().toString());
    expect(trends.stdout).toContain('topic: ratings-v2, serdes: string/json');
  }, 30_000);

  it('draws a Mermaid flowchart with --format mermaid, and describes a module file that exports a topology', async () => {
    const cwd = emptyDirectory();
    const builder = new URL('../../../src/dsl/streams-builder.ts', import.meta.url).href;
    writeFileSync(
      join(cwd, 'word-lengths.ts'),
      `import { StreamsBuilder } from ${JSON.stringify(builder)};\n` +
        `export function topology() {\n  const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'string' });\n` +
        `  builder.stream<string, string>('words', { name: 'words' }).mapValues((w) => String(w.length), { name: 'length' }).to('lengths', { name: 'out' });\n  return builder.build();\n}\n`,
    );
    const [mermaid, module] = await Promise.all([runCli(['describe', 'ratings-enrichment', '--format', 'mermaid']), runCli(['describe', './word-lengths.ts', '--format', 'mermaid'], { cwd })]);
    expect(mermaid.code).toBe(0);
    expect(mermaid.stdout).toBe(ratingsEnrichment().topology.describe().toMermaid());
    expect(mermaid.stdout).toContain('topic_ratings_by_user_repartition --> ratings_by_user_source');
    expect(module.code).toBe(0);
    expect(module.stdout).toBe(
      [
        'flowchart TD',
        '  subgraph sub0["Sub-topology 0"]',
        '    words(["words<br/>stream"])',
        '    length["length<br/>mapValues"]',
        '    out[/"out<br/>to"/]',
        '    words --> length',
        '    length --> out',
        '  end',
        '  topic_words[("words")]',
        '  topic_lengths[("lengths")]',
        '  topic_words --> words',
        '  out --> topic_lengths',
        '',
      ].join('\n'),
    );
  }, 30_000);
});
