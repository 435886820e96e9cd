/** Paths of the repository and the process table the deployment files are checked against. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const DOCKER_DIR = join(REPO_ROOT, 'docker');
export const K8S_DIR = join(DOCKER_DIR, 'k8s');

/** The CLI every pipeline container runs (src/cli/main.ts once built). */
export const CLI = ['node', 'dist/src/cli/main.js'] as const;

/**
 * The pipeline processes: the topology name given to `run` (a file under topologies/), the
 * environment its main reads without a usable default, and whether it must stay a single replica.
 */
export interface PipelineProcess {
  readonly topology: string;
  readonly requiredEnv: readonly string[];
  readonly singleton: boolean;
}

export const PROCESSES: readonly PipelineProcess[] = [
  { topology: 'openclaw-ingest', requiredEnv: ['KAFKA_BROKERS', 'OPS_PORT', 'OPENCLAW_URL', 'OPENCLAW_API_KEY'], singleton: true },
  { topology: 'users-cdc', requiredEnv: ['KAFKA_BROKERS', 'OPS_PORT', 'DATABASE_URL'], singleton: true },
  { topology: 'ratings-enrichment', requiredEnv: ['KAFKA_BROKERS', 'OPS_PORT', 'DATABASE_URL', 'AI_AGENT_ENDPOINT', 'APPLICATION_ID'], singleton: false },
  { topology: 'product-rating-trends', requiredEnv: ['KAFKA_BROKERS', 'OPS_PORT'], singleton: false },
];

export function processOf(topology: string): PipelineProcess | undefined {
  return PROCESSES.find((p) => p.topology === topology);
}

/** `run <topology>` must name a topology the repository has. */
export function topologyExists(name: string): boolean {
  return existsSync(join(REPO_ROOT, 'topologies', `${name}.ts`));
}

/** An image reference with an explicit version (`name:1.2…`) or a digest; never `latest` or bare. */
export function isPinnedImage(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  if (colon <= slash) return false;
  const tag = image.slice(colon + 1);
  return tag !== 'latest' && /^v?\d+\.\d+/.test(tag);
}
