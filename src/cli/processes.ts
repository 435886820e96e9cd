/**
 * The pipeline's processes by the names `run` and `describe` take (the file names under
 * `topologies/`, as the Dockerfile, compose and the Kubernetes manifests use them), or a path to a
 * module exporting a topology. Modules load on demand, so `--help` stays quick.
 */
import { UsageError } from './exit-codes.ts';
import { moduleTopologyProcess } from './module-topology.ts';
import type { PipelineProcess } from './pipeline-process.ts';

const PROCESSES = {
  'openclaw-ingest': async () => (await import('../../topologies/openclaw-ingest.ts')).openClawIngestProcess,
  'users-cdc': async () => (await import('../../topologies/users-cdc.ts')).usersCdcProcess,
  'ratings-enrichment': async () => (await import('../../topologies/ratings-enrichment.ts')).ratingsEnrichmentProcess,
  'product-rating-trends': async () => (await import('../../topologies/product-rating-trends.ts')).productRatingTrendsProcess,
} satisfies Record<string, () => Promise<PipelineProcess>>;

export type ProcessName = keyof typeof PROCESSES;
export const PROCESS_NAMES = Object.keys(PROCESSES) as ProcessName[];

const isProcessName = (name: string): name is ProcessName => Object.hasOwn(PROCESSES, name);

/** A path rather than a name: it has a directory part or a module extension. */
export const looksLikePath = (argument: string): boolean => /[/\\]/.test(argument) || /\.(?:[cm]?[jt]s)$/.test(argument);

/** The process `argument` names, or the one a module file at that path defines. */
export async function resolveProcess(argument: string, cwd = process.cwd()): Promise<PipelineProcess> {
  if (isProcessName(argument)) return PROCESSES[argument]();
  if (looksLikePath(argument)) return moduleTopologyProcess(argument, cwd);
  throw new UsageError(`unknown topology ${JSON.stringify(argument)}: expected one of ${PROCESS_NAMES.join(', ')}, or a path to a module exporting a topology`);
}
