/** Sources and sinks beside the topology runtime: the REST polling source and the OpenClaw pieces. */
export { RestPoller, retryAfterMs, type RestPollerOptions, type PollerState, type PollerStats, type PollerHealth } from './rest-poller.ts';
export { readCursor, ensureCursorTopic, encodeCursor, decodeCursor, type PollCursor, type CursorState } from './cursor-topic.ts';
export { DeadLetterAlerts, type DeadLetterAlertOptions } from './dead-letter-alerts.ts';
export { validateRating, ratingEventType, RATING_EVENT_SCHEMA_PATH, type RatingEvent, type RatingRules, type RatingCheck } from './openclaw/rating-event.ts';
export { startOpenClawSimulator, type OpenClawSimulator, type OpenClawSimulatorOptions } from './openclaw/simulator.ts';
export { CONNECTOR_CHANNEL, subscribeConnectorEvents, type ConnectorEvent } from './connector-events.ts';
export { startAiAgentStub, type AiAgentStub, type AiAgentStubOptions, type AiAgentStubStats } from './openclaw/ai-agent-stub.ts';
export { HttpSink, type HttpSinkOptions, type HttpSinkStats, type HttpSinkHandle, type HttpCircuitState } from './http-sink.ts';
export { RATING_ENRICHED_SCHEMA_PATH, ratingEnrichedSerde, ratingEnrichedType, type RatingEnriched, type EnrichedUserProfile } from './openclaw/rating-enriched.ts';
export {
  subscribeRatingsEnriched,
  type SubscribeRatingsEnrichedOptions,
  type RatingsEnrichedSubscription,
  type RatingsEnrichedMeta,
  type RatingsEnrichedRecord,
  type InvalidEnrichedRecord,
} from './openclaw/ratings-enriched-subscriber.ts';
