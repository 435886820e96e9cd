/**
 * The contract between a pipeline process (ingest, users CDC, enrichment, trends, a topology
 * module) and what hosts it (`rating-streams run`, or the topology's own main): the process
 * declares the variables it reads and runs from their checked values; the host owns the
 * environment, the ops server, the signals and the exit code.
 */
import type { ConfigOf, Environment, Variables } from '../config/index.ts';
import { checkConfig, type CheckConfigOptions } from '../config/read-config.ts';
import type { OpsChecks } from '../observability/ops-server.ts';
import type { StreamsMetrics } from '../observability/streams-metrics.ts';
import type { Logger } from '../runtime/logger.ts';
import type { Topology } from '../topology/topology.ts';
import type { ExitCode } from './exit-codes.ts';

/** Why a process stopped by itself, and the exit code that says so. */
export interface ProcessEnd {
  readonly code: ExitCode;
  readonly reason: string;
}

export interface ProcessHost {
  /** One registry for every process of the host, served on `/metrics`. */
  readonly metrics: StreamsMetrics;
  /** A logger at `LOG_LEVEL` that scrubs every secret of the host's configuration. */
  logger(name: string): Logger;
  /**
   * Call once the process is built and before it starts: from then on `/healthz` and `/readyz`
   * run its checks, and a signal (even during the start) calls `stop`.
   */
  register(registration: { readonly name: string; readonly checks?: OpsChecks; stop(): Promise<void> }): void;
}

export interface RunningProcess {
  /** Resolves when the process stops by itself (a failure, refused credentials, fenced); stays pending while it runs. */
  readonly ended: Promise<ProcessEnd>;
}

export type ConfiguredProcess =
  | { readonly ok: true; readonly secrets: readonly string[]; run(host: ProcessHost): Promise<RunningProcess> }
  | { readonly ok: false; readonly problems: readonly string[] };

export interface PipelineProcess {
  readonly name: string;
  /** A Streams app: it takes `APPLICATION_ID`, which two apps in one process must not share. */
  readonly streamsApp: boolean;
  /** Checks the process's variables; every problem is reported, none thrown. */
  configure(env: Environment): ConfiguredProcess;
  /**
   * The Streams topology it would run with `env`, built without connecting to anything (a schema
   * registry's serde is shown as the plain format); absent for connectors that are not topologies.
   */
  readonly topology?: (env: Environment) => DescribedTopology;
}

export type DescribedTopology = { readonly ok: true; readonly topology: Topology } | { readonly ok: false; readonly problems: readonly string[] };

export interface PipelineProcessSpec<V extends Variables> extends CheckConfigOptions<ConfigOf<V>> {
  readonly name: string;
  readonly streamsApp?: boolean;
  readonly variables: V;
  run(config: ConfigOf<V>, host: ProcessHost): Promise<RunningProcess>;
  topology?(config: ConfigOf<V>): Topology;
}

export function pipelineProcess<V extends Variables>(spec: PipelineProcessSpec<V>): PipelineProcess {
  const check = (env: Environment) => checkConfig(spec.variables, env, spec.refine === undefined ? {} : { refine: spec.refine });
  const build = spec.topology;
  return {
    name: spec.name,
    streamsApp: spec.streamsApp ?? false,
    configure: (env) => {
      const checked = check(env);
      if (!checked.ok) return checked;
      return { ok: true, secrets: checked.secrets, run: (host) => spec.run(checked.config, host) };
    },
    ...(build === undefined
      ? {}
      : {
          topology: (env: Environment): DescribedTopology => {
            const checked = check(env);
            return checked.ok ? { ok: true, topology: build(checked.config) } : checked;
          },
        }),
  };
}

/** A promise that never settles: the `ended` of a process that only stops when asked. */
export const runsUntilStopped = (): Promise<ProcessEnd> => new Promise<ProcessEnd>(() => undefined);
