/** Prometheus metrics, health and readiness checks, and the ops HTTP server of a topology process. */
export { StreamsMetrics, type StreamsMetricsOptions } from './streams-metrics.ts';
export { METRIC_PREFIX } from './metric-factory.ts';
export type { WatchedApp } from './runtime-metrics.ts';
export type { WatchedPoller, WatchedCdc } from './connector-metrics.ts';
export type { StoreStatsLike, StoreStatsProvider } from './store-metrics.ts';
export {
  appAlive,
  appReady,
  brokerConnected,
  httpCircuitClosed,
  pollerAlive,
  pollerReady,
  check,
  type HealthCheck,
  type CheckResult,
  type CheckedApp,
  type CheckedPoller,
  type BrokerCheckOptions,
} from './health-checks.ts';
export { startOpsServer, runChecks, type OpsServer, type OpsServerOptions, type OpsChecks, type HealthReport, type CheckReport } from './ops-server.ts';
export { startOpsServerFromEnv, opsAddressFromEnv, DEFAULT_OPS_PORT } from './ops-from-env.ts';
