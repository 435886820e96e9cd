/**
 * `run <file>` and `describe <file>`: a module of the user's that exports a topology, as
 * `topology` or as the default export, either a `Topology` or a function (maybe async) returning
 * one. It runs as a Streams app configured like the pipeline's (`KAFKA_BROKERS`,
 * `PROCESSING_GUARANTEE`), with `APPLICATION_ID` defaulting to the file's name and
 * `DEAD_LETTER_TOPIC` to `<APPLICATION_ID>-dlq`. A `.ts` module needs the TypeScript loader
 * (`npx tsx src/cli/main.ts`, or `node --import tsx`); the compiled CLI loads `.js` modules.
 */
import { existsSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEAD_LETTER_TOPIC, KAFKA_BROKERS, PROCESSING_GUARANTEE, applicationId } from '../config/variables.ts';
import { Topology } from '../topology/topology.ts';
import { UsageError } from './exit-codes.ts';
import { pipelineProcess, type PipelineProcess } from './pipeline-process.ts';
import { runStreamsAppProcess } from './streams-app-process.ts';

/** A topology built by another copy of this package (dist vs src) fails `instanceof`, so its shape is checked too. */
function isTopology(value: unknown): value is Topology {
  if (value instanceof Topology) return true;
  const candidate = value as { nodes?: unknown; describe?: unknown; subtopologies?: unknown } | null;
  return typeof candidate === 'object' && candidate !== null && Array.isArray(candidate.nodes) && typeof candidate.describe === 'function' && typeof candidate.subtopologies === 'function';
}

/** The topology the module at `path` exports. */
export async function loadModuleTopology(path: string, cwd = process.cwd()): Promise<Topology> {
  const file = resolve(cwd, path);
  if (!existsSync(file)) throw new UsageError(`no topology module at ${file}`);
  const module = (await import(pathToFileURL(file).href)) as { topology?: unknown; default?: unknown };
  const exported = module.topology ?? module.default;
  const value: unknown = typeof exported === 'function' ? await (exported as () => unknown)() : exported;
  if (!isTopology(value)) {
    throw new UsageError(`${file} exports no topology: export \`topology\` (or a default export), a Topology or a function returning one`);
  }
  return value;
}

/** The name the module gives its app by default: the file's name without its extension. */
export const moduleName = (path: string): string => basename(path, extname(path)).replace(/[^A-Za-z0-9._-]/g, '-');

/** The variables a topology module's process reads; `APPLICATION_ID` defaults to `name`. */
export const moduleVariables = (name: string) => ({ KAFKA_BROKERS, APPLICATION_ID: applicationId(name), PROCESSING_GUARANTEE, DEAD_LETTER_TOPIC });

export async function moduleTopologyProcess(path: string, cwd = process.cwd()): Promise<PipelineProcess> {
  const topology = await loadModuleTopology(path, cwd);
  const name = moduleName(path);
  return pipelineProcess({
    name,
    streamsApp: true,
    variables: moduleVariables(name),
    topology: () => topology,
    run: (config, host) =>
      runStreamsAppProcess(
        {
          name,
          topology,
          brokers: config.KAFKA_BROKERS,
          applicationId: config.APPLICATION_ID,
          processingGuarantee: config.PROCESSING_GUARANTEE,
          deadLetterTopic: config.DEAD_LETTER_TOPIC ?? `${config.APPLICATION_ID}-dlq`,
        },
        host,
      ),
  });
}
