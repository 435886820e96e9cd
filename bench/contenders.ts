/**
 * The contenders of the enrichment benchmark and how each is started: this engine (a global users
 * table or a partitioned one behind a repartition topic, at-least-once or exactly-once), Kafka
 * Streams 3.9.1 in Java with the same topology, plain kafkajs (the client's ceiling) and the
 * project's first pattern (one awaited send per record). Each runs as a process of its own.
 */
import { fileURLToPath } from 'node:url';
import { kafkaStreamsCommand } from './peers/kafka-streams.ts';
import type { ContenderArgs } from './contenders/args.ts';

export type Guarantee = ContenderArgs['guarantee'];
export type Variant = ContenderArgs['variant'];
export type Family = 'engine' | 'kafka-streams' | 'kafkajs' | 'seed';

export interface Contender {
  readonly id: string;
  readonly label: string;
  readonly family: Family;
  readonly guarantee: Guarantee;
  readonly variant: Variant;
  /** Runs on the small input (the seed's pattern is too slow for the full one). */
  readonly smallInput?: boolean;
}

export interface Launch {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

const script = (name: string) => fileURLToPath(new URL(`./contenders/${name}.ts`, import.meta.url));
const short = (guarantee: Guarantee) => (guarantee === 'exactly-once' ? 'eos' : 'alos');

function engine(variant: Variant, guarantee: Guarantee): Contender {
  const table = variant === 'global' ? 'GlobalKTable-style global table' : 'partitioned table, repartitioned by user';
  return { id: `engine-${variant}-${short(guarantee)}`, label: `this engine, ${guarantee}, ${table}`, family: 'engine', guarantee, variant };
}

function kafkaStreams(variant: Variant, guarantee: Guarantee): Contender {
  const table = variant === 'global' ? 'GlobalKTable' : 'KTable, repartitioned by user';
  return { id: `kstreams-${variant}-${short(guarantee)}`, label: `Kafka Streams 3.9.1, ${guarantee === 'exactly-once' ? 'exactly-once v2' : guarantee}, ${table}`, family: 'kafka-streams', guarantee, variant };
}

export const CONTENDERS: readonly Contender[] = [
  engine('global', 'at-least-once'),
  kafkaStreams('global', 'at-least-once'),
  engine('global', 'exactly-once'),
  kafkaStreams('global', 'exactly-once'),
  engine('table', 'at-least-once'),
  kafkaStreams('table', 'at-least-once'),
  engine('table', 'exactly-once'),
  kafkaStreams('table', 'exactly-once'),
  { id: 'kafkajs-plain', label: 'plain kafkajs: eachBatch, batched sends, commit after ack', family: 'kafkajs', guarantee: 'at-least-once', variant: 'global' },
  { id: 'seed-pattern', label: "the seed's pattern: one awaited send per record", family: 'seed', guarantee: 'at-least-once', variant: 'global', smallInput: true },
];

/** The contender in another family that a contender is compared with, if the run has it. */
export function peerOf(contender: Contender, family: Family, all: readonly Contender[]): Contender | undefined {
  if (family === 'kafkajs') return all.find((c) => c.family === 'kafkajs');
  return all.find((c) => c.family === family && c.guarantee === contender.guarantee && c.variant === contender.variant);
}

/** Where the bench builds the engine (`npm run build`), so that its contenders run compiled JavaScript as the image does. */
export const ENGINE_BUILD = fileURLToPath(new URL('../.cache/bench-dist', import.meta.url));

/** The command line that starts `contender` on `args`; the engine runs from `ENGINE_BUILD` once it is built. */
export function launchOf(contender: Contender, args: ContenderArgs, stateDir: string, engineBuilt = false): Launch {
  switch (contender.family) {
    case 'engine':
      return {
        command: process.execPath,
        args: ['--import', 'tsx', script('engine'), JSON.stringify(args)],
        ...(engineBuilt ? { env: { ...process.env, BENCH_ENGINE_DIST: ENGINE_BUILD } } : {}),
      };
    case 'kafkajs':
      return { command: process.execPath, args: ['--import', 'tsx', script('kafkajs-plain'), JSON.stringify(args)] };
    case 'seed':
      return { command: process.execPath, args: ['--import', 'tsx', script('seed-pattern'), JSON.stringify(args)] };
    case 'kafka-streams':
      return kafkaStreamsCommand({ ...args, stateDir });
  }
}
