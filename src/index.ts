/**
 * rating-streams: a Kafka Streams-style topology library on kafkajs and RxJS.
 * The test driver lives in `rating-streams/testing`.
 */
export { StreamsBuilder } from './dsl/streams-builder.ts';
export { KStream } from './dsl/kstream.ts';
export { BranchedKStream } from './dsl/branched-kstream.ts';
export { KTable } from './dsl/ktable.ts';
export { GlobalKTable } from './dsl/global-ktable.ts';
export { KGroupedStream } from './dsl/kgrouped-stream.ts';
export { TimeWindowedKStream, type WindowsArgument } from './dsl/time-windowed-kstream.ts';
export { TimeWindows } from './dsl/time-windows.ts';
export { windowsFor, isClosed, windowAt, type WindowSpec, type TimeWindow, type Windowed } from './topology/windows.ts';
export type * from './dsl/options.ts';
export type { KeyValue } from './operators/map.ts';
export { Topology } from './topology/topology.ts';
export type { TopologyDescription, SubtopologyDescription, NodeDescription } from './topology/describe.ts';
export type { NodeContext, StoreSpec, StoreLayers, TableNode, TableSourceNode, GlobalTableNode, JoinNode, AggregateNode, TopologyNode } from './topology/graph.ts';
export type { Subtopology, CopartitionGroup, TopicRef } from './topology/subtopologies.ts';
export { planTasks, type TaskSpec, type TaskPlan, type PlanInput } from './topology/task-plan.ts';
export { StreamRecord, combineRecords, type RecordSource } from './runtime/stream-record.ts';
export { StreamsApp, type StreamsAppOptions } from './runtime/streams-app.ts';
export type { StoreStats } from './runtime/state-stores.ts';
export type { ErrorPolicy, ErrorPolicies } from './runtime/error-router.ts';
export { subscribeRuntimeEvents, RUNTIME_CHANNEL, type RuntimeEvent, type AppState } from './runtime/instrumentation.ts';
export { defaultLogger, silentLogger, type Logger } from './runtime/logger.ts';
export * from './errors/index.ts';
export * from './serdes/index.ts';
export type * from './transport/transport.ts';
export { MemoryTransport, MemoryBroker } from './transport/memory/index.ts';
export { KafkaTransport, type KafkaTransportOptions } from './transport/kafka/index.ts';
export * from './state/index.ts';
export * from './connectors/index.ts';
