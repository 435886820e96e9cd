/**
 * `npm start`'s options and environment: embedded by default, each variable switching one part to a
 * real service, and errors that name what to fix without echoing a secret.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/index.ts';
import { DEFAULT_PGLITE_CACHE_DIR, configSecrets, displayUrl, pipelineConfig } from '../../../topologies/pipeline/config.ts';

describe('pipelineConfig', () => {
  it('runs everything embedded with no options and no variables', () => {
    const config = pipelineConfig([], {});
    expect(config).toMatchObject({ summaryMs: 5_000, rate: 100, users: 3_000, churnPerSecond: 4, durationMs: undefined, pgPort: 0, demoUsers: false, help: false });
    expect(config.pgliteCacheDir).toBe(DEFAULT_PGLITE_CACHE_DIR);
    expect(DEFAULT_PGLITE_CACHE_DIR).toMatch(/\.cache[/\\]pglite[/\\]?$/);
    expect([config.kafka, config.databaseUrl, config.openClaw, config.aiAgent]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('takes its options', () => {
    const config = pipelineConfig(['--summary-ms', '1000', '--rate', '50.5', '--users', '200', '--churn', '0', '--duration-ms', '9000', '--pg-port', '5433', '--pglite-cache', '/tmp/x', '--demo-users'], {});
    expect(config).toMatchObject({ summaryMs: 1_000, rate: 50.5, users: 200, churnPerSecond: 0, durationMs: 9_000, pgPort: 5_433, pgliteCacheDir: '/tmp/x', demoUsers: true });
    expect(pipelineConfig(['-h'], {}).help).toBe(true);
  });

  it('switches each part to a real service on its own', () => {
    expect(pipelineConfig([], { KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.1:9093' }).kafka).toEqual({ brokers: ['127.0.0.1:9092', '127.0.0.1:9093'] });
    const db = pipelineConfig([], { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test' });
    expect([db.kafka, db.databaseUrl]).toEqual([undefined, 'postgres://postgres@127.0.0.1:5432/test']);
    expect(pipelineConfig([], { OPENCLAW_URL: 'http://127.0.0.1:8080', OPENCLAW_API_KEY: 'k' }).openClaw).toEqual({ url: 'http://127.0.0.1:8080', apiKey: 'k' });
    expect(pipelineConfig([], { AI_AGENT_ENDPOINT: 'https://agent.example/ratings', AI_AGENT_TOKEN: 't' }).aiAgent).toEqual({ url: 'https://agent.example/ratings', token: 't' });
    // An empty variable counts as unset, as shells export them.
    expect(pipelineConfig([], { KAFKA_BROKERS: '', DATABASE_URL: ' ' }).kafka).toBeUndefined();
  });

  it('refuses what cannot work, naming the option or variable', () => {
    const refused = (args: string[], env: Record<string, string> = {}) => {
      try {
        pipelineConfig(args, env);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refused(['--rate', 'fast'])).toBe('--rate must be a number from 1 to 5000 (got fast)');
    expect(refused(['--users', '2.5'])).toMatch(/^--users must be a whole number/);
    expect(refused(['--summary-ms', '10'])).toMatch(/^--summary-ms must be a whole number from 100/);
    expect(refused(['--nope'])).toMatch(/Unknown option '--nope' \(see --help\)/);
    expect(refused([], { KAFKA_BROKERS: 'localhost' })).toMatch(/^KAFKA_BROKERS must be comma-separated host:port pairs/);
    expect(refused([], { OPENCLAW_URL: 'http://127.0.0.1:8080' })).toMatch(/OPENCLAW_API_KEY is not/);
    expect(refused([], { OPENCLAW_API_KEY: 'k' })).toMatch(/OPENCLAW_URL is not/);
    expect(refused([], { AI_AGENT_ENDPOINT: 'ftp://x' })).toBe('AI_AGENT_ENDPOINT must be an http:// or https:// URL');
    const message = refused([], { DATABASE_URL: 'mysql://root:hunter22@db/x' });
    expect(message).toBe('DATABASE_URL must be a postgres:// or postgresql:// URL');
    expect(message).not.toContain('hunter22');
  });

  it('knows its secrets, and prints URLs without them', () => {
    const config = pipelineConfig([], { DATABASE_URL: 'postgres://app:s%40cret@db:5432/x', OPENCLAW_URL: 'http://api', OPENCLAW_API_KEY: 'key-1', AI_AGENT_ENDPOINT: 'http://agent', AI_AGENT_TOKEN: 'tok-2' });
    expect(configSecrets(config).sort()).toEqual(['key-1', 's@cret', 'tok-2']);
    expect(displayUrl('postgres://app:s%40cret@db:5432/x?sslmode=require')).toBe('postgres://db:5432/x');
    expect(displayUrl('http://agent.example/')).toBe('http://agent.example');
  });
});
