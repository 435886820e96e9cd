/**
 * `npm run build` into a temporary directory laid out like the image (/app: package.json,
 * node_modules, dist/), then the compiled code run with plain node: the schema files are found
 * through their relative URLs, the mains start, nothing needs a dev dependency, and the emitted
 * declarations type-check in a consumer project.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../support/deploy/repo.ts';

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  exports: Record<string, { types: string; default: string }>;
  main: string;
  bin: Record<string, string>;
};

let app: string;
let dist: string;

function node(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, args, { cwd: app, encoding: 'utf8', timeout: 60_000, env: { PATH: process.env['PATH'] ?? '', ...env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

/** Loads the compiled enrichment topology (both schemas) and prints its description and schema path. */
const LOAD_TOPOLOGY = `
const { ratingsEnrichment } = await import('./dist/topologies/ratings-enrichment.js');
const { RATING_EVENT_SCHEMA_PATH } = await import('./dist/src/connectors/openclaw/rating-event.js');
const { topology } = ratingsEnrichment();
console.log(JSON.stringify({ schema: RATING_EVENT_SCHEMA_PATH, description: String(topology.describe()) }));
`;

beforeAll(() => {
  app = mkdtempSync(join(tmpdir(), 'rating-streams-build-'));
  dist = join(app, 'dist');
  const build = spawnSync('npm', ['run', 'build', '--', '--out-dir', dist], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 240_000 });
  if (build.status !== 0) throw new Error(`npm run build failed (${String(build.status)}):\n${build.stdout}\n${build.stderr}`);
  // As in the runtime stage: the package manifest (for "type": "module") and installed dependencies beside dist/.
  writeFileSync(join(app, 'package.json'), readFileSync(join(REPO_ROOT, 'package.json')));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(app, 'node_modules'), 'dir');
}, 300_000);

afterAll(() => {
  if (app !== undefined) rmSync(app, { recursive: true, force: true });
});

describe('npm run build', () => {
  it('mirrors the repository under dist/ (src, topologies with their schemas, scripts), with declarations and without tests', () => {
    const files = new Set(filesUnder(dist));
    for (const file of ['src/index.js', 'src/index.d.ts', 'src/testing/index.d.ts', 'topologies/ratings-enrichment.js', 'topologies/openclaw-ingest.js', 'topologies/users-cdc.js', 'scripts/openclaw-simulator.js', 'scripts/ai-agent-stub.js']) {
      expect(files, file).toContain(file);
    }
    for (const schema of readdirSync(join(REPO_ROOT, 'topologies/schemas'))) expect(files).toContain(`topologies/schemas/${schema}`);
    expect([...files].filter((f) => f.startsWith('test/') || f.includes('.test.'))).toEqual([]);
    expect([...files].filter((f) => f.endsWith('.js') && readFileSync(join(dist, f), 'utf8').match(/from ['"]\.{1,2}\/[^'"]*\.ts['"]|import\(['"]\.{1,2}\/[^'"]*\.ts['"]\)/))).toEqual([]);
  });

  it('points main, exports and bin of package.json into dist/', () => {
    expect(pkg.main).toBe('./dist/src/index.js');
    for (const entry of Object.values(pkg.exports)) {
      expect(existsSync(join(app, entry.default)), entry.default).toBe(true);
      expect(existsSync(join(app, entry.types)), entry.types).toBe(true);
    }
    // The CLI (src/cli/main.ts) is built by other work; the bin already names its compiled path.
    expect(pkg.bin['rating-streams']).toBe('./dist/src/cli/main.js');
  });

  it('runs a compiled topology that loads both Avro schemas from dist/topologies/schemas', () => {
    const run = node(['--input-type=module', '-e', LOAD_TOPOLOGY]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const { schema, description } = JSON.parse(run.stdout) as { schema: string; description: string };
    expect(schema).toBe(join(dist, 'topologies/schemas/rating-event.avsc'));
    expect(description).toContain('ratings-source');
    expect(description).toContain('enriched-sink');
  });

  it('fails to load that topology once the copied schemas are gone (the compiled code reads its own copies)', () => {
    const schemas = join(dist, 'topologies/schemas');
    renameSync(schemas, `${schemas}.moved`);
    try {
      const run = node(['--input-type=module', '-e', LOAD_TOPOLOGY]);
      expect(run.status).not.toBe(0);
      expect(run.stderr).toContain(join(dist, 'topologies/schemas/rating-event.avsc'));
    } finally {
      renameSync(`${schemas}.moved`, schemas);
    }
  });

  it('starts the compiled mains with node: the enrichment checks its environment, the simulator prints its usage', () => {
    const enrichment = node([join(dist, 'topologies/ratings-enrichment.js')], { PROCESSING_GUARANTEE: 'sometimes' });
    expect(enrichment.status).toBe(2);
    expect(enrichment.stderr).toContain('PROCESSING_GUARANTEE must be exactly-once or at-least-once (got sometimes)');
    const ingest = node([join(dist, 'topologies/openclaw-ingest.js')], { RATING_FORMAT: 'avro' });
    expect(ingest.status).toBe(2);
    expect(ingest.stderr).toContain('OPENCLAW_API_KEY is not set');
    const simulator = node([join(dist, 'scripts/openclaw-simulator.js'), '--help']);
    expect(simulator.status).toBe(0);
    expect(simulator.stdout).toContain('--fault-rate');
  });

  it('needs only production dependencies at run time (the image installs npm ci --omit=dev)', () => {
    const allowed = new Set([...Object.keys(pkg.dependencies), ...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    const bare = new Set<string>();
    for (const file of filesUnder(dist).filter((f) => f.endsWith('.js'))) {
      // TypeScript's own scanner: static and literal dynamic imports and requires, not strings that look like them.
      const { importedFiles } = ts.preProcessFile(readFileSync(join(dist, file), 'utf8'), true, true);
      for (const { fileName: specifier } of importedFiles) {
        if (specifier.startsWith('.')) continue;
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] ?? specifier);
        bare.add(name);
      }
    }
    expect(bare.size).toBeGreaterThan(5);
    expect([...bare].filter((name) => !allowed.has(name))).toEqual([]);
  });

  it('emits declarations another TypeScript project can use through the package exports', () => {
    const consumer = join(app, 'consumer');
    mkdirSync(join(consumer, 'node_modules/@types'), { recursive: true });
    symlinkSync(app, join(consumer, 'node_modules/rating-streams'), 'dir');
    symlinkSync(join(REPO_ROOT, 'node_modules/@types/node'), join(consumer, 'node_modules/@types/node'), 'dir');
    writeFileSync(join(consumer, 'package.json'), '{ "type": "module" }\n');
    const source = [
      "import { StreamsBuilder, type Topology } from 'rating-streams';",
      "import { TopologyTestDriver } from 'rating-streams/testing';",
      "const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });",
      "builder.stream<string, { n: number }>('in').mapValues((v) => v.n + 1).to('out');",
      'const topology: Topology = builder.build();',
      'export const driver = TopologyTestDriver;',
      'export const wrong: number = topology;',
    ].join('\n');
    writeFileSync(join(consumer, 'index.ts'), source);
    const program = ts.createProgram([join(consumer, 'index.ts')], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: ['node'],
    });
    const messages = ts.getPreEmitDiagnostics(program).map((d) => `${d.file === undefined ? '' : relative(app, d.file.fileName)}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
    // The only error is the deliberate one, which proves the types are real (not `any`).
    expect(messages).toEqual(["consumer/index.ts: Type 'Topology' is not assignable to type 'number'."]);
  }, 120_000);
});
