/**
 * `npm run build [-- --out-dir DIR]`: compiles src/, topologies/ and the runnable scripts with
 * `tsconfig.build.json` into `dist/` (or DIR), then copies the Avro schemas next to the compiled
 * topologies.
 *
 * The layout mirrors the repository (`dist/src/...`, `dist/topologies/...`) because the connectors
 * find the schemas through `new URL('../../../topologies/schemas/...', import.meta.url)`: from
 * `dist/src/connectors/openclaw/` that is `dist/topologies/schemas/`, the same relative path as in
 * the sources. tsc does not copy non-TypeScript files, hence the second step.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Files the compiled code reads at run time, relative to the repository root. */
const ASSET_DIRS = ['topologies/schemas'] as const;

export function build(outDir: string): void {
  const defaultOut = join(root, 'dist');
  // Only the default output is wiped (stale files of deleted sources); a directory given by the
  // caller is never removed, so a typo cannot delete anything.
  if (outDir === defaultOut) rmSync(defaultOut, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`tsc exited with ${result.status ?? result.signal ?? 'an unknown status'}`);
  for (const dir of ASSET_DIRS) {
    mkdirSync(join(outDir, dir), { recursive: true });
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      if (entry.isFile()) copyFileSync(join(root, dir, entry.name), join(outDir, dir, entry.name));
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { 'out-dir': { type: 'string' } } });
  try {
    build(resolve(values['out-dir'] ?? join(root, 'dist')));
  } catch (error) {
    process.stderr.write(`build: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
