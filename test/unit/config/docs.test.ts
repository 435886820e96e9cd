/**
 * The configuration is documented in three places that must agree with what the processes check:
 * the catalogue in src/config/variables.ts, README "Configuration" and .env.example.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CATALOG, configurationTable, envExample, type Variable } from '../../../src/config/index.ts';
import { HOST_VARIABLES } from '../../../src/cli/process-host.ts';
import { DLQ_VARIABLES } from '../../../src/cli/commands/dlq.ts';
import { TOPICS_VARIABLES } from '../../../src/cli/commands/topics.ts';
import { moduleVariables } from '../../../src/cli/module-topology.ts';
import { OPENCLAW_INGEST_VARIABLES } from '../../../topologies/openclaw-ingest.ts';
import { USERS_CDC_VARIABLES } from '../../../topologies/users-cdc.ts';
import { RATINGS_ENRICHMENT_VARIABLES } from '../../../topologies/ratings-enrichment.ts';
import { PRODUCT_RATING_TRENDS_VARIABLES } from '../../../topologies/product-rating-trends.ts';

const root = new URL('../../../', import.meta.url);
const READERS: Record<string, Readonly<Record<string, Variable<unknown>>>> = {
  run: HOST_VARIABLES,
  dlq: DLQ_VARIABLES,
  'topics create': TOPICS_VARIABLES,
  'run <file>': moduleVariables('example'),
  'openclaw-ingest': OPENCLAW_INGEST_VARIABLES,
  'users-cdc': USERS_CDC_VARIABLES,
  'ratings-enrichment': RATINGS_ENRICHMENT_VARIABLES,
  'product-rating-trends': PRODUCT_RATING_TRENDS_VARIABLES,
};

describe('the configuration documentation', () => {
  it('lists every variable a command reads, once, as secret when the command treats it so, and nothing no command reads', () => {
    const names = CATALOG.map((entry) => entry.name);
    expect(new Set(names).size).toBe(names.length);
    const read = new Set<string>();
    for (const [reader, variables] of Object.entries(READERS)) {
      for (const [key, variable] of Object.entries(variables)) {
        expect(key, `${reader}: the config key is the variable's name`).toBe(variable.name);
        const entry = CATALOG.find((e) => e.name === variable.name);
        expect(entry, `${reader} reads ${variable.name}`).toBeDefined();
        expect(entry?.secret, `${variable.name} secret`).toBe(variable.secret);
        expect(entry?.usedBy, `${variable.name} is documented as read by ${reader}`).toContain(reader);
        read.add(variable.name);
      }
    }
    expect(names.filter((name) => !read.has(name))).toEqual([]);
  });

  it('marks the credentials the Kubernetes Secret holds as secrets, which may come from <NAME>_FILE', () => {
    const template = readFileSync(new URL('docker/k8s/base/secret.template.yaml', root), 'utf8');
    const keys = [...template.matchAll(/^ {2}([A-Z_]+):/gm)].map((m) => m[1]);
    expect(keys).toEqual(['OPENCLAW_API_KEY', 'DATABASE_URL', 'AI_AGENT_TOKEN']);
    for (const key of keys) expect(CATALOG.find((e) => e.name === key)?.secret, key).toBe(true);
  });

  it('README "Configuration" holds the table written from the catalogue', () => {
    const readme = readFileSync(new URL('README.md', root), 'utf8');
    expect(readme).toContain(`${configurationTable()}\n`);
  });

  it('.env.example is the one written from the catalogue', () => {
    expect(readFileSync(new URL('.env.example', root), 'utf8')).toBe(envExample());
  });
});
