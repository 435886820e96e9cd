/**
 * Apache Avro for Java from Maven Central, for the check that a consumer in another language can
 * decode `ratings_enriched` from the schema file alone (`test/fixtures/java/DecodeEnriched.java`).
 * The jars go to `.cache/avro-java/lib` (or `AVRO_JAVA_CACHE_DIR/lib`); a marker named after the
 * POM's hash makes a second fetch a no-op until the POM changes.
 *
 * Run it: `tsx scripts/avro-java/fetch.ts` (prints the classpath). `.ci/run` does, next to the
 * Kafka fetch; the integration test calls {@link fetchAvroJava} in its set-up too.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pom = join(here, 'pom.xml');

/** Where the jars are: `<cache>/lib`. */
export function avroJavaCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env['AVRO_JAVA_CACHE_DIR'] ?? join(here, '..', '..', '.cache', 'avro-java'));
}

/**
 * Resolves the jars (a no-op when the marker of this POM is there) and returns the classpath for
 * `java -cp`: the lib folder as a wildcard, which the JVM expands itself.
 */
export function fetchAvroJava(cacheDir = avroJavaCacheDir()): string {
  const lib = join(cacheDir, 'lib');
  const marker = join(cacheDir, `fetched-${createHash('sha256').update(readFileSync(pom)).digest('hex').slice(0, 16)}`);
  if (!existsSync(marker)) {
    mkdirSync(lib, { recursive: true });
    const result = spawnSync('mvn', ['-q', '-B', '-f', pom, `-Davro.lib.dir=${lib}`, 'dependency:copy-dependencies'], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    if (result.error) throw new Error(`could not run mvn (${result.error.message}); install Apache Maven and a JDK 17+`);
    if (result.status !== 0) {
      const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-30).join('\n');
      throw new Error(`mvn could not resolve Apache Avro for Java (exit ${result.status}):\n${tail}`);
    }
    writeFileSync(marker, `${new Date().toISOString()}\n`);
  }
  return `${lib}/*`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    process.stdout.write(`${fetchAvroJava()}\n`);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
