import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AI_AGENT_TOKEN,
  ConfigProblemsError,
  DATABASE_URL,
  DATABASE_URL_REQUIRED,
  KAFKA_BROKERS,
  OPENCLAW_API_KEY,
  OPENCLAW_URL,
  OPS_PORT,
  POLL_PAGE_SIZE,
  PROCESSING_GUARANTEE,
  RATINGS_TOPIC,
  RATING_FORMAT,
  SCHEMA_REGISTRY_URL,
  TRENDS_ALERT_THRESHOLD,
  checkConfig,
  loadEnvironment,
  ratingFormatProblems,
  readConfig,
} from '../../../src/config/index.ts';

const directory = () => mkdtempSync(join(tmpdir(), 'config-test-'));
const problemsOf = (check: { ok: boolean; problems?: readonly string[] }) => (check.ok ? [] : (check.problems ?? []));

describe('checkConfig', () => {
  const variables = { KAFKA_BROKERS, OPENCLAW_URL, OPENCLAW_API_KEY, PROCESSING_GUARANTEE, OPS_PORT, RATINGS_TOPIC, DATABASE_URL };

  it('gives typed values, defaults for unset and empty variables, and undefined for unset optional ones', () => {
    const check = checkConfig(variables, { OPENCLAW_URL: 'http://127.0.0.1:8080', OPENCLAW_API_KEY: 'key-1', KAFKA_BROKERS: 'a:9092, b:9093', OPS_PORT: '' });
    expect(check).toEqual({
      ok: true,
      config: {
        KAFKA_BROKERS: ['a:9092', 'b:9093'],
        OPENCLAW_URL: 'http://127.0.0.1:8080',
        OPENCLAW_API_KEY: 'key-1',
        PROCESSING_GUARANTEE: 'exactly-once',
        OPS_PORT: 9464,
        RATINGS_TOPIC: 'ratings',
        DATABASE_URL: undefined,
      },
      secrets: ['key-1'],
    });
  });

  it('lists every bad or missing variable in one result, each with what is wrong and what is expected', () => {
    const problems = problemsOf(
      checkConfig(variables, { KAFKA_BROKERS: '127.0.0.1', PROCESSING_GUARANTEE: 'sometimes', OPS_PORT: '70000', RATINGS_TOPIC: 'bad topic', OPENCLAW_URL: 'ftp://x' }),
    );
    expect(problems).toEqual([
      'KAFKA_BROKERS must be host:port pairs separated by commas, e.g. 127.0.0.1:9092 (got 127.0.0.1)',
      'OPENCLAW_URL must be an http(s) URL, e.g. http://127.0.0.1:8080 (got ftp://x)',
      "OPENCLAW_API_KEY is not set: expected the OpenClaw API's bearer key; or set OPENCLAW_API_KEY_FILE to a file holding it",
      'PROCESSING_GUARANTEE must be exactly-once or at-least-once (got sometimes)',
      'OPS_PORT must be a port number from 0 to 65535, 0 for no ops server (got 70000)',
      `RATINGS_TOPIC must be a Kafka topic name (letters, digits, '.', '_', '-') (got "bad topic")`,
    ]);
  });

  it('refuses numbers written any other way than whole decimal digits', () => {
    for (const text of ['1e3', '0x10', '10.5', '-1', 'ten']) {
      expect(problemsOf(checkConfig({ POLL_PAGE_SIZE }, { POLL_PAGE_SIZE: text })), text).toHaveLength(1);
    }
    expect(checkConfig({ POLL_PAGE_SIZE, TRENDS_ALERT_THRESHOLD }, { POLL_PAGE_SIZE: ' 250 ', TRENDS_ALERT_THRESHOLD: '1.75' })).toMatchObject({ ok: true, config: { POLL_PAGE_SIZE: 250, TRENDS_ALERT_THRESHOLD: 1.75 } });
  });

  it("never shows a secret's value, even when it is invalid or a URL with a password", () => {
    const problems = problemsOf(checkConfig({ DATABASE_URL, SCHEMA_REGISTRY_URL }, { DATABASE_URL: 'mysql://admin:hunter2-secret@db/x', SCHEMA_REGISTRY_URL: 'registry-token-secret' }));
    expect(problems).toEqual([
      'DATABASE_URL must be a postgres:// or postgresql:// URL (its value is not shown: a secret)',
      'SCHEMA_REGISTRY_URL must be an http(s) URL, e.g. http://127.0.0.1:8081/apis/ccompat/v7 (its value is not shown: a secret)',
    ]);
    expect(problems.join('\n')).not.toMatch(/hunter2|registry-token/);
  });

  it('redacts a password in the URL of a variable that is not a secret', () => {
    const [problem] = problemsOf(checkConfig({ OPENCLAW_URL }, { OPENCLAW_URL: 'gopher://user:pa55word@host/' }));
    expect(problem).toContain('gopher://user:[REDACTED]@host/');
    expect(problem).not.toContain('pa55word');
  });

  it('reads a secret from <NAME>_FILE, without the trailing newline, and reports it among the secrets', () => {
    const file = join(directory(), 'token');
    writeFileSync(file, 'file-token-value\n');
    expect(checkConfig({ AI_AGENT_TOKEN }, { AI_AGENT_TOKEN_FILE: file })).toEqual({ ok: true, config: { AI_AGENT_TOKEN: 'file-token-value' }, secrets: ['file-token-value'] });
  });

  it('reports a secret file that is missing or empty, a secret set twice, and an invalid one from a file, never its content', () => {
    const dir = directory();
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    const badUrl = join(dir, 'url');
    writeFileSync(badUrl, 'not-a-url-but-secret-content');
    const problems = problemsOf(
      checkConfig(
        { OPENCLAW_API_KEY, AI_AGENT_TOKEN, DATABASE_URL: DATABASE_URL_REQUIRED, SCHEMA_REGISTRY_URL },
        { OPENCLAW_API_KEY_FILE: join(dir, 'missing'), AI_AGENT_TOKEN: 'a', AI_AGENT_TOKEN_FILE: empty, DATABASE_URL_FILE: empty, SCHEMA_REGISTRY_URL_FILE: badUrl },
      ),
    );
    expect(problems).toEqual([
      `OPENCLAW_API_KEY_FILE names ${join(dir, 'missing')}, which cannot be read (ENOENT): expected a readable file holding OPENCLAW_API_KEY`,
      'AI_AGENT_TOKEN and AI_AGENT_TOKEN_FILE are both set: set only one (AI_AGENT_TOKEN_FILE names a file holding the value)',
      `DATABASE_URL_FILE names ${empty}, which is empty: expected it to hold DATABASE_URL`,
      'SCHEMA_REGISTRY_URL must be an http(s) URL, e.g. http://127.0.0.1:8081/apis/ccompat/v7 (its value is not shown: a secret, read from SCHEMA_REGISTRY_URL_FILE)',
    ]);
    expect(problems.join('\n')).not.toContain('secret-content');
  });

  it('checks rules between variables once each is valid: a registry needs Avro', () => {
    const variables2 = { RATING_FORMAT, SCHEMA_REGISTRY_URL };
    expect(problemsOf(checkConfig(variables2, { RATING_FORMAT: 'json', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081' }, { refine: ratingFormatProblems }))).toEqual([
      'RATING_FORMAT must be avro when SCHEMA_REGISTRY_URL is set (got json): the registry holds Avro schemas',
    ]);
    expect(checkConfig(variables2, { RATING_FORMAT: 'json' }, { refine: ratingFormatProblems }).ok).toBe(true);
  });

  it('readConfig throws one ConfigProblemsError whose message lists every problem', () => {
    const read = () => readConfig('the configuration of test', { OPENCLAW_URL, OPENCLAW_API_KEY }, {});
    expect(read).toThrow(ConfigProblemsError);
    expect(read).toThrow(/the configuration of test has 2 problems:\n {2}- OPENCLAW_URL is not set.*\n {2}- OPENCLAW_API_KEY is not set/);
  });
});

describe('loadEnvironment', () => {
  it('reads .env of the directory under the real environment: a variable set for real wins', () => {
    const dir = directory();
    writeFileSync(join(dir, '.env'), '# local settings\nRATINGS_TOPIC=from-file\nexport LOG_LEVEL=debug\nOPS_PORT="9999"\n');
    const env = loadEnvironment({ cwd: dir, env: { RATINGS_TOPIC: 'from-env' } });
    expect(env).toMatchObject({ RATINGS_TOPIC: 'from-env', LOG_LEVEL: 'debug', OPS_PORT: '9999' });
  });

  it('is the real environment alone without .env, and a ConfigProblemsError when .env cannot be read', () => {
    expect(loadEnvironment({ cwd: directory(), env: { A: '1' } })).toEqual({ A: '1' });
    const dir = directory();
    // A directory named .env cannot be read as a file.
    mkdirSync(join(dir, '.env'));
    expect(() => loadEnvironment({ cwd: dir, env: {} })).toThrow(ConfigProblemsError);
  });
});
